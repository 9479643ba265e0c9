#include "metadata.hpp"

#include "data_encoder.hpp"

namespace mmdb {

std::vector<std::uint8_t> encode_metadata(const Metadata& metadata) {
    static constexpr char kMarker[] =
        "\xAB\xCD\xEF"
        "MaxMind.com";
    std::vector<std::uint8_t> out(kMarker, kMarker + sizeof kMarker - 1);
    Encoder enc(out);
    enc.map(9);
    enc.string("binary_format_major_version");
    enc.uint16(2);
    enc.string("binary_format_minor_version");
    enc.uint16(0);
    enc.string("build_epoch");
    enc.uint64(metadata.build_epoch);
    enc.string("database_type");
    enc.string(metadata.database_type);
    enc.string("description");
    enc.map(1);
    enc.string("en");
    enc.string(metadata.description);
    enc.string("ip_version");
    enc.uint16(metadata.ip_version);
    enc.string("languages");
    enc.array(1);
    enc.string("en");
    enc.string("node_count");
    enc.uint32(metadata.node_count);
    enc.string("record_size");
    enc.uint16(metadata.record_size);
    return out;
}

}  // namespace mmdb

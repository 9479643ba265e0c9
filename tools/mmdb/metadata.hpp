// The metadata section: the "\xAB\xCD\xEFMaxMind.com" marker followed by one map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmdb {

struct Metadata {
    std::uint32_t node_count = 0;
    std::uint16_t record_size = 28;
    std::uint16_t ip_version = 6;
    std::string database_type = "Meridian-Geo";
    std::string description;  // stored as {"en": description}
    std::uint64_t build_epoch = 0;
};

// Encodes marker + metadata map (keys in sorted order, so output is stable).
std::vector<std::uint8_t> encode_metadata(const Metadata& metadata);

}  // namespace mmdb

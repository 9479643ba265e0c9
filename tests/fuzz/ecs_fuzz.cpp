// Fuzz target: EDNS option parsing (RFC 6891 §6.1.2, ECS RFC 7871 §6). The input is the OPT
// RR's RDATA, wrapped in an otherwise valid query, so every execution reaches the option loop.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dns/query.hpp"
#include "query_check.hpp"

namespace {

// app.geo.example.com. A IN, RD, one additional record: the OPT RR up to its RDLENGTH.
constexpr uint8_t kPrefix[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    3, 'a', 'p', 'p', 3, 'g', 'e', 'o', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00,  // root, OPT, payload 1232, v0, no DO
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 0xFFFF) return 0;  // RDLENGTH is 16 bits
    std::vector<uint8_t> packet(kPrefix, kPrefix + sizeof kPrefix);
    packet.push_back(static_cast<uint8_t>(size >> 8));
    packet.push_back(static_cast<uint8_t>(size & 0xFF));
    packet.insert(packet.end(), data, data + size);

    meridian::dns::Query query;
    const auto status = meridian::dns::read_query(packet, &query);
    meridian::fuzz::check_query(query, status, packet.size());
    // Only the options can be wrong: the rest of the packet is a valid query.
    FUZZ_CHECK(status == meridian::dns::QueryStatus::ok || status == meridian::dns::QueryStatus::formerr);
    FUZZ_CHECK(query.has_question && query.edns.is_present && query.edns.udp_payload == 1232);
    return 0;
}

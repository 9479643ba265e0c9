// What dns::read_query promises about the Query it fills (src/dns/query.hpp), checked by the
// query and ecs fuzz targets on whatever the packet held.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "fuzz_check.hpp"

namespace meridian::fuzz {

// What read_query promises about a query it filled from `size` bytes (src/dns/query.hpp).
inline void check_query(const dns::Query& query, dns::QueryStatus status, std::size_t size) {
    FUZZ_CHECK(query.question_end <= size);
    FUZZ_CHECK(query.qname_size <= dns::kMaxNameLength);
    if (query.has_question) {
        // The question starts right after the header and holds no pointer.
        FUZZ_CHECK(query.qname_size == query.qname_lower.length);
        FUZZ_CHECK(query.question_end == dns::kHeaderSize + query.qname_size + 4);
        for (std::size_t i = 0; i < query.qname_lower.length; ++i) {
            const uint8_t c = query.qname_lower.bytes[i];
            FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        }
    }
    if (status == dns::QueryStatus::ok) FUZZ_CHECK(query.has_question);
    // A present ECS option was validated (RFC 7871 §6): known family, prefix within the
    // family's width, ceil(source/8) bytes, zero past the source prefix.
    const dns::ClientSubnet& ecs = query.edns.client_subnet;
    if (ecs.is_present) {
        FUZZ_CHECK(query.edns.is_present);
        FUZZ_CHECK(ecs.family == 1 || ecs.family == 2);
        FUZZ_CHECK(ecs.source_prefix <= (ecs.family == 1 ? 32 : 128));
        FUZZ_CHECK(ecs.address_size == (ecs.source_prefix + 7) / 8);
        for (std::size_t bit = ecs.source_prefix; bit < 128; ++bit) {
            FUZZ_CHECK(((ecs.address[bit / 8] >> (7 - bit % 8)) & 1) == 0);
        }
    } else {
        FUZZ_CHECK(ecs.address_size == 0 && ecs.source_prefix == 0);
    }
}

}  // namespace meridian::fuzz

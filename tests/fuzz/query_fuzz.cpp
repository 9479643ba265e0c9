// Fuzz target: the packet reader (dns::read_query) on arbitrary bytes, header to EDNS options,
// with the promises of src/dns/query.hpp checked on whatever it parsed.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/query.hpp"
#include "query_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    meridian::dns::Query query;
    const auto status = meridian::dns::read_query(std::span<const uint8_t>(data, size), &query);
    meridian::fuzz::check_query(query, status, size);
    if (size < meridian::dns::kHeaderSize) FUZZ_CHECK(status == meridian::dns::QueryStatus::drop);
    return 0;
}

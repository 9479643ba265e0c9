// A parsed DNS query: the facts the answer stages need, read from the packet without allocating.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dns/name.hpp"

namespace meridian::dns {

// Outcome of reading a query, in the order the checks are made.
enum class QueryStatus : uint8_t {
    ok,
    drop,     // not worth an answer: shorter than a header, or QR=1 (RFC 1035 §4.1.1)
    formerr,  // malformed (RFC 1035 §4.1.1, RFC 6891 §6.1.1)
    notimp,   // an opcode we do not implement (RFC 1035 §4.1.1)
    badvers,  // EDNS version above ours (RFC 6891 §6.1.3)
};

// EDNS Client Subnet as sent (RFC 7871 §6). Validated by read_query: a malformed option is
// FORMERR, so a present one is always well formed.
struct ClientSubnet {
    bool is_present = false;
    uint16_t family = 0;  // 1 = IPv4, 2 = IPv6 (IANA address family numbers)
    uint8_t source_prefix = 0;
    std::array<uint8_t, 16> address{};  // zero past source_prefix
    uint8_t address_size = 0;           // bytes as sent: ceil(source_prefix / 8)
};

struct Edns {
    bool is_present = false;
    uint16_t udp_payload = 0;  // as sent by the client
    uint8_t version = 0;
    bool is_dnssec_ok = false;   // DO bit, copied to the answer (RFC 3225 §3)
    bool is_compact_ok = false;  // CO bit: NXDOMAIN may be restored in compact denials (RFC 9824 §4)
    bool wants_nsid = false;     // an NSID option was present (RFC 5001 §2.1)
    ClientSubnet client_subnet;
};

struct Query {
    uint16_t id = 0;
    uint8_t opcode = 0;
    uint16_t flags = 0;         // the header's second word as received
    bool has_question = false;  // the question parsed and may be echoed
    // The question name exactly as sent, at offset 12 (it can hold no valid pointer there).
    std::size_t qname_size = 0;
    NameBuffer qname_lower;  // lower-cased copy used for lookups
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    std::size_t question_end = 0;  // offset just past the question section
    Edns edns;
    // Where the TSIG record begins (its owner name), 0 when there is none; read_query makes sure
    // it is the last record of the additional section (RFC 8945 §5.1). xfr/ verifies it.
    std::size_t tsig_offset = 0;

    bool has_flag(uint16_t bit) const noexcept { return (flags & bit) != 0; }
};

// Reads `packet` into `query`. Fields are filled as far as parsing got, so that an error
// answer can still echo the ID, opcode and (when has_question) the question.
QueryStatus read_query(std::span<const uint8_t> packet, Query* query) noexcept;

}  // namespace meridian::dns

// Zone transfers out (AXFR, RFC 5936; IXFR answered as RFC 1995 §4 allows, with the whole zone)
// and TSIG on any query (RFC 8945): what the core answer refuses or leaves unsigned, answered
// here. Pure: bytes in, messages out; the server's TCP path and UDP path call it (rarely, so it
// may allocate). What a transfer holds is docs/TRANSFERS.md.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "answer/snapshot.hpp"
#include "geo/address.hpp"

namespace meridian::xfr {

enum class Verdict : uint8_t {
    transfer,      // a zone sent (AXFR or IXFR over TCP)
    up_to_date,    // IXFR answered with our SOA alone: over TCP the client is current, over UDP "use TCP"
    refused,       // a transfer refused: not allowed, no [transfer], the wrong or no key, AXFR over UDP …
    signed_reply,  // a signed ordinary query, answered and signed
    tsig_error,    // a TSIG that failed: NOTAUTH with BADKEY, BADSIG or BADTIME
};

struct Reply {
    std::vector<std::vector<uint8_t>> messages;  // in order; empty: nothing to send
    Verdict verdict = Verdict::refused;
    std::size_t records = 0;  // a transfer's records, both SOAs counted
};

struct Request {
    std::span<const uint8_t> query;
    const sockaddr* source = nullptr;
    bool is_tcp = true;
    // What answer_query wrote for this query (the answer a signed ordinary query gets signed).
    std::span<const uint8_t> core_response;
    uint64_t now_seconds = 0;  // Unix time, for TSIG
};

// Answers a query the core marked as a transfer request or as signed (answer::Outcome).
Reply serve(const answer::Snapshot& snapshot, const Request& request);

// Whether `source` may transfer under `transfer` by its ACL (the key is checked apart).
bool is_allowed(const answer::ZoneTransfer& transfer, const sockaddr* source) noexcept;

// The records a transfer of `served` holds, SOA first and last, split into messages of at most
// `max_message_size` bytes before the TSIG (exposed for tests); each message starts with the
// header for `id` and the question of `query_question` in the first message only.
std::vector<std::vector<uint8_t>> build_transfer(const zone::ServedZone& served,
                                                 std::span<const uint8_t> query_question, uint16_t id,
                                                 std::size_t max_message_size, std::size_t* records);

// Counts for /metrics; shared by every worker and the notifier (rare events: atomics).
struct Counters {
    std::atomic<uint64_t> transfers{0};
    std::atomic<uint64_t> up_to_date{0};
    std::atomic<uint64_t> refused{0};
    std::atomic<uint64_t> tsig_errors{0};
    std::atomic<uint64_t> notifies_sent{0};
    std::atomic<uint64_t> notifies_acknowledged{0};
    std::atomic<uint64_t> notifies_failed{0};

    void count(Verdict verdict) noexcept;
};

}  // namespace meridian::xfr

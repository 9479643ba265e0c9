// What answering one query did, for the counters: filled by answer_query() when the caller
// asks (the server always does), read by the worker that owns the counters. Plain data.
#pragma once

#include <array>
#include <cstdint>

#include "geo/facts.hpp"
#include "steer/policy.hpp"

namespace meridian::zone {
struct ServedZone;
}

namespace meridian::answer {

struct Outcome {
    bool is_dropped = false;    // nothing was sent: a runt or a response (QR=1)
    bool is_malformed = false;  // answered FORMERR
    bool is_truncated = false;
    bool is_explain_request = false;  // "_explain.NAME TXT" for a served NAME, not yet explained
    // AXFR or IXFR (answered REFUSED by the core), or any query signed with TSIG (answered
    // unsigned by the core): the worker hands both to xfr/, which may allocate.
    bool is_transfer_request = false;
    bool has_tsig = false;
    bool is_signed = false;                  // DO=1 to a signed zone: the answer carries signatures
    bool is_signing_refused = false;         // a signature it needed was over the signing budget
    const zone::ServedZone* zone = nullptr;  // the zone that answered; null: none (REFUSED, CHAOS …)
    uint16_t qtype = 0;
    uint16_t rcode = 0;  // the full rcode, BADVERS included
    // Steered answers only.
    int32_t steered_name = -1;  // into zone->zone().policy().names
    int32_t route = -1;         // the route that answered; -1: fail policy or no route
    bool is_from_ecs = false;   // the client address came from ECS (else the packet source)
    bool is_pruned = false;
    uint8_t region_count = 0;
    std::array<uint32_t, steer::kMaxAnswers> regions{};
    // The client's country: set when the decision looked it up or ClientInfo::wants_location asked.
    bool is_located = false;
    geo::Code<2> country;
};

}  // namespace meridian::answer

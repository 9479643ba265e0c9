// Choosing the regions that answer one query for one client: the first route whose condition
// matches, then its strategy. Records the ECS scope the choice depends on. noexcept and
// allocation-free unless a Trace is asked for (the explain tools).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/random.hpp"
#include "geo/address.hpp"
#include "geo/facts.hpp"
#include "geo/geo_databases.hpp"
#include "health/state.hpp"
#include "steer/feedback.hpp"
#include "steer/policy.hpp"

namespace meridian::steer {

struct ClientAddress {
    geo::IpAddress address;     // what locates the client
    uint8_t source_prefix = 0;  // meaningful leading bits: the ECS source prefix, or the full width
    bool is_from_ecs = false;
};

struct Decision {
    int route = -1;  // index of the route that answered; -1: none matched or none had candidates
    std::array<uint32_t, kMaxAnswers> regions{};
    uint8_t count = 0;  // 0 with no cname: NODATA
    // Leading bits of the client address this decision depends on: the ECS scope to send
    // (RFC 7871 §7.2.1). 0 means every client gets the same choice.
    uint8_t scope_prefix = 0;
    bool is_pruned = false;              // a candidate was left out for its health
    uint32_t ttl = 0;                    // the name's ttl, or pruned_ttl when is_pruned
    const std::string* cname = nullptr;  // the name's fail CNAME, when that is the answer
    // The client's country, when the decision looked the client up (is_located); what
    // recommendations learn from (stats::ClientSamples).
    bool is_located = false;
    geo::Code<2> country;
};

// Human-readable record of a decision, one line per step (see docs/POLICY.md). Filled only when
// the caller passes one; the query path never does.
struct Trace {
    std::vector<std::string> lines;
    std::vector<std::string> assume_down;  // what-if: treat these regions as down
};

// Sticky hashing uses at most this many leading bits, so neighbours in one network stick together.
inline constexpr uint8_t kStickyPrefixV4 = 24;
inline constexpr uint8_t kStickyPrefixV6 = 56;

// The zone's runtime boards a decision reads. A null health board treats every region as healthy
// with no measurements; a null feedback board as having learned nothing (configured weights,
// every region taking its whole share).
struct Boards {
    // Implicit: a health board alone is the common case.
    Boards(const health::HealthBoard* health_board, const FeedbackBoard* feedback_board = nullptr) noexcept
        : health(health_board), feedback(feedback_board) {}
    const health::HealthBoard* health;
    const FeedbackBoard* feedback;
};

Decision decide(const Policy& policy, Boards boards, const SteeredName& name, uint16_t qtype,
                const ClientAddress& client, const geo::GeoDatabases* databases, Random* random, Trace* trace) noexcept;

// Exposed for tests: the ECS scope a CIDR-set test depends on — the matching network's length
// when the address is inside the set, else the bits needed to keep clear of every network.
uint8_t cidr_set_scope(const CidrSet& set, const geo::IpAddress& address, bool* is_match) noexcept;

}  // namespace meridian::steer

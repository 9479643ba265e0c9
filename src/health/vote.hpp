// Health by vote (fleet mode): every node probes a target itself and publishes its verdict; each
// node then decides the target's state from the live votes by one rule. Pure; the fleet layer
// gathers the votes, the health monitor applies the outcome.
#pragma once

#include <cstdint>
#include <string>

#include "health/state.hpp"

namespace meridian::health {

// Votes counted per target; more live voters than this are counted as this many (the share is
// what decides, so a larger fleet loses nothing but resolution).
inline constexpr int64_t kMaxVoters = 1000;

struct VoteRule {
    double quorum = 0.5;      // healthy when the share of voters seeing it healthy exceeds it
    uint32_t min_voters = 2;  // fewer live voters: this node's own verdict stands
};

// The live votes on one target, this node's own included.
struct Tally {
    uint32_t healthy = 0;
    uint32_t degraded = 0;
    uint32_t unhealthy = 0;

    uint32_t voters() const noexcept { return healthy + degraded + unhealthy; }
    void add(State s) noexcept;
};

struct VoteOutcome {
    State state = State::healthy;
    bool is_by_vote = false;  // false: too few voters, the node's own verdict
    std::string reason;       // "fleet vote: 2 of 3 voters see it healthy (more than 50 % needed)"
};

// The rule (docs/FLEET.md): with at least `min_voters` live voters, a target is healthy when the
// share seeing it healthy exceeds `quorum`, else degraded when the share seeing it healthy or
// degraded does, else unhealthy; with fewer voters, `own` stands.
VoteOutcome decide_by_vote(State own, const Tally& tally, const VoteRule& rule);

}  // namespace meridian::health

#include "health/vote.hpp"

#include <cmath>

namespace meridian::health {

void Tally::add(State s) noexcept {
    switch (s) {
    case State::healthy: ++healthy; break;
    case State::degraded: ++degraded; break;
    case State::unhealthy: ++unhealthy; break;
    }
}

namespace {

std::string percent(double share) { return std::to_string(static_cast<int>(std::lround(share * 100))) + " %"; }

}  // namespace

VoteOutcome decide_by_vote(State own, const Tally& tally, const VoteRule& rule) {
    VoteOutcome out;
    const uint32_t voters = tally.voters();
    const std::string of = " of " + std::to_string(voters) + " voters";
    if (voters < rule.min_voters || voters == 0) {
        out.state = own;
        out.reason = "fleet: " + std::to_string(voters) + " live voter" + (voters == 1 ? "" : "s") + ", fewer than " +
                     std::to_string(rule.min_voters) + ": this node's own verdict";
        return out;
    }
    out.is_by_vote = true;
    const double n = voters;
    const std::string needed = " (more than " + percent(rule.quorum) + " needed)";
    if (tally.healthy / n > rule.quorum) {
        out.state = State::healthy;
        out.reason = "fleet vote: " + std::to_string(tally.healthy) + of + " see it healthy" + needed;
    } else if ((tally.healthy + tally.degraded) / n > rule.quorum) {
        out.state = State::degraded;
        out.reason = "fleet vote: " + std::to_string(tally.healthy + tally.degraded) + of +
                     " see it healthy or degraded" + needed;
    } else {
        out.state = State::unhealthy;
        out.reason = "fleet vote: " + std::to_string(tally.healthy) + of + " see it healthy, " +
                     std::to_string(tally.healthy + tally.degraded) + " at least degraded" + needed;
    }
    return out;
}

}  // namespace meridian::health

// Tests for health/vote: the fleet's rule deciding a target's state from its live voters.
#include <catch2/catch.hpp>

#include "health/vote.hpp"

using meridian::health::decide_by_vote;
using meridian::health::State;
using meridian::health::Tally;
using meridian::health::VoteRule;

namespace {

Tally tally(uint32_t healthy, uint32_t degraded, uint32_t unhealthy) { return Tally{healthy, degraded, unhealthy}; }

}  // namespace

TEST_CASE("a majority (the default quorum) decides; one node's bad view is outvoted", "[health][vote]") {
    const VoteRule majority;
    // Two of three see it healthy: healthy on every node, the dissenting one included.
    auto out = decide_by_vote(State::unhealthy, tally(2, 0, 1), majority);
    CHECK(out.is_by_vote);
    CHECK(out.state == State::healthy);
    CHECK(out.reason == "fleet vote: 2 of 3 voters see it healthy (more than 50 % needed)");
    // One of three is not more than half: unhealthy even on the node that sees it up.
    out = decide_by_vote(State::healthy, tally(1, 0, 2), majority);
    CHECK(out.state == State::unhealthy);
    // Exactly half is not more than half.
    CHECK(decide_by_vote(State::healthy, tally(1, 0, 1), majority).state == State::unhealthy);
    CHECK(decide_by_vote(State::healthy, tally(2, 0, 2), majority).state == State::unhealthy);
}

TEST_CASE("degraded when healthy and degraded votes together pass the quorum", "[health][vote]") {
    const VoteRule majority;
    const auto out = decide_by_vote(State::healthy, tally(1, 1, 1), majority);
    CHECK(out.state == State::degraded);
    CHECK(out.reason == "fleet vote: 2 of 3 voters see it healthy or degraded (more than 50 % needed)");
}

TEST_CASE("quorum 0.18 reproduces Route 53: one healthy vote of three keeps a target", "[health][vote]") {
    const VoteRule route53{0.18, 2};
    CHECK(decide_by_vote(State::unhealthy, tally(1, 0, 2), route53).state == State::healthy);
    // One of six is 16.7 %: not enough.
    CHECK(decide_by_vote(State::healthy, tally(1, 0, 5), route53).state == State::unhealthy);
    CHECK(decide_by_vote(State::healthy, tally(0, 0, 3), route53).state == State::unhealthy);
}

TEST_CASE("fewer live voters than min_voters: the node's own verdict stands", "[health][vote]") {
    const VoteRule rule{0.5, 2};
    auto out = decide_by_vote(State::unhealthy, tally(0, 0, 1), rule);
    CHECK_FALSE(out.is_by_vote);
    CHECK(out.state == State::unhealthy);
    CHECK(out.reason == "fleet: 1 live voter, fewer than 2: this node's own verdict");
    out = decide_by_vote(State::degraded, tally(0, 0, 0), VoteRule{0.5, 1});
    CHECK(out.state == State::degraded);
    CHECK_FALSE(out.is_by_vote);
    // min_voters 3: two voters are not enough, even unanimous against the node.
    CHECK(decide_by_vote(State::healthy, tally(0, 0, 2), VoteRule{0.5, 3}).state == State::healthy);
}

TEST_CASE("Tally counts each state", "[health][vote]") {
    Tally t;
    t.add(State::healthy);
    t.add(State::degraded);
    t.add(State::unhealthy);
    t.add(State::unhealthy);
    CHECK(t.healthy == 1);
    CHECK(t.degraded == 1);
    CHECK(t.unhealthy == 2);
    CHECK(t.voters() == 4);
}

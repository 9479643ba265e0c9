// Tests for health/members: a region's slot made from its members' slots (per-address checks,
// and members whose source marks them down, drained or standby).
#include <catch2/catch.hpp>

#include <vector>

#include "health/members.hpp"

using meridian::health::MemberView;
using meridian::health::Override;
using meridian::health::RegionHealth;
using meridian::health::State;
using meridian::health::summarise_members;

namespace {

RegionHealth word(State state, uint32_t latency_ms = 0, uint16_t success_permille = 1000) {
    RegionHealth h;
    h.state = state;
    h.has_measurement = latency_ms > 0;
    h.latency_ms = latency_ms;
    h.success_permille = success_permille;
    return h;
}

RegionHealth drained() {
    RegionHealth h;
    h.override = Override::drain;
    return h;
}

}  // namespace

TEST_CASE("per-address: the region is up while min_healthy members are, its latency the healthy ones' mean",
          "[health][members]") {
    const std::vector<MemberView> members = {{word(State::healthy, 10, 1000)},
                                             {word(State::healthy, 30, 900)},
                                             {word(State::unhealthy, 900, 0)}};
    const auto two = summarise_members(members, true, 2, {});
    CHECK(two.region.state == State::healthy);
    CHECK(two.healthy == 2);
    CHECK(two.is_answered == std::vector<bool>{true, true, false});
    CHECK(two.region.is_ipv4_pruned);
    CHECK(two.region.has_measurement);
    CHECK(two.region.latency_ms == 20);  // the unhealthy member's 900 ms is not the region's
    CHECK(two.region.success_permille == 950);
    CHECK_FALSE(two.region.lacks_ipv4);

    CHECK(summarise_members(members, true, 3, {}).region.state == State::unhealthy);
    std::vector<MemberView> slow = members;
    slow[2].word = word(State::degraded, 150);
    const auto degraded = summarise_members(slow, true, 3, {});
    CHECK(degraded.region.state == State::degraded);  // three usable, two healthy
    CHECK(degraded.is_answered == std::vector<bool>{true, true, false});  // held back behind the healthy ones
    CHECK(degraded.region.is_ipv4_pruned);
}

TEST_CASE("per-address: every member healthy leaves nothing pruned", "[health][members]") {
    const std::vector<MemberView> members = {{word(State::healthy, 5)}, {word(State::healthy, 7)}};
    const auto s = summarise_members(members, true, 1, {});
    CHECK(s.region.state == State::healthy);
    CHECK_FALSE(s.region.is_ipv4_pruned);
    CHECK(s.is_answered == std::vector<bool>{true, true});
    CHECK(s.region.latency_ms == 6);
}

TEST_CASE("a family whose members are all out is marked lacking, and answered in full if chosen anyway",
          "[health][members]") {
    const std::vector<MemberView> members = {{word(State::unhealthy), false},
                                             {word(State::unhealthy), false},
                                             {word(State::healthy, 8), true}};
    const auto s = summarise_members(members, true, 1, {});
    CHECK(s.region.state == State::healthy);  // one healthy member is enough
    CHECK(s.region.lacks_ipv4);
    CHECK_FALSE(s.region.lacks_ipv6);
    // Answers would carry both IPv4 members (failing open within the family), but none is
    // reported as answered.
    CHECK(s.is_answered == std::vector<bool>{false, false, true});
    CHECK(s.region.is_ipv4_pruned);
    CHECK_FALSE(s.region.is_ipv6_pruned);  // AAAA answers leave nothing out

    const std::vector<MemberView> only_v6 = {{word(State::healthy), true}};
    CHECK_FALSE(summarise_members(only_v6, true, 1, {}).region.lacks_ipv4);  // no A member at all: not "lacking"
}

TEST_CASE("a standby is held back while a member with a weight answers, and counts as healthy", "[health][members]") {
    std::vector<MemberView> members = {{word(State::healthy, 10)}, {word(State::degraded), false, true}};
    const auto s = summarise_members(members, true, 2, {});
    CHECK(s.healthy == 2);
    CHECK(s.region.state == State::healthy);
    CHECK(s.is_answered == std::vector<bool>{true, false});
    CHECK_FALSE(s.region.is_ipv4_pruned);  // waiting is not being left out

    members[0].word = word(State::unhealthy);
    const auto failed_over = summarise_members(members, true, 1, {});
    CHECK(failed_over.is_answered == std::vector<bool>{false, true});
    CHECK(failed_over.region.is_ipv4_pruned);
    CHECK(failed_over.region.state == State::healthy);
}

TEST_CASE("without per-address probes the region's check decides its state; members add the bits and their load",
          "[health][members]") {
    RegionHealth check = word(State::degraded, 120);
    check.override = Override::force_down;  // an override is never the summary's to write
    std::vector<MemberView> members = {{word(State::healthy)}, {drained()}};
    members[0].word.has_load = true;
    members[0].word.load_centi = 4200;
    const auto s = summarise_members(members, false, 1, check);
    CHECK(s.region.state == State::degraded);
    CHECK(s.region.latency_ms == 120);
    CHECK(s.region.override == Override::none);
    CHECK(s.region.is_ipv4_pruned);
    CHECK(s.out == 1);
    CHECK(s.is_answered == std::vector<bool>{true, false});
    CHECK(s.region.has_load);
    CHECK(s.region.load_centi == 4200);

    check.has_load = true;
    check.load_centi = 100;
    CHECK(summarise_members(members, false, 1, check).region.load_centi == 100);  // the check's own load wins
}

TEST_CASE("no members: nothing pruned, nothing lacking, a per-address region below min_healthy is down",
          "[health][members]") {
    const auto s = summarise_members({}, true, 1, {});
    CHECK(s.region.state == State::unhealthy);
    CHECK_FALSE(s.region.is_ipv4_pruned);
    CHECK_FALSE(s.region.lacks_ipv4);
    CHECK_FALSE(s.region.lacks_ipv6);
}

// Tests for ops::ClientMix: samples drained from every zone's rings, counted per name, route,
// country and region, decayed by the half-life, kept by names across a snapshot that keeps them.
#include <catch2/catch.hpp>

#include "ops/client_mix.hpp"
#include "ops_test_support.hpp"

using meridian::ops::ClientMix;
using meridian::test::snapshot_of;

namespace {

constexpr uint32_t kHour = 3600 * 1000;

double answers_of(const std::vector<meridian::adapt::MixCell>& cells, std::array<char, 2> country, uint32_t region) {
    double total = 0;
    for (const auto& c : cells)
        if (c.country == country && c.region == region) total += c.answers;
    return total;
}

}  // namespace

TEST_CASE("the client mix counts drained samples per zone and decays them by the half-life", "[ops]") {
    auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}, {"example.org.", {"x"}}});
    const auto& zones = snapshot->zones.zones();
    REQUIRE(zones.size() == 2);
    const meridian::zone::ServedZone& net = zones[0].zone().policy().regions.size() == 2 ? zones[0] : zones[1];
    const meridian::zone::ServedZone& org = &net == &zones[0] ? zones[1] : zones[0];
    for (int i = 0; i < 3; ++i) net.runtime->samples().record(0, {0, 0, {'B', 'R'}, 1});
    net.runtime->samples().record(0, {0, 0, {'U', 'S'}, 0});
    org.runtime->samples().record(0, {0, 0, {'J', 'P'}, 0});

    ClientMix mix(kHour);
    mix.update(*snapshot, 0);
    const auto cells = mix.cells(net);
    CHECK(answers_of(cells, {'B', 'R'}, 1) == 3);
    CHECK(answers_of(cells, {'U', 'S'}, 0) == 1);
    CHECK(answers_of(cells, {'J', 'P'}, 0) == 0);  // the other zone's
    CHECK(answers_of(mix.cells(org), {'J', 'P'}, 0) == 1);

    mix.update(*snapshot, 3600);  // one half-life, nothing new
    CHECK(answers_of(mix.cells(net), {'B', 'R'}, 1) == Approx(1.5));
    mix.update(*snapshot, 3600 * 10);  // the single answers fall under kForgetBelow
    CHECK(answers_of(mix.cells(net), {'U', 'S'}, 0) == 0);
    CHECK(mix.size() == 0);
}

TEST_CASE("the client mix keeps its counts across a reload that keeps the routes, and starts afresh when they change",
          "[ops]") {
    auto before = snapshot_of({{"example.net.", {"a", "b"}}});
    before->zones.zones()[0].runtime->samples().record(0, {0, 0, {'B', 'R'}, 1});
    ClientMix mix(kHour);
    mix.update(*before, 0);
    // A reload with the same routes: the count is still there, by name.
    auto same = snapshot_of({{"example.net.", {"a", "b"}}});
    mix.update(*same, 0);
    CHECK(answers_of(mix.cells(same->zones.zones()[0]), {'B', 'R'}, 1) == 1);
    // The route now lists b first (what it says changed): what was learned under the old one is dropped.
    auto changed = snapshot_of({{"example.net.", {"b", "a"}}});
    mix.update(*changed, 0);
    CHECK(mix.cells(changed->zones.zones()[0]).empty());
    CHECK(mix.size() == 0);
}

TEST_CASE("a route's fingerprint follows what it says, not where it stands", "[ops]") {
    auto one = snapshot_of({{"example.net.", {"a", "b"}}});
    auto two = snapshot_of({{"example.net.", {"a", "b"}}});
    auto other = snapshot_of({{"example.net.", {"b", "a"}}});
    const auto fingerprint = [](const meridian::answer::Snapshot& s) {
        const auto& policy = s.zones.zones()[0].zone().policy();
        return meridian::ops::route_fingerprint(policy, policy.names[0].routes[0]);
    };
    CHECK(fingerprint(*one) == fingerprint(*two));
    CHECK(fingerprint(*one) != fingerprint(*other));
    CHECK(fingerprint(*one) != 0);  // 0 stands for the fail policy
}

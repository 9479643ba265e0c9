// Tests for ops/alert_rules: each rule raised with its message from health data (probe latency,
// probe success, healthy regions per zone), regions without probe data never judged on it, and
// which alerts a new evaluation raised and cleared.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ops/alert_rules.hpp"
#include "ops/ops_test_support.hpp"

using meridian::ops::Alert;
using meridian::ops::compare_alerts;
using meridian::ops::evaluate_alert_rules;
using meridian::test::monitored;
using meridian::test::probed;
using meridian::test::snapshot_of;

namespace {

meridian::config::AnalyticsConfig rules() {
    meridian::config::AnalyticsConfig r;
    r.latency_warning_ms = 150;
    r.success_critical = 0.95;
    r.healthy_fraction_warning = 0.80;
    return r;
}

std::vector<std::string> messages(const std::vector<Alert>& alerts) {
    std::vector<std::string> out;
    for (const Alert& a : alerts) out.push_back(a.rule + " " + a.severity + " " + a.zone + " " + a.region + ": " + a.message);
    return out;
}

void set_health(const meridian::answer::Snapshot& snapshot, std::size_t region, meridian::health::State state,
                meridian::health::Override o = meridian::health::Override::none) {
    meridian::health::RegionHealth h;
    h.state = state;
    h.override = o;
    snapshot.zones.zones()[0].runtime->health().write(region, h);
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("healthy regions answering fast raise no alert", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}});
    CHECK(evaluate_alert_rules(*snapshot, monitored({probed("example.net.", "a", 20, 1.0), probed("example.net.", "b", 150, 0.95)}), rules())
              .empty());
}

TEST_CASE("a slow region raises a latency warning naming its time and the limit", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}});
    const auto alerts = evaluate_alert_rules(*snapshot, monitored({probed("example.net.", "b", 151, 1.0)}), rules());
    CHECK(messages(alerts) ==
          Strings{"region_latency warning example.net. b: region b of example.net. responds in 151 ms (over 150 ms)"});
}

TEST_CASE("a region failing probes raises a critical alert in whole percent", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a"}}});
    const auto alerts = evaluate_alert_rules(*snapshot, monitored({probed("example.net.", "a", 10, 0.899)}), rules());
    CHECK(messages(alerts) ==
          Strings{"region_success critical example.net. a: region a of example.net. succeeds 90 % of probes (under 95 %)"});
}

TEST_CASE("regions without probes, or without one successful probe, are not judged on probe data", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b", "c"}}});
    auto from_file = probed("example.net.", "a", 900, 0.0);
    from_file.is_probed = false;                                       // a state file, no probes
    const auto never_succeeded = probed("example.net.", "b", 900, 0.0, 0);  // no successful probe yet
    CHECK(evaluate_alert_rules(*snapshot, monitored({from_file, never_succeeded}), rules()).empty());
}

TEST_CASE("too few healthy regions raise a zone warning; drained and forced-down regions are not healthy", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b", "c", "d", "e"}}});
    using meridian::health::Override;
    using meridian::health::State;
    set_health(*snapshot, 0, State::healthy, Override::drain);
    CHECK(messages(evaluate_alert_rules(*snapshot, {}, rules())).empty());  // 4 of 5: 80 % is enough
    set_health(*snapshot, 1, State::degraded);
    CHECK(messages(evaluate_alert_rules(*snapshot, {}, rules())) ==
          Strings{"healthy_regions warning example.net. : 3 of 5 regions of example.net. are healthy (under 80 %)"});
    set_health(*snapshot, 1, State::healthy);
    set_health(*snapshot, 2, State::unhealthy, Override::force_up);  // forced up, but not healthy itself
    set_health(*snapshot, 3, State::healthy, Override::force_down);
    CHECK(messages(evaluate_alert_rules(*snapshot, {}, rules())) ==
          Strings{"healthy_regions warning example.net. : 2 of 5 regions of example.net. are healthy (under 80 %)"});
}

TEST_CASE("alerts come in zone and region order, each zone judged on its own regions", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}, {"example.org.", {"a"}}});
    const auto alerts = evaluate_alert_rules(
        *snapshot, monitored({probed("example.org.", "a", 200, 0.5), probed("example.net.", "b", 10, 0.5), probed("example.net.", "a", 300, 1)}),
        rules());
    CHECK(messages(alerts) == Strings{
                                  "region_latency warning example.net. a: region a of example.net. responds in 300 ms (over 150 ms)",
                                  "region_success critical example.net. b: region b of example.net. succeeds 50 % of probes (under 95 %)",
                                  "region_latency warning example.org. a: region a of example.org. responds in 200 ms (over 150 ms)",
                                  "region_success critical example.org. a: region a of example.org. succeeds 50 % of probes (under 95 %)",
                              });
}

TEST_CASE("a new alert is raised, a gone one cleared, a standing one neither even with a new message", "[ops]") {
    const Alert slow{"region_latency", "warning", "example.net.", "a", "responds in 200 ms"};
    const Alert slower{"region_latency", "warning", "example.net.", "a", "responds in 300 ms"};
    const Alert failing{"region_success", "critical", "example.net.", "a", "succeeds 50 %"};
    const Alert other_zone{"region_latency", "warning", "example.org.", "a", "responds in 200 ms"};
    const Alert zone_wide{"healthy_regions", "warning", "example.net.", "", "1 of 2"};

    const auto first = compare_alerts({}, {slow, zone_wide});
    CHECK(messages(first.raised) == messages({slow, zone_wide}));
    CHECK(first.cleared.empty());

    const auto second = compare_alerts({slow, zone_wide}, {slower, failing, other_zone});
    CHECK(messages(second.raised) == messages({failing, other_zone}));
    CHECK(messages(second.cleared) == messages({zone_wide}));

    const auto all_clear = compare_alerts({slower, failing}, {});
    CHECK(all_clear.raised.empty());
    CHECK(messages(all_clear.cleared) == messages({slower, failing}));
}

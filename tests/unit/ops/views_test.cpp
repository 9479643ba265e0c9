// Tests for ops/status_view and ops/metrics_view: what one set of readings shows in the /status
// document and in the Prometheus text (a region's health, override, monitor reason and trend;
// families declared once with their samples together; cumulative histogram buckets).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "ops/metrics_view.hpp"
#include "ops/ops_test_support.hpp"
#include "ops/status_view.hpp"

using Catch::Detail::Approx;
using meridian::ops::Readings;
using meridian::test::probed;
using meridian::test::snapshot_of;
using nlohmann::json;

namespace {

// Readings of `snapshot` with the parts a test fills in, and two workers.
struct Fixture {
    std::unique_ptr<meridian::answer::Snapshot> snapshot = snapshot_of({{"example.net.", {"a", "b"}}});
    meridian::stats::WorkerStats worker0, worker1;
    meridian::ops::OverrideStore overrides;
    std::vector<meridian::ops::Alert> alerts;
    meridian::ops::QueryTrends trends;
    meridian::ops::ReloadCounts reloads;

    Readings readings(meridian::ops::MonitoredRegions monitored = {}) const {
        return Readings{.snapshot = *snapshot,
                        .workers = {&worker0, &worker1},
                        .overloaded_udp_sockets = 1,
                        .monitored = std::move(monitored),
                        .health_transitions = 7,
                        .overrides = overrides,
                        .alerts = alerts,
                        .trends = trends,
                        .reloads = reloads,
                        .node = "node-1",
                        .uptime_seconds = 42};
    }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("status: totals over every worker, the node, reloads and alerts", "[ops]") {
    Fixture f;
    f.worker0.queries[0].add(3);
    f.worker1.queries[0].add(4);
    f.worker1.queries[1].add(5);
    f.reloads.count({false, 0, {"z.toml:1:1: bad"}});
    f.alerts.push_back({"healthy_regions", "warning", "example.net.", "", "0 of 2"});
    const json s = meridian::ops::status_document(f.readings());
    CHECK(s["node"] == "node-1");
    CHECK(s["uptime_seconds"] == 42);
    CHECK(s["workers"] == 2);
    CHECK(s["queries"] == json{{"udp", 7}, {"tcp", 5}});
    CHECK(s["health_transitions"] == 7);
    CHECK(s["reloads"] == json{{"succeeded", 0}, {"failed", 1}, {"last_errors", {"z.toml:1:1: bad"}}});
    CHECK(s["alerts"] == json::array({{{"rule", "healthy_regions"},
                                       {"severity", "warning"},
                                       {"zone", "example.net."},
                                       {"region", ""},
                                       {"message", "0 of 2"}}}));
    REQUIRE(s["zones"].size() == 1);
    CHECK(s["zones"][0]["origin"] == "example.net.");
    CHECK(s["zones"][0]["names"][0]["name"] == "app.example.net.");
}

TEST_CASE("status: a region shows its board, the monitor's reason, its override and its trend", "[ops]") {
    Fixture f;
    meridian::ops::Override drain;
    drain.action = meridian::health::Override::drain;
    drain.reason = "maintenance";
    drain.set_at = meridian::ops::SystemClock::time_point{} + std::chrono::seconds(1000);
    REQUIRE(f.overrides.set(*f.snapshot, {"example.net.", "b"}, drain));
    f.trends.update(*f.snapshot, 10);
    const uint32_t b = 1;
    for (int i = 0; i < 100; ++i) f.snapshot->zones.zones()[0].runtime->steering().count(0, 0, &b, 1);
    f.trends.update(*f.snapshot, 10);
    auto status = probed("example.net.", "b", 12, 1.0);
    status.reason = "latency 12 ms, success 100 %";

    const json regions = meridian::ops::status_document(
        f.readings(meridian::test::monitored({status})))["zones"][0]["regions"];
    REQUIRE(regions.size() == 2);
    const json& a = regions[0];
    CHECK(a["name"] == "a");
    CHECK(a["state"] == "healthy");
    CHECK(a["check"] == "none");
    CHECK(a["reason"] == "no check: always up");
    CHECK(a["latency_ms"].is_null());  // nothing measures it
    CHECK(a["members"].is_null());
    CHECK(a["last_change"].is_null());
    CHECK(a["override"].is_null());
    CHECK(a["query_rate"] == json{{"moving_average", 0.0}, {"forecast", 0.0}});
    const json& rb = regions[1];
    CHECK(rb["name"] == "b");
    CHECK(rb["answers"] == 100);
    CHECK(rb["reason"] == "latency 12 ms, success 100 %");
    CHECK(rb["last_change"].is_number_integer());
    CHECK(rb["override"] == json{{"action", "drain"},
                                 {"reason", "maintenance"},
                                 {"set_at", 1000},
                                 {"expires_at", nullptr},
                                 {"scope", "node"}});
    CHECK(rb["query_rate"]["moving_average"].get<double>() == Approx(5));
    CHECK(rb["query_rate"]["forecast"].get<double>() == Approx(6.5));
}

TEST_CASE("metrics: each family's HELP and TYPE once, then all its samples", "[ops]") {
    Fixture f;
    f.worker0.queries[0].add(2);
    f.worker1.queries[0].add(3);
    const std::string text = meridian::ops::metrics_text(f.readings());
    CHECK(contains(text,
                   "# HELP meridian_queries_total DNS queries received, by transport.\n"
                   "# TYPE meridian_queries_total counter\n"
                   "meridian_queries_total{transport=\"udp\"} 5\n"
                   "meridian_queries_total{transport=\"tcp\"} 0\n"));
    CHECK(contains(text, "meridian_udp_overloaded 1\n"));
    CHECK(contains(text, "meridian_health_transitions_total 7\n"));
    // Region samples of every kind come under their own family, not interleaved per region.
    const auto answers = text.find(
        "# TYPE meridian_region_answers_total counter\n"
        "meridian_region_answers_total{zone=\"example.net.\",region=\"a\"} 0\n"
        "meridian_region_answers_total{zone=\"example.net.\",region=\"b\"} 0\n"
        "# HELP meridian_region_state");
    CHECK(answers != std::string::npos);
    std::size_t families = 0;
    for (std::size_t at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1)) ++families;
    // 23, four for what the control loop learned, two for the demand forecasts, four for members, two for
    // transfers, seven for DNSSEC (signatures, cache entries, bytes and evictions, expiration, next signing, keys)
    CHECK(families == 42);
    CHECK(contains(text, "meridian_dnssec_signatures_total{result=\"over_budget\"} 0\n"));
    CHECK(contains(text, "meridian_alerts{rule=\"healthy_regions\",severity=\"critical\"} 0\n"));
}

TEST_CASE("metrics: a probed region's latency histogram is cumulative and ends with +Inf", "[ops]") {
    Fixture f;
    auto status = probed("example.net.", "a", 30, 1.0, 0);
    for (const uint32_t ms : {3u, 30u, 30u, 7000u}) status.probe_latency.add(ms);
    const std::string text = meridian::ops::metrics_text(f.readings(meridian::test::monitored({status})));
    const std::string labels = "zone=\"example.net.\",region=\"a\"";
    CHECK(contains(text, "meridian_probe_latency_ms_bucket{" + labels +
                             ",le=\"1\"} 0\n"
                             "meridian_probe_latency_ms_bucket{" +
                             labels +
                             ",le=\"5\"} 1\n"
                             "meridian_probe_latency_ms_bucket{" +
                             labels +
                             ",le=\"10\"} 1\n"
                             "meridian_probe_latency_ms_bucket{" +
                             labels +
                             ",le=\"25\"} 1\n"
                             "meridian_probe_latency_ms_bucket{" +
                             labels + ",le=\"50\"} 3\n"));
    CHECK(contains(text, "meridian_probe_latency_ms_bucket{" + labels +
                             ",le=\"5000\"} 3\n"
                             "meridian_probe_latency_ms_bucket{" +
                             labels +
                             ",le=\"+Inf\"} 4\n"
                             "meridian_probe_latency_ms_sum{" +
                             labels +
                             "} 7063\n"
                             "meridian_probe_latency_ms_count{" +
                             labels + "} 4\n"));
    CHECK_FALSE(contains(text, "region=\"b\",le="));  // b has no probes
}

TEST_CASE("status and metrics show each region's learned factors and latency EWMA", "[ops]") {
    Fixture f;
    const meridian::zone::ServedZone& served = f.snapshot->zones.zones().at(0);
    meridian::steer::RegionFeedback learned;
    learned.capacity_factor = 250;
    learned.load_factor = 800;
    learned.has_latency = true;
    learned.latency_tenths_ms = 123;
    served.runtime->feedback().set_region(1, learned);

    const json s = meridian::ops::status_document(f.readings());
    const json& regions = s["zones"][0]["regions"];
    CHECK(regions[0]["learned"] ==
          json{{"capacity", nullptr}, {"capacity_factor", 1.0}, {"load_factor", 1.0}, {"latency_ewma_ms", nullptr}});
    CHECK(regions[1]["learned"]["capacity_factor"].get<double>() == Approx(0.25));
    CHECK(regions[1]["learned"]["load_factor"].get<double>() == Approx(0.8));
    CHECK(regions[1]["learned"]["latency_ewma_ms"].get<double>() == Approx(12.3));

    const std::string text = meridian::ops::metrics_text(f.readings());
    // The value of one series ("name{labels}"), or -1 when the text has none.
    const auto value_of = [&text](const std::string& series) {
        const std::size_t at = text.find("\n" + series + " ");
        return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 2));
    };
    const std::string b = "{zone=\"example.net.\",region=\"b\"}";
    CHECK(value_of("meridian_region_capacity_factor" + b) == Approx(0.25));
    CHECK(value_of("meridian_region_load_factor" + b) == Approx(0.8));
    CHECK(value_of("meridian_region_latency_ewma_ms" + b) == Approx(12.3));
    CHECK(value_of("meridian_region_load_factor{zone=\"example.net.\",region=\"a\"}") == Approx(1.0));
    CHECK(value_of("meridian_region_latency_ewma_ms{zone=\"example.net.\",region=\"a\"}") == -1.0);  // none yet
}

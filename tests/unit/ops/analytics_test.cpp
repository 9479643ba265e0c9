// Tests for ops/analytics: alerts raised on the tick their rule first holds, kept while it
// holds, cleared when it stops; trends sampled over the time between ticks. No webhook URL, so
// nothing is sent (the webhook's own POSTs are covered by the system tests).
#include <catch2/catch.hpp>

#include <chrono>

#include "ops/analytics.hpp"
#include "ops/ops_test_support.hpp"

using Catch::Detail::Approx;
using meridian::ops::Analytics;
using meridian::test::monitored;
using meridian::test::probed;
using meridian::test::snapshot_of;

namespace {

const Analytics::Clock::time_point kStart = Analytics::Clock::time_point{} + std::chrono::hours(1);

}  // namespace

TEST_CASE("an alert is raised when its rule first holds, stands while it holds and clears when it stops", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}});
    Analytics analytics(meridian::config::AnalyticsConfig{}, meridian::config::ForecastConfig{}, nullptr, {}, kStart);
    CHECK(analytics.alerts().empty());

    analytics.tick(*snapshot, monitored({probed("example.net.", "a", 400, 1.0)}), kStart + std::chrono::seconds(5));
    REQUIRE(analytics.alerts().size() == 1);
    CHECK(analytics.alerts()[0].rule == "region_latency");
    CHECK(analytics.alerts()[0].region == "a");

    analytics.tick(*snapshot, monitored({probed("example.net.", "a", 500, 0.5)}), kStart + std::chrono::seconds(10));
    REQUIRE(analytics.alerts().size() == 2);
    CHECK(analytics.alerts()[0].message == "region a of example.net. responds in 500 ms (over 150 ms)");
    CHECK(analytics.alerts()[1].rule == "region_success");

    analytics.tick(*snapshot, monitored({probed("example.net.", "a", 20, 1.0)}), kStart + std::chrono::seconds(15));
    CHECK(analytics.alerts().empty());
}

TEST_CASE("trends are sampled over the time since the last tick", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a"}}});
    Analytics analytics(meridian::config::AnalyticsConfig{}, meridian::config::ForecastConfig{}, nullptr, {}, kStart);
    analytics.tick(*snapshot, {}, kStart + std::chrono::seconds(5));  // the baseline
    const uint32_t a = 0;
    for (int i = 0; i < 80; ++i) snapshot->zones.zones()[0].runtime->steering().count(0, 0, &a, 1);
    analytics.tick(*snapshot, {}, kStart + std::chrono::seconds(25));  // 80 answers in 20 s: 4/s
    REQUIRE(analytics.trends().find({"example.net.", "a"}) != nullptr);
    CHECK(analytics.trends().find({"example.net.", "a"})->moving_average() == Approx(2));
    // A tick that took no time samples nothing (there is no rate to compute).
    for (int i = 0; i < 80; ++i) snapshot->zones.zones()[0].runtime->steering().count(0, 0, &a, 1);
    analytics.tick(*snapshot, {}, kStart + std::chrono::seconds(25));
    CHECK(analytics.trends().find({"example.net.", "a"})->moving_average() == Approx(2));
}

TEST_CASE("without a webhook URL the analytics' webhook is not configured and stop is harmless", "[ops]") {
    meridian::probes::Webhook none(nullptr, {});
    CHECK_FALSE(none.is_configured());
    none.post("{}");
    none.close();
    Analytics analytics(meridian::config::AnalyticsConfig{}, meridian::config::ForecastConfig{}, nullptr, {}, kStart);
    analytics.stop();
    analytics.stop();
}

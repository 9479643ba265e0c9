// Tests for ops/query_trends: Holt's linear trend on a region's answer rate (level α = 0.5,
// trend β = 0.3) worked by hand, counter restarts, the forecast's floor, and one trend per
// region of every zone.
#include <catch2/catch.hpp>

#include <cstdint>

#include "ops/ops_test_support.hpp"
#include "ops/query_trends.hpp"

using Catch::Detail::Approx;
using meridian::ops::QueryTrends;
using meridian::ops::RegionKey;
using meridian::ops::Trend;
using meridian::test::snapshot_of;

TEST_CASE("a trend's first sample only sets the baseline", "[ops]") {
    Trend t;
    t.add(1'000'000, 10);
    CHECK(t.moving_average() == 0);
    CHECK(t.forecast() == 0);
}

TEST_CASE("Holt's level follows the rate and the forecast adds the trend", "[ops]") {
    Trend t;
    t.add(0, 10);
    t.add(100, 10);  // rate 10/s: level 0.5·10 + 0.5·(0 + 0) = 5; trend 0.3·(5 − 0) = 1.5
    CHECK(t.moving_average() == Approx(5));
    CHECK(t.forecast() == Approx(6.5));
    t.add(300, 10);  // rate 20/s: level 0.5·20 + 0.5·(5 + 1.5) = 13.25; trend 0.3·8.25 + 0.7·1.5 = 3.525
    CHECK(t.moving_average() == Approx(13.25));
    CHECK(t.forecast() == Approx(16.775));
    t.add(350, 5);   // rate 10/s over a shorter interval: level 0.5·10 + 0.5·16.775 = 13.3875
    CHECK(t.moving_average() == Approx(13.3875));
    CHECK(t.forecast() == Approx(13.3875 + 0.3 * (13.3875 - 13.25) + 0.7 * 3.525));
}

TEST_CASE("a counter lower than the last sample has restarted: that interval is no traffic", "[ops]") {
    Trend t;
    t.add(1000, 10);
    t.add(1100, 10);  // rate 10/s: level 5, trend 1.5
    t.add(40, 10);    // restarted (a reloaded zone): rate 0, level 0.5·6.5 = 3.25, not negative
    CHECK(t.moving_average() == Approx(3.25));
    t.add(140, 10);   // counted again from the restarted counter: rate 10/s
    CHECK(t.moving_average() == Approx(0.5 * 10 + 0.5 * (3.25 + 0.525)));
}

TEST_CASE("the forecast never falls below zero while the average is still positive", "[ops]") {
    Trend t;
    t.add(0, 10);
    t.add(1000, 10);  // a burst: level 50, trend 15
    for (int i = 0; i < 4; ++i) t.add(1000, 10);  // then silence: the trend turns steeply down
    CHECK(t.moving_average() == Approx(3.0246875));
    CHECK(t.forecast() == 0);
}

TEST_CASE("query trends keep one trend per region of every zone, by region key", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}, {"example.org.", {"a"}}});
    QueryTrends trends;
    CHECK(trends.find({"example.net.", "a"}) == nullptr);
    trends.update(*snapshot, 10);
    for (const RegionKey& key : {RegionKey{"example.net.", "a"}, RegionKey{"example.net.", "b"}, RegionKey{"example.org.", "a"}}) {
        CAPTURE(key);
        CHECK(trends.find(key) != nullptr);
    }
    // 200 answers with region b of example.net., none elsewhere.
    const uint32_t b = 1;
    for (int i = 0; i < 200; ++i) snapshot->zones.zones()[0].runtime->steering().count(0, 0, &b, 1);
    trends.update(*snapshot, 10);  // 20/s
    CHECK(trends.find({"example.net.", "b"})->moving_average() == Approx(10));
    CHECK(trends.find({"example.net.", "a"})->moving_average() == 0);
    CHECK(trends.find({"example.org.", "a"})->moving_average() == 0);
    CHECK(trends.find({"example.org.", "b"}) == nullptr);
}

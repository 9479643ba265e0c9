// Tests for ops::DemandForecasts in synthetic time: answers counted from the zones' steering
// counters into clock-aligned buckets per region and per steered name, a reload's new counters,
// the state file written after each closed bucket and read back, a state file that cannot be
// read, and the predictive capacity alert.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "ops/demand_forecasts.hpp"
#include "ops/ops_test_support.hpp"
#include "test_support.hpp"

using meridian::ops::DemandForecasts;
using meridian::ops::SeriesKey;

namespace {

constexpr double kBucket = 60;  // seconds

// example.net. with regions a (capacity 10 answers/s) and b, and the name app over both.
std::unique_ptr<meridian::answer::Snapshot> zone_with_capacity() {
    const std::string text =
        "origin = \"example.net.\"\nrecords = \"@ 3600 IN NS ns1\\nns1 3600 IN A 192.0.2.1\"\n"
        "[soa]\nprimary = \"ns1.example.net.\"\ncontact = \"hostmaster.example.net.\"\nserial = 1\n"
        "[regions.a]\naddresses = [\"192.0.2.10\"]\ncapacity = 10\n"
        "[regions.b]\naddresses = [\"192.0.2.11\"]\n"
        "[names.app]\n[[names.app.route]]\nto = [\"a\", \"b\"]\n";
    auto snapshot = std::make_unique<meridian::answer::Snapshot>();
    auto loaded = meridian::test::load_zone_text(text);
    INFO(loaded.diagnostics.format_all());
    REQUIRE(loaded.zone() != nullptr);
    REQUIRE(snapshot->zones.add(std::shared_ptr<const meridian::zone::Zone>(std::move(loaded.loaded.zone))));
    return snapshot;
}

// `n` answers of app (route 1) with region `region`.
void answer(const meridian::answer::Snapshot& snapshot, uint32_t region, int n) {
    auto& steering = snapshot.zones.zones().at(0).runtime->steering();
    for (int i = 0; i < n; ++i) steering.count(0, 0, &region, 1);
}

meridian::config::ForecastConfig config(const std::filesystem::path& file, uint32_t horizon_ms = 0) {
    meridian::config::ForecastConfig c;
    c.bucket_ms = 60000;
    c.season_ms = 4 * 60000;
    c.horizon_ms = horizon_ms;
    c.state_file = file;
    return c;
}

const SeriesKey kA{"example.net.", true, "a"};
const SeriesKey kApp{"example.net.", false, "app.example.net."};

}  // namespace

TEST_CASE("answers are totalled per clock-aligned bucket, per region and per name", "[ops]") {
    meridian::test::TempDir dir;
    DemandForecasts f(config(dir.path() / "f.json"));
    auto snapshot = zone_with_capacity();
    const double t0 = 1000 * kBucket;  // the start of bucket 1000
    f.update(*snapshot, t0 + 1);      // the first tick only takes the counters' starting point
    CHECK_FALSE(f.reading(kA).has_value());
    answer(*snapshot, 0, 120);
    f.update(*snapshot, t0 + 30);
    answer(*snapshot, 1, 60);
    f.update(*snapshot, t0 + 59);
    CHECK_FALSE(f.reading(kA).has_value());  // bucket 1000 is still open
    f.update(*snapshot, t0 + kBucket + 1);   // closed: a 120, b 60, app 180
    const auto a = f.reading(kA);
    REQUIRE(a.has_value());
    CHECK(a->actual_per_second == Approx(2.0));
    CHECK(a->forecast_per_second == Approx(2.0));  // before a season: the mean so far
    CHECK_FALSE(a->is_seasonal);
    CHECK(f.reading(kApp)->actual_per_second == Approx(3.0));
    CHECK(f.reading({"example.net.", true, "b"})->actual_per_second == Approx(1.0));
    CHECK(std::filesystem::exists(dir.path() / "f.json"));  // saved with the closed bucket
    // The chart's history: each closed bucket, and what had been forecast for it.
    REQUIRE(a->history != nullptr);
    REQUIRE(a->history->size() == 1);
    CHECK(a->history->front().start_seconds == 1000 * 60);
    CHECK(a->history->front().actual_per_second == Approx(2.0));
    CHECK_FALSE(a->history->front().forecast_per_second.has_value());  // nothing before it
    answer(*snapshot, 0, 240);
    f.update(*snapshot, t0 + 2 * kBucket + 1);
    const auto again = f.reading(kA);
    REQUIRE(again->history->size() == 2);
    CHECK(again->history->back().actual_per_second == Approx(4.0));
    CHECK(again->history->back().forecast_per_second.value() == Approx(2.0));  // forecast from bucket 1000
}

TEST_CASE("a reload's new counters count from zero, not as a drop", "[ops]") {
    meridian::test::TempDir dir;
    DemandForecasts f(config(dir.path() / "f.json"));
    auto before = zone_with_capacity();
    const double t0 = 2000 * kBucket;
    f.update(*before, t0);
    answer(*before, 0, 300);
    f.update(*before, t0 + 20);
    auto after = zone_with_capacity();  // fresh counters
    answer(*after, 0, 60);
    f.update(*after, t0 + 40);
    f.update(*after, t0 + kBucket);
    CHECK(f.reading(kA)->actual_per_second == Approx(360 / kBucket));
}

TEST_CASE("the state file carries the forecasts across a restart; a bad one starts afresh", "[ops]") {
    meridian::test::TempDir dir;
    const auto file = dir.path() / "f.json";
    auto snapshot = zone_with_capacity();
    {
        DemandForecasts f(config(file));
        double t = 3000 * kBucket;
        f.update(*snapshot, t);
        for (int b = 0; b < 6; ++b) {  // six buckets: a season and a half
            answer(*snapshot, 0, 60 * (b % 4 + 1));
            t += kBucket;
            f.update(*snapshot, t);
        }
        REQUIRE(f.reading(kA)->is_seasonal);
    }
    DemandForecasts restarted(config(file));
    restarted.load();
    const auto a = restarted.reading(kA);
    REQUIRE(a.has_value());
    CHECK(a->is_seasonal);
    CHECK(a->actual_per_second == Approx(2.0));  // the last bucket: 120 answers (b = 5: 60 × 2)
    CHECK(restarted.reading(kApp).has_value());

    std::ofstream(file) << "{\"meridian_forecasts\": 1, \"series\": {\"region example.net. a\": {\"forecaster\": \"x\"}}}";
    DemandForecasts broken(config(file));
    broken.load();  // logged; that series starts afresh
    CHECK_FALSE(broken.reading(kA).has_value());
    std::ofstream(file) << "not json";
    DemandForecasts garbage(config(file));
    garbage.load();
    CHECK_FALSE(garbage.reading(kA).has_value());
}

TEST_CASE("a state file that cannot be written keeps the forecasts in memory", "[ops]") {
    meridian::test::TempDir dir;
    DemandForecasts f(config(dir.path() / "missing-directory" / "f.json"));
    auto snapshot = zone_with_capacity();
    f.update(*snapshot, 4000 * kBucket);
    answer(*snapshot, 0, 60);
    f.update(*snapshot, 4001 * kBucket);
    CHECK(f.reading(kA).has_value());
    CHECK_FALSE(f.save());
}

TEST_CASE("a region whose forecast passes its capacity within the horizon raises an alert", "[ops]") {
    meridian::test::TempDir dir;
    DemandForecasts f(config(dir.path() / "f.json", /*horizon_ms=*/3 * 60000));
    auto snapshot = zone_with_capacity();
    double t = 5000 * kBucket;
    f.update(*snapshot, t);
    answer(*snapshot, 0, 300);  // 5 answers/s: under a's capacity of 10
    answer(*snapshot, 1, 6000);  // b has no capacity: never alerted
    t += kBucket;
    f.update(*snapshot, t);
    CHECK(f.capacity_alerts(*snapshot).empty());
    answer(*snapshot, 0, 1200);  // 20 answers/s: the mean so far (12.5/s) passes 10
    t += kBucket;
    f.update(*snapshot, t);
    const auto alerts = f.capacity_alerts(*snapshot);
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].rule == "region_capacity_forecast");
    CHECK(alerts[0].region == "a");
    CHECK(alerts[0].message == "region a of example.net. is forecast 13 answers/s within 1 min, over its capacity of 10");
    DemandForecasts no_horizon(config(dir.path() / "g.json", 0));
    CHECK(no_horizon.capacity_alerts(*snapshot).empty());
}

TEST_CASE("a region's demand is what it was sent over the share it took (spill, shed load)", "[ops]") {
    meridian::test::TempDir dir;
    DemandForecasts f(config(dir.path() / "f.json"));
    auto snapshot = zone_with_capacity();
    meridian::steer::RegionFeedback spilling;
    spilling.capacity_factor = 500;  // a took half of what it was offered
    snapshot->zones.zones().at(0).runtime->feedback().set_region(0, spilling);
    const double t0 = 6000 * kBucket;
    f.update(*snapshot, t0);
    answer(*snapshot, 0, 60);
    answer(*snapshot, 1, 60);
    f.update(*snapshot, t0 + kBucket);
    CHECK(f.reading(kA)->actual_per_second == Approx(2.0));                                  // 60 sent ÷ 0.5
    CHECK(f.reading({"example.net.", true, "b"})->actual_per_second == Approx(1.0));         // whole share
    CHECK(f.reading(kApp)->actual_per_second == Approx(2.0));                                // the name: as answered
}

// Tests for adapt::Forecaster (additive Holt-Winters over fixed buckets): the mean until a full
// season is seen, an exact seasonal series forecast exactly, a seasonal series with trend and
// noise within 10 % (MAPE) on its third season, gaps, buckets out of order, and the state's JSON
// round trip (continuing from a restored state gives the same forecasts as never stopping).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>

#include "adapt/forecast.hpp"

using meridian::adapt::Forecaster;
using meridian::adapt::ForecastSettings;

namespace {

constexpr double kPi = 3.14159265358979323846;

ForecastSettings small_season() {
    ForecastSettings s;
    s.bucket_seconds = 3600;
    s.season_buckets = 24;  // a day of hours
    return s;
}

// A day-shaped demand: low at night, a peak in the afternoon.
double daily(int64_t bucket) { return 1000 + 600 * std::sin(2 * kPi * static_cast<double>(bucket % 24) / 24.0); }

}  // namespace

TEST_CASE("before a full season the forecast is the mean so far", "[adapt]") {
    Forecaster f(small_season());
    CHECK(f.forecast() == 0.0);
    REQUIRE(f.observe(100, 10));
    REQUIRE(f.observe(101, 20));
    REQUIRE(f.observe(103, 60));  // a gap is fine
    CHECK_FALSE(f.is_seasonal());
    CHECK(f.forecast() == Approx(30));
    CHECK_FALSE(f.mape().has_value());
    CHECK(f.observations() == 3);
}

TEST_CASE("an exact seasonal series is forecast exactly after one season", "[adapt]") {
    Forecaster f(small_season());
    for (int64_t b = 48; b < 72; ++b) REQUIRE(f.observe(b, daily(b)));
    REQUIRE(f.is_seasonal());
    for (uint32_t ahead = 1; ahead <= 24; ++ahead) CHECK(f.forecast(ahead) == Approx(daily(71 + ahead)));
    for (int64_t b = 72; b < 96; ++b) REQUIRE(f.observe(b, daily(b)));
    REQUIRE(f.mape().has_value());
    CHECK(*f.mape() == Approx(0).margin(1e-9));
    CHECK(f.forecast(6) == Approx(daily(101)));
}

TEST_CASE("a seasonal series with growth and noise: MAPE under 10 % on the third season", "[adapt]") {
    Forecaster f(small_season());
    std::mt19937 random(12345);
    std::normal_distribution<double> noise(0.0, 0.03);  // 3 % per bucket
    const auto actual = [&](int64_t b) {
        return daily(b) * (1 + 0.002 * static_cast<double>(b)) * (1 + noise(random));
    };
    for (int64_t b = 0; b < 48; ++b) REQUIRE(f.observe(b, actual(b)));
    for (int64_t b = 48; b < 72; ++b) REQUIRE(f.observe(b, actual(b)));  // the third season
    REQUIRE(f.mape().has_value());
    CAPTURE(*f.mape());
    CHECK(*f.mape() < 10.0);
    // And the next bucket's forecast is within 10 % of the noiseless demand.
    const double expected = daily(72) * (1 + 0.002 * 72);
    CHECK(std::fabs(f.forecast(1) - expected) / expected < 0.10);
}

TEST_CASE("buckets nobody observed move the level by the trend and leave the season", "[adapt]") {
    Forecaster f(small_season());
    for (int64_t b = 0; b < 24; ++b) REQUIRE(f.observe(b, daily(b)));
    // A whole season later (the server was down a day): same hour, same forecast, trend 0.
    const double at_noon = f.forecast(13);  // bucket 36: hour 12
    REQUIRE(f.observe(47, daily(47)));      // buckets 24 … 46 were missed
    CHECK(f.forecast(13) == Approx(daily(60)));
    CHECK(at_noon == Approx(daily(36)));
}

TEST_CASE("a bucket at or before the last one, or not a number, is refused and changes nothing", "[adapt]") {
    Forecaster f(small_season());
    REQUIRE(f.observe(10, 5));
    CHECK_FALSE(f.observe(10, 7));
    CHECK_FALSE(f.observe(9, 7));
    CHECK_FALSE(f.observe(11, std::nan("")));
    CHECK_FALSE(f.observe(-1, 1));
    CHECK(f.observations() == 1);
    CHECK(f.forecast() == 5);
}

TEST_CASE("the state survives a JSON round trip, and continues as if never stopped", "[adapt]") {
    const ForecastSettings settings = small_season();
    Forecaster original(settings);
    std::mt19937 random(7);
    std::uniform_real_distribution<double> noise(-30, 30);
    for (int64_t b = 5; b < 45; ++b) {
        if (b == 20) continue;  // a gap, kept in the state too
        REQUIRE(original.observe(b, daily(b) + noise(random)));
    }
    std::string error;
    auto restored = Forecaster::from_json(original.to_json(), settings, &error);
    INFO(error);
    REQUIRE(restored.has_value());
    CHECK(restored->is_seasonal() == original.is_seasonal());
    CHECK(restored->last_bucket() == original.last_bucket());
    CHECK(restored->observations() == original.observations());
    CHECK(restored->mape() == original.mape());
    for (int64_t b = 45; b < 80; ++b) {
        const double y = daily(b) + noise(random);
        REQUIRE(original.observe(b, y));
        REQUIRE(restored->observe(b, y));
        CHECK(restored->forecast(3) == original.forecast(3));
    }
    // Before the first season is full, too.
    Forecaster young(settings);
    REQUIRE(young.observe(3, 42));
    auto young_back = Forecaster::from_json(young.to_json(), settings, &error);
    REQUIRE(young_back.has_value());
    CHECK_FALSE(young_back->is_seasonal());
    CHECK(young_back->forecast() == 42);
}

TEST_CASE("a state made with other sizes, or not a state, is refused with a reason", "[adapt]") {
    const ForecastSettings settings = small_season();
    Forecaster f(settings);
    REQUIRE(f.observe(1, 1));
    std::string error;
    ForecastSettings other = settings;
    other.season_buckets = 48;
    CHECK_FALSE(Forecaster::from_json(f.to_json(), other, &error).has_value());
    CHECK(error.find("other bucket or season sizes") != std::string::npos);
    other = settings;
    other.bucket_seconds = 300;
    CHECK_FALSE(Forecaster::from_json(f.to_json(), other, &error).has_value());
    for (const char* bad :
         {"", "[]", "{\"meridian_forecast\": 2}", "{\"meridian_forecast\": 1, \"bucket_seconds\": 3600}", "not json",
          "{\"meridian_forecast\": 6.7e45}", "{\"meridian_forecast\": 1.5}"}) {
        CAPTURE(bad);
        error.clear();
        CHECK_FALSE(Forecaster::from_json(bad, settings, &error).has_value());
        CHECK_FALSE(error.empty());
    }
    std::string text = f.to_json();
    const std::size_t season = text.find("\"season\":[");
    REQUIRE(season != std::string::npos);
    text.insert(season + 10, "1,");  // 25 seasonal terms for a season of 24
    CHECK_FALSE(Forecaster::from_json(text, settings, &error).has_value());
    CHECK(error == "a field is missing or has the wrong type or length");
}

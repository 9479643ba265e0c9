// Tests for health/schedule: the delay before a probe's next run is its interval moved by up to
// ±jitter (docs/HEALTH.md, "Kinds"). Randomness is injected: every generator is seeded here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "health/schedule.hpp"
#include "common/random.hpp"

using meridian::health::next_delay_ms;
using meridian::Random;

TEST_CASE("without jitter every run is exactly one interval after the last", "[health]") {
    for (const uint32_t interval : {1u, 1000u, 5000u, 3600000u}) {
        CAPTURE(interval);
        Random random(7);
        for (int i = 0; i < 100; ++i) CHECK(next_delay_ms(interval, 0, &random) == interval);
    }
}

TEST_CASE("with jitter, 10,000 seeded delays stay within interval ± jitter, reach both ends and average the "
          "interval",
          "[health]") {
    struct Row {
        uint32_t interval;
        uint32_t jitter;
        uint64_t seed;
    };
    for (const Row row : {Row{5000, 500, 1}, Row{5000, 500, 0xDEADBEEF}, Row{1000, 100, 42}, Row{100, 1, 3},
                          Row{1000, 1000, 9}}) {
        CAPTURE(row.interval, row.jitter, row.seed);
        Random random(row.seed);
        uint32_t low = std::numeric_limits<uint32_t>::max();
        uint32_t high = 0;
        double sum = 0;
        constexpr int kDraws = 10000;
        for (int i = 0; i < kDraws; ++i) {
            const uint32_t delay = next_delay_ms(row.interval, row.jitter, &random);
            REQUIRE(delay >= row.interval - row.jitter);
            REQUIRE(delay <= row.interval + row.jitter);
            low = std::min(low, delay);
            high = std::max(high, delay);
            sum += delay;
        }
        CHECK(low == row.interval - row.jitter);
        CHECK(high == row.interval + row.jitter);
        // A uniform spread of ±jitter has a standard deviation of jitter/√3; the mean of 10,000
        // draws is off by more than 5 of its standard errors (5 × jitter/√3/100) only if broken.
        CHECK(sum / kDraws == Approx(row.interval).margin(0.05 * row.jitter / 1.7320508 + 0.5));
    }
}

TEST_CASE("the same seed gives the same sequence of delays", "[health]") {
    Random one(2026), two(2026);
    bool varies = false;
    uint32_t previous = 0;
    for (int i = 0; i < 1000; ++i) {
        const uint32_t a = next_delay_ms(5000, 500, &one);
        CHECK(a == next_delay_ms(5000, 500, &two));
        varies = varies || (i > 0 && a != previous);
        previous = a;
    }
    CHECK(varies);
}

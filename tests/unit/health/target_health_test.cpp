// Tests for health/target_health: the initial states, rise/fall hysteresis, success rate and
// latency over the window, and the thresholds that turn them into a state (docs/HEALTH.md, "From
// results to a state"). Time is injected: each result arrives at a steady_clock point the test
// advances by hand.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "health/check_spec.hpp"
#include "health/health_test_support.hpp"
#include "health/state.hpp"
#include "health/target_health.hpp"

using meridian::health::Clock;
using meridian::health::InitialState;
using meridian::health::ProbeResult;
using meridian::health::State;
using meridian::health::TargetHealth;
using meridian::health::Thresholds;
using meridian::health::Transition;
using namespace std::chrono_literals;

namespace {

// An arbitrary fixed origin, far from the clock's epoch.
const Clock::time_point kStart = Clock::time_point{} + 1000h;

ProbeResult good(uint32_t latency_ms = 10) {
    ProbeResult r;
    r.is_ok = true;
    r.latency_ms = latency_ms;
    return r;
}

ProbeResult failed(const std::string& reason = "HTTP 503") {
    ProbeResult r;
    r.is_ok = false;
    r.reason = reason;
    return r;
}

ProbeResult with_load(double load) {
    ProbeResult r = good();
    r.load = load;
    return r;
}

Thresholds thresholds(uint32_t rise = 2, uint32_t fall = 3, uint32_t window = 20) {
    Thresholds t;  // the documented defaults: 100 / 200 ms, 99 % / 95 %
    t.rise = rise;
    t.fall = fall;
    t.window = window;
    return t;
}

// One target and the hand-driven clock its results arrive by: every result is 5 s after the last.
struct Probed {
    explicit Probed(Thresholds t = thresholds(), InitialState initial = InitialState::up) : health(t, initial, kStart) {}

    std::optional<Transition> feed(const ProbeResult& r) {
        now += 5s;
        return health.record(r, now);
    }
    // Feeds `r` `times` times and returns how many transitions that caused.
    int feed_times(const ProbeResult& r, int times) {
        int transitions = 0;
        for (int i = 0; i < times; ++i) transitions += feed(r) ? 1 : 0;
        return transitions;
    }
    // From healthy to unhealthy by `fall` failures in a row.
    void take_down(uint32_t fall) {
        for (uint32_t i = 0; i < fall; ++i) feed(failed());
        REQUIRE(health.state() == State::unhealthy);
    }

    TargetHealth health;
    Clock::time_point now = kStart;
};

}  // namespace

// ---- initial state ----------------------------------------------------------------------------

TEST_CASE("before its first result a target is healthy (up), unhealthy (down) or waiting (wait)", "[health]") {
    struct Row {
        InitialState initial;
        bool is_waiting;
    };
    for (const Row& row : {Row{InitialState::up, false}, Row{InitialState::down, false}, Row{InitialState::wait, true}}) {
        CAPTURE(static_cast<int>(row.initial));
        const TargetHealth h(thresholds(), row.initial, kStart);
        if (row.initial == InitialState::up) CHECK(h.state() == State::healthy);
        if (row.initial == InitialState::down) CHECK(h.state() == State::unhealthy);
        CHECK(h.is_waiting() == row.is_waiting);
        CHECK(h.samples() == 0);
        CHECK(h.last_change() == kStart);
        CHECK_FALSE(h.snapshot().has_measurement);
        CHECK(h.snapshot().success_permille == 1000);
        CHECK_FALSE(h.snapshot().has_load);
    }
}

TEST_CASE("with initial = wait the first result decides the state at once, without rise or fall", "[health]") {
    struct Row {
        const char* what;
        ProbeResult result;
        State expected;
    };
    const Row rows[] = {
        {"a fast good probe", good(10), State::healthy},
        {"a failed probe", failed("tcp: connection refused"), State::unhealthy},
        {"a probe between the thresholds", good(150), State::degraded},
        {"a probe slower than degraded_below_ms", good(250), State::unhealthy},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        Probed p(thresholds(/*rise=*/5, /*fall=*/5), InitialState::wait);
        REQUIRE(p.health.is_waiting());
        const std::optional<Transition> t = p.feed(row.result);
        CHECK_FALSE(p.health.is_waiting());
        CHECK(p.health.state() == row.expected);
        if (row.expected != State::healthy) {
            REQUIRE(t.has_value());
            CHECK(t->to == row.expected);
            CHECK(p.health.last_change() == p.now);
        }
        if (!row.result.is_ok) CHECK(t->reason == row.result.reason);
    }
}

TEST_CASE("a target that starts down becomes healthy after rise good probes, not at the first", "[health]") {
    Probed p(thresholds(/*rise=*/3, /*fall=*/3), InitialState::down);
    CHECK_FALSE(p.feed(good()));
    CHECK_FALSE(p.feed(good()));
    CHECK(p.health.state() == State::unhealthy);
    const std::optional<Transition> t = p.feed(good());
    REQUIRE(t.has_value());
    CHECK(t->from == State::unhealthy);
    CHECK(t->to == State::healthy);
}

// ---- fall -------------------------------------------------------------------------------------

TEST_CASE("fall failed probes in a row make a healthy target unhealthy at exactly the fall-th", "[health]") {
    for (const uint32_t fall : {1u, 2u, 3u, 5u}) {
        for (const int history : {0, 20}) {  // a fresh target, and one with a full window of good results
            CAPTURE(fall, history);
            Probed p(thresholds(/*rise=*/2, fall));
            REQUIRE(p.feed_times(good(), history) == 0);
            for (uint32_t i = 1; i < fall; ++i) {
                CAPTURE(i);
                CHECK_FALSE(p.feed(failed("timeout after 1000 ms")));
                CHECK(p.health.state() == State::healthy);
            }
            const std::optional<Transition> t = p.feed(failed("HTTP 503"));
            REQUIRE(t.has_value());
            CHECK(t->from == State::healthy);
            CHECK(t->to == State::unhealthy);
            CHECK(t->reason == "HTTP 503");
            CHECK(p.health.state() == State::unhealthy);
            CHECK(p.health.last_reason() == "HTTP 503");
        }
    }
}

TEST_CASE("a good probe between failures restarts the count of failures in a row", "[health]") {
    // Success thresholds of 90 % over a window of 100 good results: the four failures below never
    // make an evaluation point at a worse state, so only failures in a row could.
    Thresholds t = thresholds(/*rise=*/2, /*fall=*/3, /*window=*/100);
    t.healthy_success = 0.9;
    t.degraded_success = 0.9;
    Probed p(t);
    p.feed_times(good(), 100);
    for (int round = 0; round < 2; ++round) {
        CHECK_FALSE(p.feed(failed()));
        CHECK_FALSE(p.feed(failed()));
        CHECK_FALSE(p.feed(good()));
    }
    CHECK(p.health.state() != State::unhealthy);
}

// ---- rise -------------------------------------------------------------------------------------

TEST_CASE("an unhealthy target recovers after exactly rise good probes in a row", "[health]") {
    for (const uint32_t rise : {1u, 2u, 4u}) {
        CAPTURE(rise);
        Probed p(thresholds(rise, /*fall=*/3));
        p.take_down(3);
        for (uint32_t i = 1; i < rise; ++i) {
            CAPTURE(i);
            CHECK_FALSE(p.feed(good(10)));
            CHECK(p.health.state() == State::unhealthy);
        }
        const std::optional<Transition> t = p.feed(good(10));
        REQUIRE(t.has_value());
        CHECK(t->from == State::unhealthy);
        CHECK(t->to == State::healthy);
        CHECK(t->reason == "latency 10 ms, success 100 %");
        CHECK(p.health.state() == State::healthy);
    }
}

TEST_CASE("a bad probe during recovery starts the run of good probes again", "[health]") {
    // Bad: failed, or at or above degraded_below_ms ("A result is good when it passed within
    // degraded_below_ms"; "rise good probes in a row bring it back").
    struct Row {
        const char* what;
        ProbeResult bad;
    };
    for (const Row& row : {Row{"a failed probe", failed()}, Row{"a slow probe (250 ms)", good(250)}}) {
        CAPTURE(row.what);
        Probed p(thresholds(/*rise=*/3, /*fall=*/3));
        p.take_down(3);
        CHECK(p.feed_times(good(), 2) == 0);
        CHECK_FALSE(p.feed(row.bad));
        CHECK(p.health.state() == State::unhealthy);
        CHECK(p.feed_times(good(), 2) == 0);
        CHECK(p.health.state() == State::unhealthy);
        const std::optional<Transition> t = p.feed(good());
        CHECK(p.health.state() == State::healthy);
        if (t) CHECK(t->to == State::healthy);
    }
}

// ---- success rate -----------------------------------------------------------------------------

TEST_CASE("one failure in a full window of 20 good results: 95 % success, degraded after fall evaluations, never "
          "unhealthy",
          "[health]") {
    Probed p;  // rise 2, fall 3, window 20, healthy ≥ 99 %, degraded ≥ 95 %
    REQUIRE(p.feed_times(good(10), 20) == 0);

    // Result 21 fails: 19 of 20 is 95 %, which points at degraded. That is the first evaluation…
    CHECK_FALSE(p.feed(failed()));
    CHECK(p.health.success_rate() == Approx(0.95));
    // … result 22 the second (the failure is still in the window) …
    CHECK_FALSE(p.feed(good(10)));
    CHECK(p.health.state() == State::healthy);
    // … and result 23 the third: fall = 3.
    const std::optional<Transition> t = p.feed(good(10));
    REQUIRE(t.has_value());
    CHECK(t->from == State::healthy);
    CHECK(t->to == State::degraded);
    CHECK(t->reason == "latency 10 ms, success 95 %");

    // Results 24–40 keep the failure in the window; result 41 pushes it out (100 % again: the
    // first evaluation towards healthy) and result 42 is the rise-th.
    for (int result = 24; result <= 41; ++result) {
        CAPTURE(result);
        CHECK_FALSE(p.feed(good(10)));
        CHECK(p.health.state() == State::degraded);
    }
    CHECK(p.health.success_rate() == Approx(1.0));
    const std::optional<Transition> back = p.feed(good(10));
    REQUIRE(back.has_value());
    CHECK(back->from == State::degraded);
    CHECK(back->to == State::healthy);
}

TEST_CASE("a target that flaps after going unhealthy stays unhealthy for 100 results", "[health]") {
    // Bad is a failed probe or one at or above degraded_below_ms: "A result is good when it
    // passed within degraded_below_ms".
    struct Row {
        const char* what;
        ProbeResult bad;
    };
    for (const Row& row : {Row{"good, failed, good …", failed()}, Row{"good, slow (250 ms), good …", good(250)}}) {
        CAPTURE(row.what);
        Probed p;
        p.take_down(3);
        int transitions = 0;
        std::string first;  // the first transition, for the report
        for (int i = 0; i < 100; ++i) {
            if (const std::optional<Transition> t = p.feed(i % 2 == 0 ? good(10) : row.bad)) {
                if (transitions++ == 0) {
                    first = "result " + std::to_string(i + 1) + ": to " + meridian::health::to_string(t->to) + " (" +
                            t->reason + ")";
                }
            }
        }
        CAPTURE(first);
        CHECK(transitions == 0);
        CHECK(p.health.state() == State::unhealthy);
        // The same target comes back once it strings rise good probes together.
        CHECK_FALSE(p.feed(good(10)));
        const std::optional<Transition> t = p.feed(good(10));
        REQUIRE(t.has_value());
        CHECK(t->to == State::healthy);
    }
}

// ---- latency ----------------------------------------------------------------------------------

TEST_CASE("successful probes at or above degraded_below_ms make the target unhealthy after fall evaluations",
          "[health]") {
    for (const uint32_t latency : {200u, 250u, 5000u}) {
        CAPTURE(latency);
        Probed p;  // fall 3
        CHECK_FALSE(p.feed(good(latency)));
        CHECK_FALSE(p.feed(good(latency)));
        CHECK(p.health.state() == State::healthy);
        const std::optional<Transition> t = p.feed(good(latency));
        REQUIRE(t.has_value());
        CHECK(t->from == State::healthy);
        CHECK(t->to == State::unhealthy);
        CHECK(t->reason == "latency " + std::to_string(latency) + " ms, success 100 %");
    }
}

TEST_CASE("latency from healthy_below_ms up to just under degraded_below_ms makes the target degraded", "[health]") {
    struct Row {
        uint32_t latency;
        State expected;
    };
    for (const Row row : {Row{99, State::healthy}, Row{100, State::degraded}, Row{150, State::degraded},
                          Row{199, State::degraded}, Row{200, State::unhealthy}}) {
        CAPTURE(row.latency);
        Probed p;  // fall 3
        CHECK(p.feed_times(good(row.latency), 2) == 0);
        const std::optional<Transition> t = p.feed(good(row.latency));
        CHECK(p.feed_times(good(row.latency), 10) == 0);  // and it stays there
        CHECK(p.health.state() == row.expected);
        if (row.expected == State::healthy) {
            CHECK_FALSE(t.has_value());
        } else {
            REQUIRE(t.has_value());
            CHECK(t->to == row.expected);
        }
    }
}

TEST_CASE("a slow unhealthy target recovers after rise fast probes in a row", "[health]") {
    for (const uint32_t rise : {2u, 3u}) {
        CAPTURE(rise);
        Probed p(thresholds(rise, /*fall=*/3));
        p.feed_times(good(250), 3);
        REQUIRE(p.health.state() == State::unhealthy);
        CHECK(p.feed_times(good(20), static_cast<int>(rise) - 1) == 0);
        CHECK(p.health.state() == State::unhealthy);
        const std::optional<Transition> t = p.feed(good(20));
        REQUIRE(t.has_value());
        CHECK(t->from == State::unhealthy);
        CHECK(t->to == State::healthy);
        CHECK(p.health.latency_ms() == 20);
    }
}

TEST_CASE("a degraded target speeds up: healthy once the mean of its last fall probes is below healthy_below_ms "
          "for rise evaluations",
          "[health]") {
    Probed p;  // rise 2, fall 3: the latency is the mean of the last 3 good probes
    p.feed_times(good(150), 3);
    REQUIRE(p.health.state() == State::degraded);
    CHECK_FALSE(p.feed(good(10)));  // mean (150 + 150 + 10) / 3 = 103: still degraded
    CHECK(p.health.latency_ms() == 103);
    CHECK_FALSE(p.feed(good(10)));  // mean 56: the first evaluation towards healthy
    CHECK(p.health.latency_ms() == 56);
    const std::optional<Transition> t = p.feed(good(10));  // mean 10: the second, rise = 2
    REQUIRE(t.has_value());
    CHECK(t->from == State::degraded);
    CHECK(t->to == State::healthy);
}

// ---- the figures ------------------------------------------------------------------------------

TEST_CASE("latency is the mean of the last max(rise, fall) good probes; success rate covers the window", "[health]") {
    SECTION("rise 2, fall 3: the last 3") {
        Probed p(thresholds(/*rise=*/2, /*fall=*/3));
        for (const uint32_t ms : {10u, 20u, 30u, 40u}) p.feed(good(ms));
        CHECK(p.health.latency_ms() == 30);  // (20 + 30 + 40) / 3
        CHECK(p.health.success_rate() == Approx(1.0));
        p.feed(failed());  // failures have no latency
        CHECK(p.health.latency_ms() == 30);
        CHECK(p.health.success_rate() == Approx(0.8));
        p.feed(good(70));
        CHECK(p.health.latency_ms() == 46);  // (30 + 40 + 70) / 3, rounded down
        CHECK(p.health.success_rate() == Approx(5.0 / 6.0));
        CHECK(p.health.samples() == 6);

        const meridian::health::RegionHealth s = p.health.snapshot();
        CHECK(s.has_measurement);
        CHECK(s.latency_ms == 46);
        CHECK(s.success_permille == 833);
        CHECK(s.state == p.health.state());
        CHECK_FALSE(s.has_load);
    }
    SECTION("rise 4, fall 2: the last 4") {
        Probed p(thresholds(/*rise=*/4, /*fall=*/2));
        for (const uint32_t ms : {90u, 10u, 20u, 30u, 40u}) p.feed(good(ms));
        CHECK(p.health.latency_ms() == 25);  // (10 + 20 + 30 + 40) / 4
    }
    SECTION("the window keeps only the last `window` results") {
        Probed p(thresholds(/*rise=*/2, /*fall=*/3, /*window=*/5));
        p.feed(failed());
        p.feed(failed());
        p.feed_times(good(), 5);
        CHECK(p.health.samples() == 5);
        CHECK(p.health.success_rate() == Approx(1.0));
        CHECK(p.health.snapshot().success_permille == 1000);
    }
}

TEST_CASE("last_change is the injected time of the last transition", "[health]") {
    Probed p;
    CHECK(p.health.last_change() == kStart);
    p.feed_times(good(), 4);
    CHECK(p.health.last_change() == kStart);  // no transition, no change
    p.feed(failed());
    p.feed(failed());
    const Clock::time_point before_fall = p.now;
    REQUIRE(p.feed(failed()).has_value());
    CHECK(p.health.last_change() == p.now);
    CHECK(p.health.last_change() == before_fall + 5s);
    const Clock::time_point down_at = p.now;
    p.feed(failed());  // already unhealthy: no transition
    CHECK(p.health.last_change() == down_at);
    p.feed(good());
    REQUIRE(p.feed(good()).has_value());
    CHECK(p.health.last_change() == down_at + 15s);
}

TEST_CASE("assign sets a state at once and reports a transition only when the state changes", "[health]") {
    Probed p(thresholds(/*rise=*/5, /*fall=*/5));
    const Clock::time_point t1 = kStart + 1min;
    const Clock::time_point t2 = kStart + 2min;
    const Clock::time_point t3 = kStart + 3min;

    const std::optional<Transition> down = p.health.assign(State::unhealthy, "state file says down", t1);
    REQUIRE(down.has_value());
    CHECK(down->from == State::healthy);
    CHECK(down->to == State::unhealthy);
    CHECK(down->reason == "state file says down");
    CHECK(p.health.state() == State::unhealthy);
    CHECK(p.health.last_change() == t1);
    CHECK(p.health.last_reason() == "state file says down");

    CHECK_FALSE(p.health.assign(State::unhealthy, "state file says down", t2));
    CHECK(p.health.last_change() == t1);

    const std::optional<Transition> degraded = p.health.assign(State::degraded, "maintenance", t3);
    REQUIRE(degraded.has_value());
    CHECK(degraded->from == State::unhealthy);
    CHECK(degraded->to == State::degraded);
    CHECK(p.health.snapshot().state == State::degraded);
    CHECK(p.health.last_change() == t3);

    SECTION("assign ends the wait of initial = wait") {
        TargetHealth waiting(thresholds(), InitialState::wait, kStart);
        waiting.assign(State::healthy, "state file says up", t1);
        CHECK_FALSE(waiting.is_waiting());
    }
}

TEST_CASE("a reported load reaches the snapshot in hundredths, clamped to 0 … 2^24 − 1", "[health]") {
    struct Row {
        double load;
        uint32_t centi;
    };
    for (const Row row : {Row{0.0, 0}, Row{1.5, 150}, Row{0.25, 25}, Row{42.0, 4200}, Row{-3.0, 0},
                          Row{200000.0, 16777215}, Row{1e12, 16777215}}) {
        CAPTURE(row.load);
        Probed p;
        p.feed(with_load(row.load));
        const meridian::health::RegionHealth s = p.health.snapshot();
        CHECK(s.has_load);
        CHECK(s.load_centi == row.centi);
    }
    SECTION("no load reported: no load in the snapshot") {
        Probed p;
        p.feed(good());
        CHECK_FALSE(p.health.snapshot().has_load);
    }
}

TEST_CASE("the reason always says what the current state rests on, not only why it last changed", "[health]") {
    Probed p(thresholds(/*rise=*/2, /*fall=*/3));
    CHECK(p.health.last_reason() == "assumed up until probed");
    REQUIRE_FALSE(p.feed(good(12)));
    CHECK(p.health.last_reason() == "latency 12 ms, success 100 %");  // no change of state, still a new reason
    REQUIRE_FALSE(p.feed(failed("HTTP 503")));
    CHECK(p.health.last_reason() == "HTTP 503 (1 in a row; down after 3)");
    p.take_down(3);
    CHECK(p.health.last_reason() == "HTTP 503");  // the change's own reason
    REQUIRE_FALSE(p.feed(good(8)));
    CHECK(p.health.last_reason() == "latency 8 ms, success 100 % (1 good in a row; up after 2)");
    REQUIRE_FALSE(p.feed(failed("timeout after 1000 ms")));
    CHECK(p.health.last_reason() == "timeout after 1000 ms");

    SECTION("an assignment that keeps the state still gives its wording") {
        REQUIRE_FALSE(p.health.assign(State::unhealthy, "state file says down", p.now));
        CHECK(p.health.last_reason() == "state file says down");
    }
}

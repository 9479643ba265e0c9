// Tests for adapt::Controller in synthetic time: the shed factor's watermarks, damping (every
// factor and share moves at most max_step per step), capacity spill from the answers sent, the
// latency EWMA, adaptive shares inside the band, the no-data fallback, no reversals in steady
// state, and state kept across new counters (a reload).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "adapt/controller.hpp"
#include "health/state.hpp"
#include "stats/counters.hpp"
#include "steer/feedback.hpp"
#include "steer/policy.hpp"

using meridian::adapt::Controller;
using meridian::adapt::Settings;
using meridian::adapt::shed_factor;
using meridian::health::HealthBoard;
using meridian::health::RegionHealth;
using meridian::stats::SteerStats;
using meridian::steer::FeedbackBoard;
using meridian::steer::kNoWeight;
using meridian::steer::Policy;
using meridian::steer::Region;
using meridian::steer::Route;
using meridian::steer::SteeredName;
using meridian::steer::Strategy;

namespace {

// A zone with regions a, b, c and one name whose single route lists them all.
struct Zone {
    Policy policy;
    std::unique_ptr<HealthBoard> health;
    std::unique_ptr<SteerStats> sent;
    std::unique_ptr<FeedbackBoard> board;

    explicit Zone(Strategy strategy, const std::vector<uint32_t>& weights = {1, 1, 1}) {
        SteeredName name;
        name.owner = std::string("\3www\7example\0", 13);
        Route route;
        route.strategy = strategy;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            Region r;
            r.name = std::string(1, static_cast<char>('a' + i));
            policy.regions.push_back(std::move(r));
            route.targets.push_back({static_cast<uint32_t>(i), weights[i]});
        }
        policy.target_slots = static_cast<uint32_t>(weights.size());
        name.routes.push_back(std::move(route));
        policy.names.push_back(std::move(name));
        renew_counters();
    }
    Route& route() { return policy.names[0].routes[0]; }
    void renew_counters() {
        health = std::make_unique<HealthBoard>(policy.regions.size());
        sent = std::make_unique<SteerStats>(std::vector<std::size_t>{1}, policy.regions.size());
        board = std::make_unique<FeedbackBoard>(policy.regions.size(), policy.target_slots);
    }
    void latency(uint32_t region, uint32_t ms) {
        RegionHealth h = health->read(region);
        h.has_measurement = true;
        h.latency_ms = ms;
        health->write(region, h);
    }
    void load(uint32_t region, double value) {
        RegionHealth h = health->read(region);
        h.has_load = true;
        h.load_centi = static_cast<uint32_t>(std::lround(value * 100));
        health->write(region, h);
    }
    void send(uint32_t region, int answers) {
        for (int i = 0; i < answers; ++i) sent->count(0, 0, &region, 1);
    }
    void step(Controller& c, double now) { c.step("example.", policy, *health, *sent, board.get(), now); }
    double weight(std::size_t slot) const { return board->weight(slot) / 1e6; }
};

}  // namespace

TEST_CASE("shed factor: whole at or below low, none at or above high, linear between", "[adapt]") {
    CHECK(shed_factor(10, 60, 90) == 1.0);
    CHECK(shed_factor(60, 60, 90) == 1.0);
    CHECK(shed_factor(75, 60, 90) == Approx(0.5));
    CHECK(shed_factor(84, 60, 90) == Approx(0.2));
    CHECK(shed_factor(90, 60, 90) == 0.0);
    CHECK(shed_factor(500, 60, 90) == 0.0);
}

TEST_CASE("a region's load factor follows its reported load, at most max_step per step", "[adapt]") {
    Zone z(Strategy::failover);
    z.policy.regions[0].has_shed = true;
    z.policy.regions[0].shed_low = 60;
    z.policy.regions[0].shed_high = 90;
    Controller c(Settings{0.1});
    z.step(c, 0);
    CHECK(z.board->region(0).load_factor == 1000);  // no load reported: whole
    z.load(0, 95);                                  // far above high: target 0
    std::vector<uint16_t> seen;
    for (int s = 1; s <= 12; ++s) {
        z.step(c, s * 2.0);
        seen.push_back(z.board->region(0).load_factor);
    }
    CHECK(seen.front() == 900);  // one step of 0.1, never all at once
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i - 1] - seen[i] <= 100);
    CHECK(seen.back() == 0);
    z.load(0, 75);  // back between the watermarks: target 0.5
    for (int s = 13; s <= 30; ++s) z.step(c, s * 2.0);
    CHECK(z.board->region(0).load_factor == 500);
    CHECK(z.board->region(1).load_factor == 1000);  // b has no watermarks
}

TEST_CASE("capacity: the factor settles where the answers sent meet the capacity", "[adapt]") {
    Zone z(Strategy::failover);
    z.policy.regions[0].capacity = 100;  // answers per second
    Controller c(Settings{0.1});
    z.step(c, 0);
    // Geography offers a 400 answers per second; it takes factor × 400 (the rest spills).
    double now = 0;
    for (int s = 0; s < 60; ++s) {
        const double factor = z.board->region(0).capacity_factor / 1000.0;
        now += 2;
        z.send(0, static_cast<int>(std::lround(400 * 2 * factor)));
        z.step(c, now);
    }
    CHECK(z.board->region(0).capacity_factor == Approx(250).margin(15));  // 100 / 400
    CHECK(z.board->region(1).capacity_factor == 1000);                    // no capacity: whole
    // Demand falls to 50 per second: the factor returns to whole, step by step.
    std::vector<uint16_t> seen;
    for (int s = 0; s < 40; ++s) {
        const double factor = z.board->region(0).capacity_factor / 1000.0;
        now += 2;
        z.send(0, static_cast<int>(std::lround(50 * 2 * factor)));
        z.step(c, now);
        seen.push_back(z.board->region(0).capacity_factor);
    }
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] - seen[i - 1] <= 100);
    CHECK(seen.back() == 1000);
}

TEST_CASE("shedding does not read as more demand: the capacity factor uses the factors the answers were sent under",
          "[adapt]") {
    Zone z(Strategy::failover);
    z.policy.regions[0].capacity = 100;
    z.policy.regions[0].has_shed = true;
    z.policy.regions[0].shed_low = 60;
    z.policy.regions[0].shed_high = 90;
    Controller c(Settings{0.10});
    z.load(0, 10);
    z.step(c, 0);
    // Offered 200 answers per second; the region takes capacity factor × load factor of them.
    double now = 0;
    const auto run = [&](int steps) {
        for (int s = 0; s < steps; ++s) {
            const auto r = z.board->region(0);
            now += 2;
            z.send(0, static_cast<int>(std::lround(200 * 2 * r.capacity_factor / 1000.0 * r.load_factor / 1000.0)));
            z.step(c, now);
        }
    };
    run(60);
    REQUIRE(z.board->region(0).capacity_factor == Approx(500).margin(2));  // 100 / 200
    // The region reports more load: its load factor falls step by step to 0.5. Demand is what it
    // was, so the capacity factor stays where it is on every step, the first one included.
    z.load(0, 75);
    for (int s = 0; s < 8; ++s) {
        run(1);
        CHECK(z.board->region(0).capacity_factor == Approx(500).margin(2));
    }
    CHECK(z.board->region(0).load_factor == 500);
}

TEST_CASE("capacity below demand never flips a region off at once", "[adapt]") {
    Zone z(Strategy::failover);
    z.policy.regions[0].capacity = 1;
    Controller c(Settings{0.25});
    z.step(c, 0);
    z.send(0, 10000);
    z.step(c, 1);
    CHECK(z.board->region(0).capacity_factor == 750);
}

TEST_CASE("new counters after a reload are measured from their own start", "[adapt]") {
    Zone z(Strategy::failover);
    z.policy.regions[0].capacity = 100;
    Controller c(Settings{0.1});
    double now = 0;
    const auto steady = [&](int steps) {
        for (int s = 0; s < steps; ++s) {
            now += 2;
            z.send(0, 160);  // 80 answers per second: under the capacity
            z.step(c, now);
            CHECK(z.board->region(0).capacity_factor == 1000);
        }
    };
    z.step(c, now);
    steady(5);
    z.renew_counters();  // a reload: counters from zero and a fresh board
    now += 2;
    z.step(c, now);  // a smaller count than before is not a rate
    CHECK(z.board->region(0).capacity_factor == 1000);
    steady(5);
    // What was learned is carried by name: a factor below whole survives the reload too.
    z.send(0, 2000);
    now += 2;
    z.step(c, now);
    const uint16_t learned = z.board->region(0).capacity_factor;
    CHECK(learned == 900);
    z.renew_counters();
    now += 2;
    z.step(c, now);
    CHECK(z.board->region(0).capacity_factor == learned);
}

TEST_CASE("the latency EWMA follows probes with the route's time constant", "[adapt]") {
    Zone z(Strategy::adaptive);
    z.route().time_constant_ms = 10000;
    Controller c(Settings{0.1});
    z.latency(0, 100);
    z.step(c, 0);
    CHECK(z.board->region(0).has_latency);
    CHECK(z.board->region(0).latency_tenths_ms == 1000);  // the first sample is taken as it is
    z.latency(0, 200);
    z.step(c, 10);  // one time constant: 1 − 1/e of the way
    CHECK(z.board->region(0).latency_tenths_ms / 10.0 == Approx(100 + 100 * (1 - std::exp(-1.0))).margin(0.2));
    CHECK_FALSE(z.board->region(1).has_latency);
}

TEST_CASE("adaptive: with no measurement the configured weights stand", "[adapt]") {
    Zone z(Strategy::adaptive, {3, 1, 1});
    Controller c(Settings{0.1});
    z.step(c, 0);
    for (std::size_t i = 0; i < 3; ++i) CHECK(z.board->weight(i) == kNoWeight);
}

TEST_CASE("adaptive: shares move toward the regions inside the band, bounded per step", "[adapt]") {
    Zone z(Strategy::adaptive);
    z.route().band_ms = 20;
    z.route().band_percent = 0;
    Controller c(Settings{0.1});
    z.latency(0, 40);
    z.latency(1, 50);   // inside: best + 20 ms
    z.latency(2, 120);  // outside
    z.step(c, 0);
    // Shares start at the configured third each and the largest move is 0.1.
    CHECK(z.weight(2) == Approx(1.0 / 3 - 0.1).margin(1e-4));
    double previous_c = z.weight(2);
    for (int s = 1; s < 30; ++s) {
        z.step(c, s * 2.0);
        CHECK(previous_c - z.weight(2) <= 0.1 + 1e-6);
        previous_c = z.weight(2);
    }
    // Targets: a 1 × 40/40, b 1 × 40/50, c 0 → a 5/9, b 4/9.
    CHECK(z.weight(0) == Approx(5.0 / 9).margin(0.006));
    CHECK(z.weight(1) == Approx(4.0 / 9).margin(0.006));
    CHECK(z.weight(2) == Approx(0).margin(0.006));
    CHECK(c.reversals() == 0);
}

TEST_CASE("adaptive: a percentage band, and steady noise makes no reversals", "[adapt]") {
    Zone z(Strategy::adaptive, {1, 1});
    z.route().band_percent = 50;
    Controller c(Settings{0.1});
    // b's latency wanders ±1 ms around 30, a stays at 25: b within 50 % of the best.
    for (int s = 0; s < 200; ++s) {
        z.latency(0, 25);
        z.latency(1, s % 2 == 0 ? 29 : 31);
        z.step(c, s * 2.0);
    }
    CHECK(z.weight(0) == Approx(30.0 / 55).margin(0.01));  // 1 × 25/25 : 1 × 25/30
    CHECK(c.reversals() == 0);
    // A real change: b becomes twice as slow as a (outside 50 %), and its share goes to a.
    for (int s = 200; s < 230; ++s) {
        z.latency(0, 25);
        z.latency(1, 60);
        z.step(c, s * 2.0);
    }
    CHECK(z.weight(0) == Approx(1.0).margin(0.01));
    CHECK(z.weight(1) == Approx(0).margin(0.01));
}

TEST_CASE("forgotten regions start again from whole factors", "[adapt]") {
    Zone z(Strategy::failover);
    z.policy.regions[0].capacity = 1;
    Controller c(Settings{0.5});
    z.step(c, 0);
    z.send(0, 1000);
    z.step(c, 1);
    REQUIRE(c.region("example.", "a") != nullptr);
    CHECK(c.region("example.", "a")->capacity_factor == Approx(0.5));
    c.forget_older_than(2);
    CHECK(c.region("example.", "a") == nullptr);
}

TEST_CASE("cost: the commit is counted per period from the epoch, in its unit, and marks the region used up",
          "[adapt][cost]") {
    Zone z(Strategy::cost);
    Region& a = z.policy.regions[0];
    a.has_cost = true;
    a.cost = 0.02;
    a.cost_unit = meridian::steer::CostUnit::gb;
    a.gb_per_answer = 0.5;
    a.commit = 100;  // GB: 200 answers
    a.commit_period_ms = 3600 * 1000;
    Controller c(Settings{});
    const double hour = 3600;
    const double start = 1000 * hour + 10;  // 10 s into a period
    c.step("example.", z.policy, *z.health, *z.sent, z.board.get(), 0, start);
    z.send(0, 150);
    c.step("example.", z.policy, *z.health, *z.sent, z.board.get(), 2, start + 2);
    const auto* s = c.region("example.", "a");
    REQUIRE(s != nullptr);
    CHECK(s->period == 1000);
    CHECK(s->period_answers == 150);
    CHECK(s->period_volume == Approx(75));
    CHECK_FALSE(z.board->region(0).is_commit_used);
    z.send(0, 50);
    c.step("example.", z.policy, *z.health, *z.sent, z.board.get(), 4, start + 4);
    CHECK(c.region("example.", "a")->period_volume == Approx(100));
    CHECK(z.board->region(0).is_commit_used);  // 100 GB of 100
    CHECK_FALSE(z.board->region(1).is_commit_used);  // b has no cost: never

    SECTION("a new period starts from nothing") {
        z.send(0, 10);
        c.step("example.", z.policy, *z.health, *z.sent, z.board.get(), 6, 1001 * hour + 1);
        CHECK(c.region("example.", "a")->period == 1001);
        CHECK(c.region("example.", "a")->period_answers == 10);
        CHECK_FALSE(z.board->region(0).is_commit_used);
    }
    SECTION("new counters after a reload count from zero, not as a loss") {
        z.renew_counters();
        z.send(0, 5);
        c.step("example.", z.policy, *z.health, *z.sent, z.board.get(), 6, start + 6);
        CHECK(c.region("example.", "a")->period_answers == 205);
    }
}

// Tests for the health-aware part of steer/decide (docs/HEALTH.md, "Answers"): pruning of
// unhealthy, overridden and too-slow candidates, degraded ones held back, the next matching route,
// the fail policies, pruned_ttl, the latency / performance / least_loaded strategies and the
// what-if of Trace::assume_down. The health board is written directly; clients are matched by
// CIDR sets only, so no geo database is needed. Randomness is injected (seeded Random).
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/wire.hpp"
#include "health/health_test_support.hpp"
#include "health/state.hpp"
#include "steer/decide.hpp"
#include "steer/policy.hpp"
#include "common/random.hpp"
#include "test_support.hpp"

using meridian::health::HealthBoard;
using meridian::health::Override;
using meridian::health::RegionHealth;
using meridian::health::State;
using meridian::steer::ClientAddress;
using meridian::steer::Condition;
using meridian::steer::DegradedUse;
using meridian::steer::Decision;
using meridian::steer::FailPolicy;
using meridian::steer::Policy;
using meridian::Random;
using meridian::steer::Region;
using meridian::steer::Route;
using meridian::steer::SteeredName;
using meridian::steer::Strategy;
using meridian::steer::Trace;
namespace rrtype = meridian::dns::rrtype;

namespace {

using Names = std::vector<std::string>;

constexpr uint32_t kTtl = 300;
constexpr uint32_t kPrunedTtl = 10;

ClientAddress client() {
    ClientAddress c;
    c.address = *meridian::geo::parse_address("192.0.2.77");
    c.source_prefix = 32;
    return c;
}

RegionHealth in_state(State state) {
    RegionHealth h;
    h.state = state;
    return h;
}

RegionHealth measured(uint32_t latency_ms, uint16_t success_permille = 1000, State state = State::healthy) {
    RegionHealth h;
    h.state = state;
    h.has_measurement = true;
    h.latency_ms = latency_ms;
    h.success_permille = success_permille;
    return h;
}

RegionHealth loaded(uint32_t load_centi) {
    RegionHealth h;
    h.has_load = true;
    h.load_centi = load_centi;
    return h;
}

RegionHealth overridden(State state, Override override) {
    RegionHealth h;
    h.state = state;
    h.override = override;
    return h;
}

// A policy and one steered name (ttl 300, pruned_ttl 10), with a health board written directly.
struct Fixture {
    Policy policy;
    std::shared_ptr<HealthBoard> health;  // the runtime beside the policy; null: every region healthy
    SteeredName name;

    Fixture() {
        name.ttl = kTtl;
        name.pruned_ttl = kPrunedTtl;
        name.fail = FailPolicy::closed;
    }

    // Region `n` answers 192.0.2.n (A only).
    uint32_t region(const std::string& region_name) {
        Region r;
        r.name = region_name;
        r.ipv4.push_back({192, 0, 2, static_cast<uint8_t>(policy.regions.size() + 1)});
        policy.regions.push_back(std::move(r));
        return static_cast<uint32_t>(policy.regions.size() - 1);
    }
    // Writes a region's slot; the board has one slot per region added so far.
    void set(uint32_t region_index, const RegionHealth& h) {
        if (!health) health = std::make_shared<HealthBoard>(policy.regions.size());
        REQUIRE(region_index < health->size());
        health->write(region_index, h);
    }
    Route& route(Strategy strategy, const std::vector<uint32_t>& regions, Condition when = {}) {
        Route r;
        r.when = std::move(when);
        r.strategy = strategy;
        for (const uint32_t i : regions) r.targets.push_back({i, 1});
        name.routes.push_back(std::move(r));
        return name.routes.back();
    }
    // A condition no client of these tests matches: 198.51.100.0/24.
    Condition elsewhere() {
        meridian::steer::CidrSet set;
        set.networks.push_back(*meridian::geo::parse_network("198.51.100.0/24", /*is_strict=*/true));
        policy.cidr_sets.push_back(std::move(set));
        Condition c;
        c.cidr_sets.push_back(static_cast<uint32_t>(policy.cidr_sets.size() - 1));
        return c;
    }

    Decision decide(Trace* trace = nullptr, uint16_t qtype = rrtype::A) const {
        Random random(1);
        return meridian::steer::decide(policy, health.get(), name, qtype, client(), nullptr, &random, trace);
    }
    Names names_of(const Decision& d) const {
        Names out;
        for (uint8_t i = 0; i < d.count; ++i) out.push_back(policy.regions[d.regions[i]].name);
        return out;
    }
};

// The trace line about one candidate, "" when there is none.
std::string candidate_line(const Trace& trace, const std::string& region) {
    for (const std::string& line : trace.lines) {
        if (line.rfind("candidate " + region + ":", 0) == 0) return line;
    }
    return "";
}

bool has_line_containing(const Trace& trace, const std::string& part) {
    for (const std::string& line : trace.lines) {
        if (line.find(part) != std::string::npos) return true;
    }
    return false;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---- pruning ----------------------------------------------------------------------------------

TEST_CASE("an unhealthy candidate is left out, the answer gets pruned_ttl and the trace says why", "[steer]") {
    Fixture f;
    const uint32_t a = f.region("a");
    const uint32_t b = f.region("b");
    f.route(Strategy::failover, {a, b});
    f.set(a, in_state(State::unhealthy));
    Trace trace;
    const Decision d = f.decide(&trace);
    CHECK(f.names_of(d) == Names{"b"});
    CHECK(d.route == 0);
    CHECK(d.is_pruned);
    CHECK(d.ttl == kPrunedTtl);
    CHECK(d.cname == nullptr);
    const std::string line = candidate_line(trace, "a");
    CAPTURE(line);
    CHECK(contains(line, "unhealthy"));
    CHECK(contains(line, "pruned: unhealthy"));
    CHECK_FALSE(contains(candidate_line(trace, "b"), "pruned"));
    // The same decision without a trace.
    const Decision quiet = f.decide();
    CHECK(f.names_of(quiet) == Names{"b"});
    CHECK(quiet.ttl == kPrunedTtl);
}

TEST_CASE("when nothing is left out the answer keeps the name's ttl", "[steer]") {
    SECTION("every region healthy on the board") {
        Fixture f;
        const uint32_t a = f.region("a");
        const uint32_t b = f.region("b");
        f.route(Strategy::failover, {a, b});
        f.set(a, in_state(State::healthy));
        const Decision d = f.decide();
        CHECK(f.names_of(d) == Names{"a"});
        CHECK_FALSE(d.is_pruned);
        CHECK(d.ttl == kTtl);
    }
    SECTION("a policy without a health board: every region is healthy") {
        Fixture f;
        f.route(Strategy::failover, {f.region("a"), f.region("b")});
        REQUIRE(f.health == nullptr);
        const Decision d = f.decide();
        CHECK(f.names_of(d) == Names{"a"});
        CHECK_FALSE(d.is_pruned);
        CHECK(d.ttl == kTtl);
    }
    SECTION("a region skipped for lacking AAAA records is not pruned for its health") {
        Fixture f;
        const uint32_t v4 = f.region("v4only");
        const uint32_t v6 = f.region("dual");
        f.policy.regions[v6].ipv6.push_back({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
        f.route(Strategy::failover, {v4, v6});
        f.set(v4, in_state(State::healthy));
        const Decision d = f.decide(nullptr, rrtype::AAAA);
        CHECK(f.names_of(d) == Names{"dual"});
        CHECK_FALSE(d.is_pruned);
        CHECK(d.ttl == kTtl);
    }
}

TEST_CASE("degraded candidates: held back while a healthy one remains, unless degraded = healthy or never says "
          "otherwise",
          "[steer]") {
    struct Row {
        const char* what;
        DegradedUse use;
        State a;
        State b;
        Names expected;
        bool is_pruned;
    };
    const Row rows[] = {
        {"fallback: a healthy one remains", DegradedUse::fallback, State::degraded, State::healthy, {"b"}, true},
        {"fallback: none healthy, the degraded answer", DegradedUse::fallback, State::degraded, State::degraded,
         {"a", "b"}, false},
        {"fallback: the other one unhealthy", DegradedUse::fallback, State::degraded, State::unhealthy, {"a"}, true},
        {"healthy: degraded like healthy", DegradedUse::healthy, State::degraded, State::healthy, {"a", "b"}, false},
        {"never: degraded left out", DegradedUse::never, State::degraded, State::healthy, {"b"}, true},
        {"never: all degraded, nothing left (fail closed)", DegradedUse::never, State::degraded, State::degraded, {}, true},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        Fixture f;
        f.name.answers = 2;
        f.name.degraded = row.use;
        const uint32_t a = f.region("a");
        const uint32_t b = f.region("b");
        f.route(Strategy::failover, {a, b});
        f.set(a, in_state(row.a));
        f.set(b, in_state(row.b));
        Trace trace;
        const Decision d = f.decide(&trace);
        CHECK(f.names_of(d) == row.expected);
        CHECK(d.is_pruned == row.is_pruned);
        CHECK(d.ttl == (row.is_pruned ? kPrunedTtl : kTtl));
        if (row.use == DegradedUse::fallback && row.b == State::healthy) {
            CHECK(has_line_containing(trace, "degraded candidates held back"));
        }
        if (row.use == DegradedUse::never) CHECK(contains(candidate_line(trace, "a"), "pruned: unhealthy"));
    }
}

TEST_CASE("overrides: force_up serves a region whatever its state, force_down and drain leave it out", "[steer]") {
    struct Row {
        const char* what;
        RegionHealth a;
        Names expected;
        const char* reason;  // in the trace line of a, "" when a is kept
    };
    const Row rows[] = {
        {"force_up on an unhealthy region", overridden(State::unhealthy, Override::force_up), {"a", "b"}, ""},
        {"force_up on a degraded region: used like a healthy one", overridden(State::degraded, Override::force_up),
         {"a", "b"}, ""},
        {"force_down on a healthy region", overridden(State::healthy, Override::force_down), {"b"}, "pruned: forced down"},
        {"drain on a healthy region", overridden(State::healthy, Override::drain), {"b"}, "pruned: drained"},
        {"no override on an unhealthy region", overridden(State::unhealthy, Override::none), {"b"}, "pruned: unhealthy"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        Fixture f;
        f.name.answers = 2;
        const uint32_t a = f.region("a");
        const uint32_t b = f.region("b");
        f.route(Strategy::failover, {a, b});
        f.set(a, row.a);
        Trace trace;
        const Decision d = f.decide(&trace);
        CHECK(f.names_of(d) == row.expected);
        const bool is_pruned = row.reason[0] != '\0';
        CHECK(d.is_pruned == is_pruned);
        CHECK(d.ttl == (is_pruned ? kPrunedTtl : kTtl));
        const std::string line = candidate_line(trace, "a");
        CAPTURE(line);
        if (is_pruned) CHECK(contains(line, row.reason));
        else CHECK_FALSE(contains(line, "pruned"));
    }
}

TEST_CASE("max_latency_ms leaves out candidates measured slower, never unmeasured ones or those at the limit",
          "[steer]") {
    Fixture f;
    const uint32_t slow = f.region("slow");
    const uint32_t unmeasured = f.region("unmeasured");
    const uint32_t at_limit = f.region("at-limit");
    const uint32_t just_over = f.region("just-over");
    const uint32_t fast = f.region("fast");
    Route& route = f.route(Strategy::all, {slow, unmeasured, at_limit, just_over, fast});
    f.set(slow, measured(200));
    RegionHealth no_measurement;
    no_measurement.latency_ms = 999;  // not measured: the figure means nothing
    f.set(unmeasured, no_measurement);
    f.set(at_limit, measured(150));
    f.set(just_over, measured(151));
    f.set(fast, measured(20));

    SECTION("max_latency_ms = 150") {
        route.max_latency_ms = 150;
        Trace trace;
        const Decision d = f.decide(&trace);
        CHECK(f.names_of(d) == Names{"unmeasured", "at-limit", "fast"});
        CHECK(d.is_pruned);
        CHECK(d.ttl == kPrunedTtl);
        CHECK(contains(candidate_line(trace, "slow"), "pruned: too slow"));
        CHECK(contains(candidate_line(trace, "just-over"), "pruned: too slow"));
    }
    SECTION("no limit: every candidate") {
        const Decision d = f.decide();
        CHECK(f.names_of(d) == Names{"slow", "unmeasured", "at-limit", "just-over", "fast"});
        CHECK_FALSE(d.is_pruned);
        CHECK(d.ttl == kTtl);
    }
}

// ---- routes and fail policies -----------------------------------------------------------------

TEST_CASE("when the first matching route has nothing left, the next matching route answers", "[steer]") {
    Fixture f;
    const uint32_t other = f.region("other");
    const uint32_t a = f.region("a");
    const uint32_t b = f.region("b");
    const uint32_t c = f.region("c");
    f.route(Strategy::failover, {other}, f.elsewhere());  // healthy, but not for this client
    f.route(Strategy::failover, {a, b});
    f.route(Strategy::failover, {c});
    f.set(a, in_state(State::unhealthy));
    f.set(b, overridden(State::healthy, Override::drain));
    Trace trace;
    const Decision d = f.decide(&trace);
    CHECK(f.names_of(d) == Names{"c"});
    CHECK(d.route == 2);
    CHECK(d.is_pruned);
    CHECK(d.ttl == kPrunedTtl);
    CHECK(has_line_containing(trace, "route 2: no candidate left, trying the next route"));
}

TEST_CASE("when no matching route has anything left, the fail policy answers", "[steer]") {
    struct Row {
        const char* what;
        FailPolicy fail;
        int route;
        Names expected;
        bool has_cname;
        const char* trace_says;
    };
    const Row rows[] = {
        {"open: the first matching route's regions as if healthy", FailPolicy::open, 1, {"a", "b"}, false,
         "fail open with route 2"},
        {"closed: NODATA", FailPolicy::closed, -1, {}, false, "fail closed (NODATA)"},
        {"region: the fallback region", FailPolicy::region, -1, {"fallback"}, false, "the fallback region fallback"},
        {"cname: the fallback CNAME", FailPolicy::cname, -1, {}, true, "the fallback CNAME"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        Fixture f;
        f.name.answers = 2;
        f.name.fail = row.fail;
        f.name.fail_cname = meridian::test::wire("static.example.org");
        const uint32_t other = f.region("other");
        const uint32_t a = f.region("a");
        const uint32_t b = f.region("b");
        const uint32_t c = f.region("c");
        const uint32_t fallback = f.region("fallback");
        f.name.fail_region = fallback;
        f.route(Strategy::failover, {other}, f.elsewhere());
        f.route(Strategy::failover, {a, b});
        f.route(Strategy::failover, {c});
        f.set(a, in_state(State::unhealthy));
        f.set(b, overridden(State::healthy, Override::force_down));
        f.set(c, in_state(State::unhealthy));
        f.set(fallback, in_state(State::unhealthy));  // the fail region answers whatever its health
        Trace trace;
        const Decision d = f.decide(&trace);
        CHECK(f.names_of(d) == row.expected);
        CHECK(d.route == row.route);
        CHECK(d.is_pruned);
        CHECK(d.ttl == kPrunedTtl);
        if (row.has_cname) {
            REQUIRE(d.cname != nullptr);
            CHECK(d.cname == &f.name.fail_cname);
            CHECK(*d.cname == meridian::test::wire("static.example.org"));
        } else {
            CHECK(d.cname == nullptr);
        }
        CHECK(has_line_containing(trace, row.trace_says));
    }
}

// ---- health-aware strategies ------------------------------------------------------------------

TEST_CASE("latency: lowest measured latency first, unmeasured regions last in route order", "[steer]") {
    Fixture f;
    f.name.answers = 5;
    const uint32_t a = f.region("a");
    const uint32_t u1 = f.region("u1");
    const uint32_t b = f.region("b");
    const uint32_t u2 = f.region("u2");
    const uint32_t c = f.region("c");
    const uint32_t down = f.region("down");
    f.route(Strategy::latency, {a, u1, b, u2, c, down});
    f.set(a, measured(80));
    f.set(b, measured(20));
    f.set(c, measured(50));
    f.set(down, measured(5, 1000, State::unhealthy));  // fastest, but pruned before the strategy
    const Decision d = f.decide();
    CHECK(f.names_of(d) == Names{"b", "c", "a", "u1", "u2"});
    CHECK(d.is_pruned);

    SECTION("answers = 1: the fastest healthy one") {
        f.name.answers = 1;
        CHECK(f.names_of(f.decide()) == Names{"b"});
    }
}

TEST_CASE("performance: latency + (1 − success) × 1000 ms; 50 ms at 50 % loses to 120 ms at 100 %", "[steer]") {
    SECTION("the example of docs/HEALTH.md") {
        Fixture f;
        const uint32_t flaky = f.region("flaky");
        const uint32_t steady = f.region("steady");
        f.route(Strategy::performance, {flaky, steady});
        f.set(flaky, measured(50, 500));    // 50 + 500 = 550
        f.set(steady, measured(120, 1000)); // 120
        CHECK(f.names_of(f.decide()) == Names{"steady"});
    }
    SECTION("the full order, and 100 % success does not make latency irrelevant") {
        Fixture f;
        f.name.answers = 5;
        const uint32_t a = f.region("a");
        const uint32_t b = f.region("b");
        const uint32_t d = f.region("d");
        const uint32_t c = f.region("c");
        const uint32_t e = f.region("e");
        f.route(Strategy::performance, {a, b, d, c, e});
        f.set(a, measured(50, 500));   // 550
        f.set(b, measured(120, 1000)); // 120
        f.set(d, measured(10, 900));   // 10 + 100 = 110
        f.set(c, measured(30, 1000));  // 30 (the naive latency × (1 − success) would tie b and c at 0)
        // e: unmeasured, last
        CHECK(f.names_of(f.decide()) == Names{"c", "d", "b", "a", "e"});
    }
}

TEST_CASE("least_loaded: lowest reported load first, regions without a load last in route order", "[steer]") {
    Fixture f;
    f.name.answers = 5;
    const uint32_t a = f.region("a");
    const uint32_t none1 = f.region("none1");
    const uint32_t c = f.region("c");
    const uint32_t d = f.region("d");
    const uint32_t none2 = f.region("none2");
    f.route(Strategy::least_loaded, {a, none1, c, d, none2});
    f.set(a, loaded(250));
    f.set(c, loaded(75));
    f.set(d, loaded(100));
    f.set(none1, measured(1));  // a measurement is not a load
    const Decision decision = f.decide();
    CHECK(f.names_of(decision) == Names{"c", "d", "a", "none1", "none2"});
    CHECK_FALSE(decision.is_pruned);
    CHECK(decision.ttl == kTtl);
}

// ---- what-if ----------------------------------------------------------------------------------

TEST_CASE("Trace::assume_down prunes a healthy region with \"assumed down (what-if)\"", "[steer]") {
    Fixture f;
    f.name.answers = 2;
    const uint32_t a = f.region("a");
    const uint32_t b = f.region("b");
    const uint32_t c = f.region("c");
    f.route(Strategy::failover, {a, b, c});
    f.set(a, in_state(State::healthy));
    Trace trace;
    trace.assume_down = {"a"};
    const Decision d = f.decide(&trace);
    CHECK(f.names_of(d) == Names{"b", "c"});
    CHECK(d.is_pruned);
    CHECK(d.ttl == kPrunedTtl);
    const std::string line = candidate_line(trace, "a");
    CAPTURE(line);
    CHECK(contains(line, "pruned: assumed down (what-if)"));

    SECTION("the same policy answers with a when nothing is assumed") {
        Trace plain;
        const Decision real = f.decide(&plain);
        CHECK(f.names_of(real) == Names{"a", "b"});
        CHECK_FALSE(real.is_pruned);
    }
}

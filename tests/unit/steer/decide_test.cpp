// Tests for steer/decide: route matching on geo facts and CIDR sets, each strategy (weighted,
// failover, all, nearest, sticky), address-family filtering and the ECS scope of a decision.
// Policies are built directly; client facts come from the test database (geoip/test-geo.csv).
// Randomness is injected: every Random below is seeded by the test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/wire.hpp"
#include "geo/database.hpp"
#include "geo/distance.hpp"
#include "geo/geo_databases.hpp"
#include "steer/decide.hpp"
#include "steer/policy.hpp"
#include "common/random.hpp"
#include "test_support.hpp"

using meridian::geo::GeoDatabases;
using meridian::steer::ClientAddress;
using meridian::steer::Condition;
using meridian::steer::Decision;
using meridian::steer::kMaxAnswers;
using meridian::steer::Policy;
using meridian::Random;
using meridian::steer::Region;
using meridian::steer::Route;
using meridian::steer::SteeredName;
using meridian::steer::Strategy;
namespace rrtype = meridian::dns::rrtype;

namespace {

const GeoDatabases& test_geo() {
    static const GeoDatabases databases = [] {
        std::string error;
        std::shared_ptr<const meridian::geo::Database> db =
            meridian::geo::Database::open(MERIDIAN_TEST_MMDB, {}, &error);
        INFO(error);
        REQUIRE(db != nullptr);
        GeoDatabases d;
        d.add(db);
        return d;
    }();
    return databases;
}

meridian::geo::IpAddress ip(const char* text) {
    const auto a = meridian::geo::parse_address(text);
    REQUIRE(a.has_value());
    return *a;
}

// A client located by its packet source: every bit counts.
ClientAddress source(const char* text) {
    ClientAddress c;
    c.address = ip(text);
    c.source_prefix = static_cast<uint8_t>(c.address.width());
    return c;
}

// A client located by ECS: "ADDRESS/SOURCE".
ClientAddress ecs(const char* text) {
    const auto n = meridian::geo::parse_network(text, /*is_strict=*/true);
    REQUIRE(n.has_value());
    ClientAddress c;
    c.address = n->address;
    c.source_prefix = n->prefix_length;
    c.is_from_ecs = true;
    return c;
}

template <std::size_t N>
meridian::geo::Code<N> code(const char* text) {
    meridian::geo::Code<N> c;
    c.assign(text);
    return c;
}

meridian::steer::Subdivision subdivision(const char* country, const char* code_text) {
    return {code<2>(country), code<3>(code_text)};
}

struct Place {
    double latitude;
    double longitude;
};
constexpr Place kDublin{53.3498, -6.2603};
constexpr Place kFrankfurt{50.1109, 8.6821};
constexpr Place kNewYork{40.7128, -74.0060};
constexpr Place kLondonClient{51.5142, -0.0931};  // 81.2.69.0/24 in the test database

// A policy and one steered name, built region by region and route by route.
struct Fixture {
    Policy policy;
    SteeredName name;

    // Region `n` answers 192.0.2.n and 2001:db8::n unless told otherwise.
    uint32_t region(const std::string& region_name, uint32_t weight = 1) {
        Region r;
        r.name = region_name;
        const auto n = static_cast<uint8_t>(policy.regions.size() + 1);
        r.ipv4.push_back({192, 0, 2, n});
        std::array<uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
        v6[15] = n;
        r.ipv6.push_back(v6);
        r.weight = weight;
        policy.regions.push_back(std::move(r));
        return static_cast<uint32_t>(policy.regions.size() - 1);
    }
    uint32_t located(const std::string& region_name, Place place, double bias = 0) {
        const uint32_t i = region(region_name);
        policy.regions[i].has_location = true;
        policy.regions[i].latitude = place.latitude;
        policy.regions[i].longitude = place.longitude;
        policy.regions[i].bias = bias;
        return i;
    }
    // A route to `regions` in this order, each with its region's weight.
    Route& route(Strategy strategy, const std::vector<uint32_t>& regions, Condition when = {}) {
        Route r;
        r.when = std::move(when);
        r.strategy = strategy;
        for (const uint32_t i : regions) r.targets.push_back({i, policy.regions[i].weight});
        name.routes.push_back(std::move(r));
        return name.routes.back();
    }
    uint32_t cidr_set(const std::vector<const char*>& networks) {
        meridian::steer::CidrSet set;
        for (const char* text : networks) {
            const auto n = meridian::geo::parse_network(text, /*is_strict=*/true);
            REQUIRE(n.has_value());
            set.networks.push_back(*n);
        }
        policy.cidr_sets.push_back(std::move(set));
        return static_cast<uint32_t>(policy.cidr_sets.size() - 1);
    }
    uint32_t location_set(meridian::steer::LocationSet set) {
        policy.location_sets.push_back(std::move(set));
        return static_cast<uint32_t>(policy.location_sets.size() - 1);
    }

    Decision decide(const ClientAddress& client, uint16_t qtype = rrtype::A, uint64_t seed = 1,
                    meridian::steer::Trace* trace = nullptr) const {
        Random random(seed);
        return meridian::steer::decide(policy, nullptr, name, qtype, client, &test_geo(), &random, trace);
    }
    Decision decide(const ClientAddress& client, Random* random, uint16_t qtype = rrtype::A) const {
        return meridian::steer::decide(policy, nullptr, name, qtype, client, &test_geo(), random, nullptr);
    }

    std::vector<std::string> names_of(const Decision& d) const {
        std::vector<std::string> out;
        for (uint8_t i = 0; i < d.count; ++i) out.push_back(policy.regions[d.regions[i]].name);
        return out;
    }
    std::string first(const Decision& d) const { return d.count == 0 ? "" : policy.regions[d.regions[0]].name; }
};

using Names = std::vector<std::string>;

// A condition filled by `fill` (designated initializers would leave fields uninitialised-looking).
template <typename Fill>
Condition when(Fill fill) {
    Condition c;
    fill(c);
    return c;
}

}  // namespace

// ---- weighted ---------------------------------------------------------------------------------

TEST_CASE("weighted: over 20,000 seeded draws the shares converge to weights 3:1 within ±2 points", "[steer]") {
    Fixture f;
    const uint32_t a = f.region("a", 3);
    const uint32_t b = f.region("b", 1);
    f.route(Strategy::weighted, {a, b});
    // The expected share is 75%; with 20,000 draws one standard deviation is 0.31 points, so
    // ±2 points fails only for a broken choice, never by chance.
    for (const uint64_t seed : {uint64_t{1}, uint64_t{42}, uint64_t{0xDEADBEEF}, uint64_t{0}}) {
        CAPTURE(seed);
        Random random(seed);
        std::map<std::string, int> counts;
        for (int i = 0; i < 20000; ++i) {
            const Decision d = f.decide(source("81.2.69.1"), &random);
            REQUIRE(d.count == 1);
            REQUIRE(d.route == 0);
            ++counts[f.first(d)];
        }
        CHECK(counts["a"] + counts["b"] == 20000);
        CHECK(counts["a"] / 20000.0 == Approx(0.75).margin(0.02));
        CHECK(counts["b"] / 20000.0 == Approx(0.25).margin(0.02));
    }
}

TEST_CASE("weighted: the same seed gives the same sequence of choices", "[steer]") {
    Fixture f;
    f.route(Strategy::weighted, {f.region("a"), f.region("b"), f.region("c")});
    Random one(7), two(7);
    std::vector<std::string> first_run, second_run;
    for (int i = 0; i < 200; ++i) {
        first_run.push_back(f.first(f.decide(source("192.0.2.1"), &one)));
        second_run.push_back(f.first(f.decide(source("192.0.2.1"), &two)));
    }
    CHECK(first_run == second_run);
    CHECK(std::count(first_run.begin(), first_run.end(), "a") > 0);  // not a constant answer
    CHECK(std::count(first_run.begin(), first_run.end(), "b") > 0);
    CHECK(std::count(first_run.begin(), first_run.end(), "c") > 0);
}

TEST_CASE("weighted with answers=2 draws without replacement; the first pick follows the weights (±2 points)",
          "[steer]") {
    Fixture f;
    f.name.answers = 2;
    const uint32_t a = f.region("a", 3);
    const uint32_t b = f.region("b", 1);
    const uint32_t c = f.region("c", 1);
    f.route(Strategy::weighted, {a, b, c});
    Random random(2026);
    std::map<std::string, int> first_picks;
    for (int i = 0; i < 20000; ++i) {
        const Decision d = f.decide(source("81.2.69.1"), &random);
        REQUIRE(d.count == 2);
        REQUIRE(d.regions[0] != d.regions[1]);
        ++first_picks[f.first(d)];
    }
    CHECK(first_picks["a"] / 20000.0 == Approx(0.6).margin(0.02));
    CHECK(first_picks["b"] / 20000.0 == Approx(0.2).margin(0.02));
    CHECK(first_picks["c"] / 20000.0 == Approx(0.2).margin(0.02));
}

TEST_CASE("weighted: a region of weight 0 is never the first pick while others have weight", "[steer]") {
    Fixture f;
    const uint32_t zero = f.region("zero", 0);
    const uint32_t one = f.region("one", 1);
    f.route(Strategy::weighted, {zero, one});
    Random random(99);
    for (int i = 0; i < 1000; ++i) CHECK(f.first(f.decide(source("192.0.2.1"), &random)) == "one");
}

TEST_CASE("weighted: answers larger than the candidates gives each candidate once", "[steer]") {
    Fixture f;
    f.name.answers = 5;
    f.route(Strategy::weighted, {f.region("a"), f.region("b")});
    for (uint64_t seed = 1; seed < 50; ++seed) {
        const Decision d = f.decide(source("192.0.2.1"), rrtype::A, seed);
        REQUIRE(d.count == 2);
        CHECK(d.regions[0] != d.regions[1]);
    }
}

// ---- failover and all -------------------------------------------------------------------------

TEST_CASE("failover answers in the route's order", "[steer]") {
    Fixture f;
    const uint32_t a = f.region("a");
    const uint32_t b = f.region("b");
    const uint32_t c = f.region("c");
    f.route(Strategy::failover, {c, a, b});
    SECTION("answers=1: the first") {
        for (uint64_t seed = 1; seed < 20; ++seed) CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::A, seed)) == Names{"c"});
    }
    SECTION("answers=2: the first two") {
        f.name.answers = 2;
        CHECK(f.names_of(f.decide(source("8.8.8.8"))) == Names{"c", "a"});
    }
}

TEST_CASE("all answers every candidate in route order, at most kMaxAnswers", "[steer]") {
    Fixture f;
    f.name.answers = 1;  // ignored by `all`
    std::vector<uint32_t> regions;
    for (int i = 0; i < 3; ++i) regions.push_back(f.region("r" + std::to_string(i)));
    f.route(Strategy::all, regions);
    CHECK(f.names_of(f.decide(source("8.8.8.8"))) == Names{"r0", "r1", "r2"});

    SECTION("20 candidates: the first 16") {
        Fixture big;
        std::vector<uint32_t> many;
        for (int i = 0; i < 20; ++i) many.push_back(big.region("r" + std::to_string(i)));
        big.route(Strategy::all, many);
        const Decision d = big.decide(source("8.8.8.8"));
        REQUIRE(d.count == kMaxAnswers);
        for (uint8_t i = 0; i < d.count; ++i) CHECK(d.regions[i] == many[i]);
    }
}

// ---- nearest ----------------------------------------------------------------------------------

TEST_CASE("great_circle_km measures distances on the sphere", "[steer]") {
    using meridian::geo::great_circle_km;
    CHECK(great_circle_km(51.5, -0.1, 51.5, -0.1) == Approx(0).margin(1e-9));
    // London–New York is about 5,570 km; half the circumference is π·R.
    CHECK(great_circle_km(51.5074, -0.1278, 40.7128, -74.0060) == Approx(5570).epsilon(0.01));
    CHECK(great_circle_km(0, 0, 0, 180) == Approx(3.14159265358979 * meridian::geo::kEarthRadiusKm));
    CHECK(great_circle_km(90, 0, -90, 0) == Approx(3.14159265358979 * meridian::geo::kEarthRadiusKm));
    CHECK(great_circle_km(10, 20, 30, 40) == Approx(great_circle_km(30, 40, 10, 20)));
    CHECK(great_circle_km(0, 179.5, 0, -179.5) == Approx(111.2).epsilon(0.01));  // across the date line
}

TEST_CASE("nearest: the region closest to the client by great-circle distance", "[steer]") {
    using meridian::geo::great_circle_km;
    // The premises the cases rely on, from the client's coordinates in the test database.
    const double dublin_km = great_circle_km(kLondonClient.latitude, kLondonClient.longitude, kDublin.latitude, kDublin.longitude);
    const double frankfurt_km =
        great_circle_km(kLondonClient.latitude, kLondonClient.longitude, kFrankfurt.latitude, kFrankfurt.longitude);
    REQUIRE(dublin_km < frankfurt_km);
    REQUIRE(frankfurt_km * 0.5 < dublin_km);  // a +50 bias halves Frankfurt's distance
    REQUIRE(dublin_km * 1.5 > frankfurt_km);  // a −50 bias makes Dublin's count 1.5 times

    struct Case {
        const char* description;
        double dublin_bias;
        double frankfurt_bias;
        Names expected;
    };
    const Case cases[] = {
        {"no bias: by distance", 0, 0, {"dublin", "frankfurt", "new-york"}},
        {"bias +50 on the farther Frankfurt wins it the client", 0, 50, {"frankfurt", "dublin", "new-york"}},
        {"bias -50 on the nearer Dublin loses it the client", -50, 0, {"frankfurt", "dublin", "new-york"}},
        {"bias +99 cannot bring New York closer than a biased Dublin", 99, 0, {"dublin", "frankfurt", "new-york"}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.description);
        Fixture f;
        f.name.answers = 3;
        const uint32_t new_york = f.located("new-york", kNewYork);
        const uint32_t frankfurt = f.located("frankfurt", kFrankfurt, c.frankfurt_bias);
        const uint32_t dublin = f.located("dublin", kDublin, c.dublin_bias);
        f.route(Strategy::nearest, {new_york, frankfurt, dublin});  // route order ≠ distance order
        CHECK(f.names_of(f.decide(source("81.2.69.1"))) == c.expected);
    }
}

TEST_CASE("nearest: without a client location the route's order answers", "[steer]") {
    Fixture f;
    f.name.answers = 3;
    const uint32_t new_york = f.located("new-york", kNewYork);
    const uint32_t frankfurt = f.located("frankfurt", kFrankfurt);
    const uint32_t dublin = f.located("dublin", kDublin);
    f.route(Strategy::nearest, {new_york, frankfurt, dublin});
    SECTION("an address in no database") {
        CHECK(f.names_of(f.decide(source("127.0.0.1"))) == Names{"new-york", "frankfurt", "dublin"});
    }
    SECTION("no databases at all") {
        Random random(1);
        const Decision d = meridian::steer::decide(f.policy, nullptr, f.name, rrtype::A, source("81.2.69.1"), nullptr, &random, nullptr);
        CHECK(f.names_of(d) == Names{"new-york", "frankfurt", "dublin"});
        CHECK(d.scope_prefix == 0);
    }
    SECTION("a country-only record: the capital stands in (Amsterdam is nearest Frankfurt)") {
        CHECK(f.names_of(f.decide(source("185.0.1.2"))) == Names{"frankfurt", "dublin", "new-york"});
    }
}

TEST_CASE("nearest: a region without a location comes after every located one", "[steer]") {
    Fixture f;
    f.name.answers = 3;
    const uint32_t nowhere = f.region("nowhere");
    const uint32_t new_york = f.located("new-york", kNewYork);
    const uint32_t dublin = f.located("dublin", kDublin);
    f.route(Strategy::nearest, {nowhere, new_york, dublin});
    CHECK(f.names_of(f.decide(source("81.2.69.1"))) == Names{"dublin", "new-york", "nowhere"});
}

// ---- sticky -----------------------------------------------------------------------------------

namespace {

// 1000 different /24s: 10.0.0.0/24, 10.0.1.0/24, … 10.3.231.0/24.
ClientAddress client_in_block(int i, uint8_t host = 1) {
    ClientAddress c;
    c.address.family = 4;
    c.address.bytes[0] = 10;
    c.address.bytes[1] = static_cast<uint8_t>(i >> 8);
    c.address.bytes[2] = static_cast<uint8_t>(i & 0xFF);
    c.address.bytes[3] = host;
    c.source_prefix = 32;
    return c;
}

}  // namespace

TEST_CASE("sticky: a client prefix gets the same region on every call, whatever the random seed", "[steer]") {
    Fixture f;
    f.route(Strategy::sticky, {f.region("a"), f.region("b"), f.region("c")});
    std::map<std::string, int> seen;
    for (int i = 0; i < 200; ++i) {
        const ClientAddress client = client_in_block(i);
        const std::string chosen = f.first(f.decide(client, rrtype::A, 1));
        ++seen[chosen];
        for (const uint64_t seed : {uint64_t{2}, uint64_t{3}, uint64_t{0xFFFFFFFFFFFFull}}) {
            CHECK(f.first(f.decide(client, rrtype::A, seed)) == chosen);
        }
        Random shared(5);
        for (int call = 0; call < 5; ++call) CHECK(f.first(f.decide(client, &shared)) == chosen);
    }
    // Different clients do land on different regions (the choice is not a constant).
    CHECK(seen.size() == 3);
}

TEST_CASE("sticky: clients in the same /24 get the same answer", "[steer]") {
    Fixture f;
    f.name.answers = 3;
    f.route(Strategy::sticky, {f.region("a"), f.region("b"), f.region("c")});
    int differing_neighbours = 0;
    for (int i = 0; i < 100; ++i) {
        const Names reference = f.names_of(f.decide(client_in_block(i, 1)));
        for (const uint8_t host : {uint8_t{0}, uint8_t{77}, uint8_t{255}}) {
            CHECK(f.names_of(f.decide(client_in_block(i, host))) == reference);
        }
        if (f.names_of(f.decide(client_in_block(i + 1, 1))) != reference) ++differing_neighbours;
    }
    CHECK(differing_neighbours > 0);  // the next /24 is a different client
    SECTION("an ECS /24 and a packet source inside it are the same client") {
        for (int i = 0; i < 50; ++i) {
            const ClientAddress packet = client_in_block(i, 9);
            ClientAddress subnet = client_in_block(i, 0);
            subnet.source_prefix = 24;
            subnet.is_from_ecs = true;
            CHECK(f.names_of(f.decide(subnet)) == f.names_of(f.decide(packet)));
        }
    }
}

TEST_CASE("sticky: 1000 different /24s land by weight 3:1 (within ±5 points)", "[steer]") {
    Fixture f;
    f.route(Strategy::sticky, {f.region("a", 3), f.region("b", 1)});
    std::map<std::string, int> counts;
    for (int i = 0; i < 1000; ++i) ++counts[f.first(f.decide(client_in_block(i)))];
    CHECK(counts["a"] / 1000.0 == Approx(0.75).margin(0.05));
    CHECK(counts["b"] / 1000.0 == Approx(0.25).margin(0.05));
}

TEST_CASE("sticky: taking a region a client did not get out of the route keeps its choice", "[steer]") {
    Fixture all;
    const uint32_t a = all.region("a");
    const uint32_t b = all.region("b");
    const uint32_t c = all.region("c");
    all.route(Strategy::sticky, {a, b, c});
    Fixture fewer = all;
    fewer.name.routes[0].targets.erase(fewer.name.routes[0].targets.begin() + 2);  // without c
    int kept = 0, moved = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string before = all.first(all.decide(client_in_block(i)));
        const std::string after = fewer.first(fewer.decide(client_in_block(i)));
        if (before == "c") {
            CHECK(after != "c");
            ++moved;
        } else {
            CHECK(after == before);  // rendezvous hashing: only c's clients move
            ++kept;
        }
    }
    CHECK(moved > 0);
    CHECK(kept > 0);
}

namespace {

// The clients of 1000 /24s whose sticky region differs between two fixtures, ignoring the
// clients that `before` sent to `gone` (a region `after` no longer has); "" when none.
std::string first_moved_client(const Fixture& before, const Fixture& after, const std::string& gone, int* moved) {
    std::string first;
    *moved = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string was = before.first(before.decide(client_in_block(i)));
        const std::string is = after.first(after.decide(client_in_block(i)));
        if (was == gone || is == was) continue;
        if ((*moved)++ == 0) {
            first = "10." + std::to_string(i >> 8) + "." + std::to_string(i & 0xFF) + ".0/24: " + was + " -> " + is;
        }
    }
    return first;
}

}  // namespace

TEST_CASE("sticky: a client's region belongs to the region's name, not its place in the zone file", "[steer]") {
    // Rendezvous hashing promises that a client keeps its region while the candidates and
    // weights stay the same, and that only a removed region's clients move (docs/POLICY.md).
    Fixture before;
    before.route(Strategy::sticky, {before.region("a"), before.region("b"), before.region("c")});
    int moved = 0;
    SECTION("another region, not a candidate, written before them") {
        Fixture after;
        after.region("elsewhere");
        after.route(Strategy::sticky, {after.region("a"), after.region("b"), after.region("c")});
        const std::string first = first_moved_client(before, after, "", &moved);
        INFO("first client that moved: " << first);
        CHECK(moved == 0);
    }
    SECTION("deleting [regions.b], which this client did not get") {
        Fixture after;
        after.route(Strategy::sticky, {after.region("a"), after.region("c")});
        const std::string first = first_moved_client(before, after, "b", &moved);
        INFO("first client that moved: " << first);
        CHECK(moved == 0);
    }
}

// ---- route matching ---------------------------------------------------------------------------

TEST_CASE("a route matches when every part of its condition holds, and any value within a part", "[steer]") {
    struct Case {
        const char* description;
        const char* client;
        bool is_match;
    };
    // Facts from geoip/test-geo.csv: 81.2.69.0/24 GB-ENG AS20712; 8.8.0.0/16 US-CA AS15169;
    // 12.0.0.0/16 US-TX (no ASN); 24.48.0.0/16 CA-QC; 1.0.16.0/20 JP-13; 1.1.1.0/24 AU-NSW
    // AS13335; 127.0.0.4 JP-13; 2001:db8:200::/40 DE-HE; 127.0.0.1 is in no database.
    auto run = [](Condition when, std::initializer_list<Case> cases, Fixture f = {}) {
        const uint32_t a = f.region("a");
        f.route(Strategy::failover, {a}, std::move(when));
        for (const Case& c : cases) {
            CAPTURE(c.description, c.client);
            const Decision d = f.decide(source(c.client));
            CHECK(d.route == (c.is_match ? 0 : -1));
            CHECK(d.count == (c.is_match ? 1 : 0));
        }
    };
    SECTION("continent") {
        run(when([&](Condition& w) { w.continents = {code<2>("EU")}; }), {{"GB is in Europe", "81.2.69.1", true},
                                              {"DE over IPv6", "2001:db8:200::1", true},
                                              {"US is not", "8.8.8.8", false},
                                              {"unknown client", "127.0.0.1", false}});
    }
    SECTION("continent: OR within the key") {
        run(when([&](Condition& w) { w.continents = {code<2>("EU"), code<2>("AS")}; }), {{"GB", "81.2.69.1", true},
                                                            {"JP", "1.0.16.1", true},
                                                            {"US", "8.8.8.8", false}});
    }
    SECTION("country") {
        run(when([&](Condition& w) { w.countries = {code<2>("US")}; }), {{"US-CA", "8.8.8.8", true},
                                             {"US-TX", "12.0.0.1", true},
                                             {"CA", "24.48.0.1", false},
                                             {"unknown", "127.0.0.1", false}});
        run(when([&](Condition& w) { w.countries = {code<2>("CA"), code<2>("MX")}; }), {{"CA", "24.48.0.1", true}, {"US", "8.8.8.8", false}});
    }
    SECTION("subdivision: country and code together") {
        run(when([&](Condition& w) { w.subdivisions = {subdivision("US", "CA")}; }), {{"US-CA", "8.8.8.8", true},
                                                          {"US-CA loopback", "127.0.0.3", true},
                                                          {"US-TX", "12.0.0.1", false},
                                                          {"CA-QC", "24.48.0.1", false}});
        run(when([&](Condition& w) { w.subdivisions = {subdivision("JP", "13")}; }), {{"JP-13", "127.0.0.4", true}, {"US-CA", "8.8.8.8", false}});
        // The same code in another country is another place.
        run(when([&](Condition& w) { w.subdivisions = {subdivision("US", "13")}; }), {{"JP-13 is not US-13", "127.0.0.4", false}});
        run(when([&](Condition& w) { w.subdivisions = {subdivision("CA", "QC"), subdivision("US", "TX")}; }),
            {{"CA-QC", "24.48.0.1", true}, {"US-TX", "12.0.0.1", true}, {"US-CA", "8.8.8.8", false}});
    }
    SECTION("asn") {
        run(when([&](Condition& w) { w.asns = {15169}; }), {{"AS15169", "8.8.8.8", true},
                                {"AS13335", "1.1.1.1", false},
                                {"no ASN known", "12.0.0.1", false}});
        run(when([&](Condition& w) { w.asns = {13335, 15169}; }), {{"AS13335", "1.1.1.1", true}, {"AS15169", "8.8.8.8", true}});
    }
    SECTION("AND across keys") {
        run(when([&](Condition& w) { w.continents = {code<2>("NA")}; w.asns = {15169, 13335}; }),
            {{"NA and AS15169", "8.8.8.8", true},
             {"NA without an ASN", "12.0.0.1", false},
             {"AS13335 but OC", "1.1.1.1", false}});
        run(when([&](Condition& w) { w.countries = {code<2>("US")}; w.subdivisions = {subdivision("US", "TX")}; }),
            {{"US-TX", "12.0.0.1", true}, {"US-CA", "8.8.8.8", false}});
    }
    SECTION("cidr sets: any network of any set") {
        Fixture f;
        const uint32_t doc = f.cidr_set({"192.0.2.0/24"});
        const uint32_t priv = f.cidr_set({"10.0.0.0/8", "172.16.0.0/12"});
        run(when([&](Condition& w) { w.cidr_sets = {doc}; }), {{"inside", "192.0.2.9", true}, {"outside", "192.0.3.1", false}}, f);
        run(when([&](Condition& w) { w.cidr_sets = {doc, priv}; }), {{"second set, second network", "172.20.0.1", true},
                                        {"first set", "192.0.2.200", true},
                                        {"neither", "8.8.8.8", false},
                                        {"IPv6 never matches an IPv4 set", "2001:db8:200::1", false}},
            f);
    }
    SECTION("cidr set AND geo") {
        Fixture f;
        const uint32_t net = f.cidr_set({"81.2.0.0/16"});
        run(when([&](Condition& w) { w.continents = {code<2>("EU")}; w.cidr_sets = {net}; }), {{"both", "81.2.69.1", true}, {"geo only", "2.16.0.1", false}}, f);
        Fixture g;
        const uint32_t net2 = g.cidr_set({"81.2.0.0/16"});
        run(when([&](Condition& w) { w.continents = {code<2>("NA")}; w.cidr_sets = {net2}; }), {{"cidr only", "81.2.69.1", false}}, g);
    }
    SECTION("location sets: any place of any set") {
        Fixture f;
        meridian::steer::LocationSet japan_or_google;
        japan_or_google.countries = {code<2>("JP")};
        japan_or_google.asns = {15169};
        const uint32_t s1 = f.location_set(japan_or_google);
        meridian::steer::LocationSet texas;
        texas.subdivisions = {subdivision("US", "TX")};
        const uint32_t s2 = f.location_set(texas);
        meridian::steer::LocationSet oceania;
        oceania.continents = {code<2>("OC")};
        const uint32_t s3 = f.location_set(oceania);
        run(when([&](Condition& w) { w.location_sets = {s1}; }), {{"JP", "1.0.16.1", true},
                                     {"AS15169", "8.8.8.8", true},
                                     {"GB", "81.2.69.1", false},
                                     {"US-TX", "12.0.0.1", false}},
            f);
        run(when([&](Condition& w) { w.location_sets = {s2, s3}; }), {{"US-TX", "12.0.0.1", true},
                                         {"OC", "1.1.1.1", true},
                                         {"US-CA", "8.8.8.8", false},
                                         {"unknown", "127.0.0.1", false}},
            f);
    }
    SECTION("the default route matches everyone") {
        run({}, {{"known", "81.2.69.1", true}, {"unknown", "127.0.0.1", true}, {"IPv6", "2001:db8:ffff::1", true}});
    }
}

TEST_CASE("the first matching route answers; no match answers nothing", "[steer]") {
    Fixture f;
    const uint32_t a = f.region("a");
    const uint32_t b = f.region("b");
    const uint32_t c = f.region("c");
    f.route(Strategy::failover, {a}, when([&](Condition& w) { w.continents = {code<2>("EU")}; }));
    f.route(Strategy::failover, {b}, when([&](Condition& w) { w.countries = {code<2>("GB"), code<2>("US")}; }));
    f.route(Strategy::failover, {c}, when([&](Condition& w) { w.asns = {13335}; }));
    struct Case {
        const char* client;
        int route;
        const char* region;
    };
    const Case cases[] = {
        {"81.2.69.1", 0, "a"},  // GB matches routes 1 and 2; the first wins
        {"8.8.8.8", 1, "b"},
        {"1.1.1.1", 2, "c"},
        {"200.0.0.1", -1, ""},  // BR: nothing matches
        {"127.0.0.1", -1, ""},
    };
    for (const Case& k : cases) {
        CAPTURE(k.client);
        const Decision d = f.decide(source(k.client));
        CHECK(d.route == k.route);
        CHECK(f.first(d) == k.region);
    }
    SECTION("a default route after them catches the rest") {
        f.route(Strategy::failover, {c});
        const Decision d = f.decide(source("200.0.0.1"));
        CHECK(d.route == 3);
        CHECK(f.first(d) == "c");
    }
}

// ---- address families ---------------------------------------------------------------------------

TEST_CASE("regions without records of the asked family are skipped; a CNAME region answers both", "[steer]") {
    Fixture f;
    const uint32_t v4 = f.region("v4-only");
    f.policy.regions[v4].ipv6.clear();
    const uint32_t v6 = f.region("v6-only");
    f.policy.regions[v6].ipv4.clear();
    const uint32_t dual = f.region("dual");
    const uint32_t cdn = f.region("cdn");
    f.policy.regions[cdn].ipv4.clear();
    f.policy.regions[cdn].ipv6.clear();
    f.policy.regions[cdn].cname = meridian::test::wire("cdn.example.net.");

    CHECK(f.policy.regions[v4].answers(rrtype::A));
    CHECK_FALSE(f.policy.regions[v4].answers(rrtype::AAAA));
    CHECK(f.policy.regions[v6].answers(rrtype::AAAA));
    CHECK_FALSE(f.policy.regions[v6].answers(rrtype::A));
    CHECK(f.policy.regions[cdn].answers(rrtype::A));
    CHECK(f.policy.regions[cdn].answers(rrtype::AAAA));

    SECTION("all") {
        f.route(Strategy::all, {v4, v6, dual, cdn});
        CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::A)) == Names{"v4-only", "dual", "cdn"});
        CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::AAAA)) == Names{"v6-only", "dual", "cdn"});
    }
    SECTION("failover: an AAAA query skips the IPv4-only first region") {
        f.route(Strategy::failover, {v4, cdn});
        CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::A)) == Names{"v4-only"});
        CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::AAAA)) == Names{"cdn"});
    }
    SECTION("weighted never picks a region without the family") {
        f.route(Strategy::weighted, {v4, v6});
        for (uint64_t seed = 1; seed <= 200; ++seed) {
            CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::AAAA, seed)) == Names{"v6-only"});
            CHECK(f.names_of(f.decide(source("8.8.8.8"), rrtype::A, seed)) == Names{"v4-only"});
        }
    }
    SECTION("no candidate of the family: the route matches but answers nothing") {
        f.route(Strategy::failover, {v4});
        const Decision d = f.decide(source("8.8.8.8"), rrtype::AAAA);
        CHECK(d.route == 0);
        CHECK(d.count == 0);
    }
}

// ---- ECS scope --------------------------------------------------------------------------------

TEST_CASE("cidr_set_scope: the matching network's length, or the first differing bit + 1", "[steer]") {
    struct Case {
        std::vector<const char*> set;
        const char* address;
        bool is_match;
        unsigned scope;
    };
    const Case cases[] = {
        {{"192.0.2.0/24"}, "192.0.2.77", true, 24},
        {{"10.0.0.0/8", "10.1.0.0/16"}, "10.1.2.3", true, 16},  // the longest match
        {{"10.0.0.0/8", "10.1.0.0/16"}, "10.2.0.1", true, 8},
        {{"127.0.0.2/32"}, "127.0.0.2", true, 32},
        {{"0.0.0.0/0"}, "203.0.113.1", true, 0},
        {{"192.0.2.0/24"}, "192.0.3.1", false, 24},  // shares 23 bits: bit 24 tells them apart
        {{"10.0.0.0/8"}, "11.0.0.1", false, 8},
        {{"10.0.0.0/8"}, "128.0.0.1", false, 1},
        {{"127.0.0.2/32"}, "127.0.0.3", false, 32},
        {{"127.0.0.2/32", "127.0.0.3/32"}, "81.2.69.1", false, 3},
        {{"192.0.2.0/24", "192.0.0.0/16"}, "192.1.0.0", false, 16},  // the larger of the two
        {{"2001:db8::/32"}, "2001:db8:1::1", true, 32},
        {{"2001:db8::/32"}, "2001:db9::1", false, 32},
        {{"2001:db8::/32"}, "192.0.2.1", false, 0},  // another family: no bit of it matters
        {{"192.0.2.0/24"}, "2001:db8::1", false, 0},
        {{}, "192.0.2.1", false, 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.address, c.set);
        meridian::steer::CidrSet set;
        for (const char* text : c.set) set.networks.push_back(*meridian::geo::parse_network(text, true));
        bool is_match = !c.is_match;
        CHECK(meridian::steer::cidr_set_scope(set, ip(c.address), &is_match) == c.scope);
        CHECK(is_match == c.is_match);
    }
}

TEST_CASE("the decision's scope is the longest prefix any consulted fact depended on", "[steer]") {
    SECTION("a default route with weighted: nothing about the client matters") {
        Fixture f;
        f.route(Strategy::weighted, {f.region("a"), f.region("b")});
        CHECK(f.decide(ecs("81.2.69.0/24")).scope_prefix == 0);
        CHECK(f.decide(source("2001:db8:200::1")).scope_prefix == 0);
    }
    SECTION("failover and all on a default route: 0") {
        Fixture f;
        f.route(Strategy::failover, {f.region("a")});
        CHECK(f.decide(ecs("8.8.8.0/24")).scope_prefix == 0);
    }
    SECTION("a geo route: the database's network") {
        Fixture f;
        f.route(Strategy::failover, {f.region("a")}, when([&](Condition& w) { w.continents = {code<2>("EU")}; }));
        CHECK(f.decide(ecs("81.2.69.0/24")).scope_prefix == 24);
        CHECK(f.decide(ecs("5.145.0.0/16")).scope_prefix == 16);
        CHECK(f.decide(ecs("2001:db8:200::/48")).scope_prefix == 40);
        CHECK(f.decide(ecs("8.8.8.0/24")).scope_prefix == 16);  // no match depends on the /16 too
    }
    SECTION("a CIDR route that matches: the network") {
        Fixture f;
        const uint32_t set = f.cidr_set({"192.0.2.0/24"});
        f.route(Strategy::failover, {f.region("a")}, when([&](Condition& w) { w.cidr_sets = {set}; }));
        CHECK(f.decide(ecs("192.0.2.0/24")).scope_prefix == 24);
        CHECK(f.decide(ecs("192.0.2.128/25")).scope_prefix == 24);
    }
    SECTION("routes tried and passed over count too: max of CIDR and geo") {
        Fixture f;
        const uint32_t set = f.cidr_set({"5.145.2.0/24"});
        f.route(Strategy::failover, {f.region("a")}, when([&](Condition& w) { w.cidr_sets = {set}; }));
        f.route(Strategy::failover, {f.region("b")}, when([&](Condition& w) { w.continents = {code<2>("EU")}; }));
        // 5.145.1.0 and 5.145.2.0 share 22 bits → the CIDR test needs 23; the geo /16 needs 16.
        const Decision d = f.decide(ecs("5.145.1.0/24"));
        CHECK(f.first(d) == "b");
        CHECK(d.scope_prefix == 23);
        // 81.2.69.0 shares nothing with 5.145.2.0 past bit 0: CIDR needs 1, geo 24.
        const Decision e = f.decide(ecs("81.2.69.0/24"));
        CHECK(e.scope_prefix == 24);
    }
    SECTION("sticky: min(source prefix, 24) for IPv4, min(source prefix, 56) for IPv6") {
        Fixture f;
        f.route(Strategy::sticky, {f.region("a"), f.region("b")});
        CHECK(f.decide(source("198.51.100.7")).scope_prefix == 24);
        CHECK(f.decide(ecs("198.51.100.0/24")).scope_prefix == 24);
        CHECK(f.decide(ecs("198.51.96.0/20")).scope_prefix == 20);
        CHECK(f.decide(ecs("198.51.100.0/28")).scope_prefix == 24);
        CHECK(f.decide(source("2001:db8:200::1")).scope_prefix == 56);
        CHECK(f.decide(ecs("2001:db8:200::/48")).scope_prefix == 48);
        CHECK(f.decide(ecs("2001:db8:200::/64")).scope_prefix == 56);
    }
    SECTION("nearest: the database's network") {
        Fixture f;
        f.route(Strategy::nearest, {f.located("dublin", kDublin), f.located("new-york", kNewYork)});
        CHECK(f.decide(ecs("81.2.69.0/24")).scope_prefix == 24);
        CHECK(f.decide(ecs("2001:db8:200::/48")).scope_prefix == 40);
        CHECK(f.decide(source("127.0.0.2")).scope_prefix == 32);
        CHECK(f.decide(ecs("127.0.0.0/31")).scope_prefix == 31);  // in no database: the empty block
    }
}

TEST_CASE("a trace, when asked for, tells the route, the facts and the answer", "[steer]") {
    Fixture f;
    f.route(Strategy::failover, {f.region("a")}, when([&](Condition& w) { w.continents = {code<2>("NA")}; }));
    f.route(Strategy::failover, {f.region("b")}, when([&](Condition& w) { w.continents = {code<2>("EU")}; }));
    meridian::steer::Trace trace;
    const Decision d = f.decide(ecs("81.2.69.0/24"), rrtype::A, 1, &trace);
    REQUIRE(f.first(d) == "b");
    REQUIRE(trace.lines.size() >= 4);
    std::string all;
    for (const std::string& line : trace.lines) all += line + "\n";
    INFO(all);
    CHECK(all.find("81.2.69.0/24 from ECS") != std::string::npos);
    CHECK(all.find("country=GB") != std::string::npos);
    CHECK(all.find("route 1") != std::string::npos);
    CHECK(all.find("no match") != std::string::npos);
    CHECK(all.find("route 2") != std::string::npos);
    CHECK(trace.lines.back().find("answer b") == 0);
    CHECK(trace.lines.back().find("scope /24") != std::string::npos);
}

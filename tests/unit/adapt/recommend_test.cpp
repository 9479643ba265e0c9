// Tests for adapt::recommend with hand-computed figures: a latency matrix gives exact round-trip
// times, so the current and proposed latencies, the gain, the share and the capacity cut can be
// worked out on paper.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "adapt/recommend.hpp"
#include "common/diagnostics.hpp"
#include "geo/country_locations.hpp"
#include "geo/distance.hpp"

using meridian::Diagnostics;
using meridian::adapt::LatencyMatrix;
using meridian::adapt::MixCell;
using meridian::adapt::recommend;
using meridian::adapt::Recommendation;
using meridian::adapt::RecommendInput;
using meridian::adapt::rtt_of;
using meridian::adapt::toml_snippet;
using meridian::steer::Policy;
using meridian::steer::Region;
using meridian::steer::Route;
using meridian::steer::SteeredName;
using meridian::steer::Strategy;

namespace {

using Country = std::array<char, 2>;
constexpr Country kBR{'B', 'R'}, kUS{'U', 'S'}, kAR{'A', 'R'};
constexpr uint32_t kUs = 0, kBr = 1, kEu = 2;

// Regions us, br, eu; one name "www" with one route: failover over us, eu (br not in it).
Policy policy() {
    Policy p;
    for (const char* name : {"us", "br", "eu"}) {
        Region r;
        r.name = name;
        r.ipv4.push_back({192, 0, 2, static_cast<uint8_t>(p.regions.size() + 1)});
        p.region_index[name] = static_cast<uint32_t>(p.regions.size());
        p.regions.push_back(std::move(r));
    }
    SteeredName www;
    www.owner = std::string("\3www\7example\0", 13);
    Route route;
    route.strategy = Strategy::failover;
    route.targets = {{kUs, 1}, {kEu, 1}};
    route.where.line = 12;
    www.routes.push_back(route);
    p.names.push_back(std::move(www));
    return p;
}

LatencyMatrix matrix() {
    Diagnostics d;
    auto m = LatencyMatrix::parse(
        "BR,us,120\nBR,br,20\nBR,eu,200\nUS,us,10\nUS,br,130\nUS,eu,90\n"
        "AR,us,140\nAR,br,30\nAR,eu,210\n",
        "m.csv", &d);
    REQUIRE(m);
    return *m;
}

// The input recommend() gets for `p` with the matrix above (held by the caller) and `mix`.
RecommendInput input(const Policy& p, const LatencyMatrix& m, std::vector<MixCell> mix) {
    RecommendInput in;
    in.policy = &p;
    in.matrix = &m;
    in.mix = std::move(mix);
    return in;
}

}  // namespace

TEST_CASE("a country answered far away is sent to its nearest region: gain and share by hand") {
    const Policy p = policy();
    const LatencyMatrix m = matrix();
    RecommendInput in = input(p, m, {{0, 0, kBR, kUs, 30}, {0, 0, kUS, kUs, 70}});
    const std::vector<Recommendation> found = recommend(in);
    REQUIRE(found.size() == 1);
    const Recommendation& r = found[0];
    CHECK(r.before_route == 0);
    CHECK(r.region == kBr);
    CHECK(r.countries == std::vector<Country>{kBR});
    CHECK(r.fallback == std::vector<uint32_t>{kUs, kEu});
    CHECK(r.current_ms == Approx(120));
    CHECK(r.proposed_ms == Approx(20));
    CHECK(r.gain_ms() == Approx(100));
    CHECK(r.share == Approx(0.30));
    CHECK(r.samples == Approx(30));
    CHECK_FALSE(r.is_estimated);
    CHECK(summary(p, r) ==
          "route 1: send BR to br instead of failover of us, eu: expected -100.0 ms for 30.0 % of answers");
}

TEST_CASE("the current latency is the mean over the regions a country's answers went to; countries merge") {
    const Policy p = policy();
    const LatencyMatrix m = matrix();
    // BR: half to us (120), half to eu (200): 160 now. AR: all to us: 140 now.
    RecommendInput in = input(p, m, {{0, 0, kBR, kUs, 10}, {0, 0, kBR, kEu, 10}, {0, 0, kAR, kUs, 20}, {0, 0, kUS, kUs, 60}});
    const auto found = recommend(in);
    REQUIRE(found.size() == 1);
    CHECK(found[0].countries == std::vector<Country>{kAR, kBR});
    // (20 × 160 + 20 × 140) / 40 = 150 now; (20 × 20 + 20 × 30) / 40 = 25 after.
    CHECK(found[0].current_ms == Approx(150));
    CHECK(found[0].proposed_ms == Approx(25));
    CHECK(found[0].share == Approx(0.40));
}

TEST_CASE("nothing is recommended below min_gain, min_samples or min_share") {
    const Policy p = policy();
    const LatencyMatrix m = matrix();
    RecommendInput in = input(p, m, {{0, 0, kBR, kUs, 30}, {0, 0, kUS, kUs, 70}});
    in.min_gain_ms = 100.5;  // the gain is 100
    CHECK(recommend(in).empty());
    in.min_gain_ms = 100;
    CHECK(recommend(in).size() == 1);
    in.min_samples = 31;  // 30 BR answers
    CHECK(recommend(in).empty());
    in.min_samples = 20;
    in.mix = {{0, 0, kBR, kUs, 30}, {0, 0, kUS, kUs, 3000}};  // BR is under 1 % of the name
    CHECK(recommend(in).empty());
}

TEST_CASE("a region with a capacity takes only the countries that fit under its headroom, largest first") {
    Policy p = policy();
    p.regions[kBr].capacity = 100;  // room: 0.9 × 100 − 80 sent now = 10 answers per second
    const LatencyMatrix m = matrix();
    RecommendInput in = input(p, m, {});
    in.region_rate = {0, 80, 0};
    in.name_rate = {100};  // answers per second of www
    // BR is 30 % of www (30 per second: too much); AR 5 % (5 per second: fits).
    in.mix = {{0, 0, kBR, kUs, 30}, {0, 0, kAR, kUs, 5}, {0, 0, kUS, kUs, 65}};
    in.min_samples = 1;
    auto found = recommend(in);
    REQUIRE(found.size() == 1);
    CHECK(found[0].countries == std::vector<Country>{kAR});
    CHECK(found[0].is_capacity_limited);
    in.region_rate = {0, 90, 0};  // full: nothing fits
    CHECK(recommend(in).empty());
    in.region_rate = {0, 0, 0};  // room for 90: both
    found = recommend(in);
    REQUIRE(found.size() == 1);
    CHECK(found[0].countries == std::vector<Country>{kAR, kBR});
    CHECK_FALSE(found[0].is_capacity_limited);
}

TEST_CASE("without a matrix, latencies are estimated from the country's capital to the region's location") {
    Policy p = policy();
    const meridian::geo::CountryLocation* brasilia = meridian::geo::location_of_country("BR");
    const meridian::geo::CountryLocation* washington = meridian::geo::location_of_country("US");
    REQUIRE(brasilia != nullptr);
    REQUIRE(washington != nullptr);
    p.regions[kBr].has_location = true;
    p.regions[kBr].latitude = brasilia->latitude;
    p.regions[kBr].longitude = brasilia->longitude;
    p.regions[kUs].has_location = true;
    p.regions[kUs].latitude = washington->latitude;
    p.regions[kUs].longitude = washington->longitude;
    const auto same = rtt_of(p, nullptr, kBR, kBr);
    REQUIRE(same);
    CHECK(same->ms == Approx(meridian::adapt::kRttBaseMs));
    CHECK(same->is_estimated);
    const double km = meridian::geo::great_circle_km(brasilia->latitude, brasilia->longitude, washington->latitude,
                                                     washington->longitude);
    const auto far = rtt_of(p, nullptr, kBR, kUs);
    REQUIRE(far);
    CHECK(far->ms == Approx(meridian::adapt::kRttBaseMs + meridian::adapt::kRttMsPerKm * km));
    CHECK_FALSE(rtt_of(p, nullptr, kBR, kEu));  // eu has no location and no matrix entry

    RecommendInput in;
    in.policy = &p;
    // BR answered by us and by eu: eu's latency is unknown, so BR's current latency is too.
    in.mix = {{0, 0, kBR, kUs, 30}, {0, 0, kBR, kEu, 30}};
    CHECK(recommend(in).empty());
    in.mix = {{0, 0, kBR, kUs, 30}};
    const auto found = recommend(in);
    REQUIRE(found.size() == 1);
    CHECK(found[0].is_estimated);
    CHECK(found[0].gain_ms() == Approx(meridian::adapt::kRttMsPerKm * km));
}

TEST_CASE("the TOML snippet keeps the route's other conditions and lists the route's regions after the new one") {
    Policy p = policy();
    meridian::geo::Code<2> sa;
    sa.assign("SA");
    p.names[0].routes[0].when.continents.push_back(sa);
    p.names[0].routes[0].when.asns.push_back(64500);
    const LatencyMatrix m = matrix();
    RecommendInput in = input(p, m, {{0, 0, kBR, kUs, 30}, {0, 0, kUS, kUs, 70}});
    const auto found = recommend(in);
    REQUIRE(found.size() == 1);
    const std::string toml = toml_snippet(p, found[0], "www", 12);
    CHECK(toml.find("# Paste just before route 1 of \"www\" (line 12).\n") != std::string::npos);
    CHECK(toml.find("[[names.\"www\".route]]\n"
                    "when = { continent = [\"SA\"], country = [\"BR\"], asn = [64500] }\n"
                    "to = [\"br\", \"us\", \"eu\"]\n"
                    "strategy = \"failover\"\n") != std::string::npos);
}

TEST_CASE("fail-policy answers, unlocated clients and unknown names count in the total only") {
    const Policy p = policy();
    const LatencyMatrix m = matrix();
    RecommendInput in = input(p, m, {{0, 0, kBR, kUs, 30}, {0, -1, kBR, kUs, 40}, {0, 0, {0, 0}, kUs, 30}, {7, 0, kBR, kUs, 1000}});
    const auto found = recommend(in);
    REQUIRE(found.size() == 1);
    CHECK(found[0].share == Approx(0.30));  // 30 of the 100 answers www had
}

TEST_CASE("one region's room is shared by every recommendation that sends it more, the largest gain first; an "
          "unknown rate takes none") {
    Policy p = policy();
    // A second name, "api", with the same route: its BR clients want br too.
    SteeredName api = p.names[0];
    api.owner = std::string("\3api\7example\0", 13);
    p.names.push_back(api);
    p.regions[kBr].capacity = 100;  // room: 90 answers per second
    const LatencyMatrix m = matrix();
    // Each name: BR is half of 100 answers per second. www's BR goes to us (120 ms → 20 at br),
    // api's to eu (200 ms → 20).
    RecommendInput in = input(p, m, {{0, 0, kBR, kUs, 50}, {0, 0, kUS, kUs, 50},
                                     {1, 0, kBR, kEu, 50}, {1, 0, kUS, kUs, 50}});
    in.name_rate = {100, 100};
    in.min_samples = 1;
    auto found = recommend(in);
    // api's BR gains more (200 → 20 ms) and takes 50 of the 90; www's 50 no longer fits.
    REQUIRE(found.size() == 1);
    CHECK(found[0].name == 1);
    CHECK(found[0].gain_ms() == Approx(180));
    in.name_rate = {};  // no forecast bucket closed yet: br, with a capacity, is recommended nothing
    CHECK(recommend(in).empty());
    p.regions[kBr].capacity = 0;  // no capacity: no limit, both
    CHECK(recommend(in).size() == 2);
}

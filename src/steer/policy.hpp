// The compiled steering policy of one zone: regions (where traffic may go), shared CIDR and
// location sets, and steered names with their ordered routes. Immutable once built; indices,
// not names, link the parts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostics.hpp"
#include "geo/address.hpp"
#include "geo/facts.hpp"

namespace meridian::steer {

enum class Strategy : uint8_t {
    weighted,  // weighted random choice without replacement
    failover,  // the route's order
    nearest,   // great-circle distance from the client, scaled by each region's bias
    all,       // every candidate (multivalue)
    sticky,    // weighted rendezvous hash of the client's prefix: stable per client
};

const char* to_string(Strategy strategy) noexcept;
bool parse_strategy(std::string_view text, Strategy* out) noexcept;

inline constexpr std::size_t kMaxAnswers = 16;

struct Region {
    std::string name;
    std::vector<std::array<uint8_t, 4>> ipv4;
    std::vector<std::array<uint8_t, 16>> ipv6;
    std::string cname;  // wire-form target; non-empty instead of addresses (multi-CDN steering)
    bool has_location = false;
    double latitude = 0;
    double longitude = 0;
    // nearest: distances to this region count (1 − bias/100) times, so a positive bias draws
    // clients from farther away, like Route 53's geoproximity bias. −99 … 99.
    double bias = 0;
    uint32_t weight = 1;

    bool answers(uint16_t qtype) const noexcept;  // has records for A or AAAA (or a CNAME)
};

struct CidrSet {
    std::string name;  // "" for a set written inline in a route
    std::vector<geo::Network> networks;
};

struct Subdivision {
    geo::Code<2> country;
    geo::Code<3> code;
    bool operator==(const Subdivision&) const = default;
};

// A named group of places; matches a client in any of them.
struct LocationSet {
    std::string name;
    std::vector<geo::Code<2>> continents;
    std::vector<geo::Code<2>> countries;
    std::vector<Subdivision> subdivisions;
    std::vector<uint32_t> asns;
};

// Every part present must hold (AND); within a part, any value (OR). All empty: the default.
struct Condition {
    std::vector<geo::Code<2>> continents;
    std::vector<geo::Code<2>> countries;
    std::vector<Subdivision> subdivisions;
    std::vector<uint32_t> asns;
    std::vector<uint32_t> cidr_sets;      // into Policy::cidr_sets
    std::vector<uint32_t> location_sets;  // into Policy::location_sets

    bool is_default() const noexcept {
        return continents.empty() && countries.empty() && subdivisions.empty() && asns.empty() && cidr_sets.empty() &&
               location_sets.empty();
    }
    bool needs_geo() const noexcept {
        return !continents.empty() || !countries.empty() || !subdivisions.empty() || !asns.empty() ||
               !location_sets.empty();
    }
};

struct Target {
    uint32_t region;
    uint32_t weight;
};

struct Route {
    Condition when;
    std::vector<Target> targets;  // in the order written: the failover order
    Strategy strategy = Strategy::weighted;
    SourceLocation where;
};

struct SteeredName {
    std::string owner;  // lower-case wire form
    uint32_t ttl = 60;
    uint8_t answers = 1;
    std::vector<Route> routes;
    SourceLocation where;
};

struct Policy {
    std::vector<Region> regions;
    std::vector<CidrSet> cidr_sets;
    std::vector<LocationSet> location_sets;
    std::vector<SteeredName> names;
    bool use_ecs = true;  // false: locate clients by the packet source even when ECS is sent
};

}  // namespace meridian::steer

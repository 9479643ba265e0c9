// The compiled steering policy of one zone: regions (where traffic may go), shared CIDR and
// location sets, and steered names with their ordered routes. Immutable once built; indices,
// not names, link the parts. What changes while serving (health, counters) lives beside it in
// the zone's runtime (zone/runtime.hpp); how regions are probed, in health::CheckPlan.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <unordered_map>

#include "common/diagnostics.hpp"
#include "geo/address.hpp"
#include "geo/facts.hpp"

namespace meridian::steer {

enum class Strategy : uint8_t {
    weighted,      // weighted random choice without replacement
    failover,      // the route's order
    nearest,       // great-circle distance from the client, scaled by each region's bias
    all,           // every candidate (multivalue)
    sticky,        // weighted rendezvous hash of the client's prefix: stable per client
    latency,       // lowest measured probe latency
    performance,   // lowest expected time to an answer: latency + (1 − success) × retry cost
    least_loaded,  // lowest load reported by the region's http check
    adaptive,      // weighted, by weights the control loop derives from each region's latency EWMA
    cost,          // cheapest first (a region's cost per answer), those whose commit is used up last
};

const char* to_string(Strategy strategy) noexcept;
uint64_t hash_region_name(std::string_view name) noexcept;
bool parse_strategy(std::string_view text, Strategy* out) noexcept;

inline constexpr std::size_t kMaxAnswers = 16;
// Targets one route may list: decide() ranks a route's candidates in a fixed array of this many
// slots, so the loader refuses a route with more (config::read_policy).
inline constexpr std::size_t kMaxRouteTargets = 64;

// What a member's source (the zone file, a feed, the push API) says of it; probes of a
// per-address check judge the rest.
enum class MemberState : uint8_t {
    up,     // answered while healthy
    down,   // never answered (the source saw it fail)
    drain,  // being taken out: never answered, like a drained region
};
const char* to_string(MemberState state) noexcept;
bool parse_member_state(std::string_view text, MemberState* out) noexcept;

// Members a region may have: each takes a health-board slot, and a feed or a push with more is
// refused (config::read_members).
inline constexpr std::size_t kMaxMembers = 256;
inline constexpr uint32_t kMaxMemberWeight = 1000;

// One address of a region, with what its source said of it. Regions keep their addresses in
// `ipv4` and `ipv6` (what answers copy); members are the same addresses in that order (IPv4
// first), for the health monitor and the status pages.
struct Member {
    std::string id;  // the instance's name from a feed or a push; "" when none was given
    MemberState state = MemberState::up;
    // 0: a standby, answered only while no member with a weight can be.
    uint32_t weight = 1;
    bool has_load = false;
    double load = 0;  // as a feed reported it (least_loaded, shed), when has_load
};

// What a region's `cost` is counted in: per answer, per GB of traffic (an answer leads to
// `gb_per_answer` of it), or a plain rank (the order, no money).
enum class CostUnit : uint8_t { answer, gb, rank };
const char* to_string(CostUnit unit) noexcept;

struct Region {
    std::string name;
    std::vector<std::array<uint8_t, 4>> ipv4;
    std::vector<std::array<uint8_t, 16>> ipv6;
    // One per address, IPv4 first; a member's health is health-board slot `first_member` + its
    // index. Read by answers only when `has_member_health`: then each address is answered or
    // left out by its own slot (a per-address check, or members a source marked down, drained
    // or standby), else every address is answered.
    std::vector<Member> members;
    uint32_t first_member = 0;
    bool has_member_health = false;
    std::string cname;  // wire-form target; non-empty instead of addresses (multi-CDN steering)
    bool has_location = false;
    double latitude = 0;
    double longitude = 0;
    // nearest: distances to this region count (1 − bias/100) times, so a positive bias draws
    // clients from farther away, like Route 53's geoproximity bias. −99 … 99.
    double bias = 0;
    uint32_t weight = 1;
    // Answers per second this server may send the region; 0: no limit. Beyond it the surplus
    // spills to the next-best candidate (adapt::Controller, decide()).
    uint32_t capacity = 0;
    // Shed load: at or below `shed_low` (the check's reported load) the region keeps its share,
    // at or above `shed_high` it gets none, linearly in between. has_shed false: load ignored.
    bool has_shed = false;
    double shed_low = 0;
    double shed_high = 0;
    // Cost-aware steering (strategy `cost`, typically over CNAME regions of several CDNs): the
    // price in `cost_unit`, and a committed volume per period in the same unit (answers for
    // answer and rank, GB for gb) at that price; 0: no commit. Used up, the region goes last.
    bool has_cost = false;
    double cost = 0;
    CostUnit cost_unit = CostUnit::rank;
    double gb_per_answer = 0;
    double commit = 0;
    uint64_t commit_period_ms = uint64_t{30} * 24 * 3600 * 1000;

    // The cost of one answer, what the `cost` strategy ranks by (a rank is its own cost).
    double cost_per_answer() const noexcept { return cost_unit == CostUnit::gb ? cost * gb_per_answer : cost; }
    // The volume one answer uses of the commit, in the commit's unit.
    double volume_per_answer() const noexcept { return cost_unit == CostUnit::gb ? gb_per_answer : 1.0; }

    bool answers(uint16_t qtype) const noexcept;  // has records for A or AAAA (or a CNAME)
    // The member at `index` (IPv4 first) as an address.
    geo::IpAddress member_address(std::size_t index) const noexcept;
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
    uint32_t max_latency_ms = 0;  // 0: no limit; else candidates measured slower are pruned
    // adaptive: regions whose latency EWMA is within `band_ms` of the best (or `band_percent` %
    // above it) share traffic; the EWMA's time constant.
    uint32_t band_ms = 0;
    uint32_t band_percent = 50;
    uint32_t time_constant_ms = 30000;
    uint32_t first_slot = 0;  // its targets' slots in the feedback board: first_slot + target index
    SourceLocation where;
};

// What a name answers when every matching route has lost all its candidates.
enum class FailPolicy : uint8_t {
    open,    // the first matching route's candidates, health ignored
    closed,  // NODATA
    region,  // a fixed fallback region
    cname,   // a fixed CNAME (another provider, a static site …)
};

// How degraded regions are used.
enum class DegradedUse : uint8_t {
    fallback,  // only when a route has no healthy candidate (the default)
    healthy,   // like healthy ones
    never,     // like unhealthy ones
};

struct SteeredName {
    std::string owner;  // lower-case wire form
    uint32_t ttl = 60;
    uint32_t pruned_ttl = 10;  // TTL while any candidate was pruned, so clients come back soon
    uint8_t answers = 1;
    std::vector<Route> routes;
    FailPolicy fail = FailPolicy::open;
    uint32_t fail_region = 0;  // FailPolicy::region
    std::string fail_cname;    // FailPolicy::cname, wire form
    DegradedUse degraded = DegradedUse::fallback;
    SourceLocation where;
};

struct Policy {
    std::vector<Region> regions;
    std::vector<CidrSet> cidr_sets;
    std::vector<LocationSet> location_sets;
    std::vector<SteeredName> names;
    bool use_ecs = true;        // false: locate clients by the packet source even when ECS is sent
    uint32_t target_slots = 0;  // route targets of every name: the feedback board's weight slots
    std::unordered_map<std::string, uint32_t> region_index;  // name → index into regions
    // Health-board slots: one per region, then one per member of each region with member
    // health (assign_board_slots); 0 in a policy built by hand means one per region.
    uint32_t board_slots = 0;

    // Numbers the member slots of regions with member health, after the regions' last change.
    void assign_board_slots() noexcept;
    std::size_t health_slots() const noexcept { return std::max<std::size_t>(board_slots, regions.size()); }

    // The index of the region called `name`, or -1.
    int32_t find_region(const std::string& name) const noexcept {
        const auto it = region_index.find(name);
        return it == region_index.end() ? -1 : static_cast<int32_t>(it->second);
    }
};

}  // namespace meridian::steer

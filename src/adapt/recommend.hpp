// Rule recommendations: from where a steered name's clients are (a decayed sample of its answers
// by route, client country and region, stats::ClientSamples → ops::ClientMix), how far each
// region is from them (an operator's latency matrix, else an estimate from great-circle
// distance) and what each region may still take (its capacity), the route changes that would
// lower the expected latency of the name's clients. Nothing is applied: each comes with a TOML
// snippet an operator can paste and the gain expected from it.
//
// For each route and country seen, the expected latency now is the mean over the regions its
// answers went to; the best region is the one of the zone's regions with the lowest latency
// from that country. When the difference is at least `min_gain_ms`, moving that country is a
// candidate. Candidates of one route and one best region are merged into one recommendation: a
// new route placed before that route, sending those countries to the best region first and the
// route's own regions after it (failover), so health still decides when the best one is down. A
// region with a capacity takes only what fits under kCapacityHeadroom of it, less what it is
// sent now, shared by all the recommendations that send it more (those with the most to gain
// first, the largest countries first); while the name's answer rate is not known yet (no
// forecast bucket has closed), it takes none.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "adapt/latency_matrix.hpp"
#include "steer/policy.hpp"

namespace meridian::adapt {

// The estimate without a matrix: light in fibre covers about 200 km per ms, a round trip twice
// the path, and paths run about 1.5 times the great circle: 0.015 ms per km, plus a few ms at
// each end.
inline constexpr double kRttMsPerKm = 0.015;
inline constexpr double kRttBaseMs = 5.0;
// A recommendation may fill a region up to this fraction of its capacity.
inline constexpr double kCapacityHeadroom = 0.9;

// The answers sampled for one name, route, country and region (decayed counts).
struct MixCell {
    uint32_t name = 0;
    int32_t route = -1;
    std::array<char, 2> country{};
    uint32_t region = 0;
    double answers = 0;
};

struct RecommendInput {
    const steer::Policy* policy = nullptr;
    std::vector<MixCell> mix;
    const LatencyMatrix* matrix = nullptr;  // may be null: estimates only
    // Answers per second each region (by index) is sent now, and each name is answered; empty
    // or 0: not measured yet (a region with a capacity is then recommended nothing).
    std::vector<double> region_rate;
    std::vector<double> name_rate;
    double min_gain_ms = 5;
    double min_share = 0.01;  // of the name's sampled answers
    double min_samples = 20;  // sampled answers behind a recommendation
};

struct Recommendation {
    uint32_t name = 0;
    uint32_t before_route = 0;  // the new route goes just before this one (0-based)
    std::vector<std::array<char, 2>> countries;
    uint32_t region = 0;
    std::vector<uint32_t> fallback;  // the route's own regions, after `region`
    double current_ms = 0;           // expected latency of the moved answers now
    double proposed_ms = 0;          // … and with the change
    double share = 0;                // of the name's answers
    double samples = 0;
    bool is_estimated = false;         // some latency came from distance rather than the matrix
    bool is_capacity_limited = false;  // some countries were left out for the region's capacity

    double gain_ms() const noexcept { return current_ms - proposed_ms; }
};

// Where a latency came from.
struct Rtt {
    double ms = 0;
    bool is_estimated = false;
};
// The matrix's value, else the estimate from the country's capital to the region's location;
// nullopt when neither is known.
std::optional<Rtt> rtt_of(const steer::Policy& policy, const LatencyMatrix* matrix, std::array<char, 2> country,
                          uint32_t region);

// Best first: by expected gain times share.
std::vector<Recommendation> recommend(const RecommendInput& input);

// The TOML an operator pastes into the zone file; `name_key` is the name's key under [names]
// (e.g. "www" or "@"), `route_line` the line of the route it goes before (0: unknown).
std::string toml_snippet(const steer::Policy& policy, const Recommendation& r, const std::string& name_key,
                         uint32_t route_line);
// One line: "route 3: send BR, AR to us-east-1 instead of nearest: expected −38 ms for 12 % of answers".
std::string summary(const steer::Policy& policy, const Recommendation& r);

}  // namespace meridian::adapt

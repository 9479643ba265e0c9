// Where each steered name's clients are: the answers sampled by the workers (stats::
// ClientSamples), drained on each analytics tick and kept as counts per zone, name, route, client
// country and region that decay with a half-life, so recommendations follow recent traffic.
// Keyed by origin, owner, region name and what a route says (route_fingerprint: its conditions,
// regions and strategy), so the counts survive a reload that keeps them; a name whose routes a
// reload changed (a pasted recommendation, say) starts its counts afresh. At most kMaxCells
// cells are kept: new ones beyond that are dropped (and counted) until old ones decay away.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "adapt/recommend.hpp"
#include "answer/snapshot.hpp"

namespace meridian::ops {

// A hash of what `route` says: its conditions, its regions by name with their weights, its strategy.
uint64_t route_fingerprint(const steer::Policy& policy, const steer::Route& route);

class ClientMix {
public:
    static constexpr std::size_t kMaxCells = 200000;
    // A cell decayed below this many answers is forgotten.
    static constexpr double kForgetBelow = 0.01;

    explicit ClientMix(uint32_t half_life_ms) : half_life_seconds_(half_life_ms / 1000.0) {}

    // Drains every zone's samples and decays what is kept by `seconds` since the last update.
    void update(const answer::Snapshot& snapshot, double seconds);

    // The cells of `served`'s zone, with indices into its policy (cells of names or regions it
    // no longer has are left out).
    std::vector<adapt::MixCell> cells(const zone::ServedZone& served) const;

    uint64_t lost() const noexcept { return lost_; }        // overwritten in a ring before a drain
    uint64_t dropped() const noexcept { return dropped_; }  // over kMaxCells
    std::size_t size() const noexcept { return cells_.size(); }

private:
    // zone, owner, route fingerprint (0: the fail policy), country, region
    using Key = std::tuple<std::string, std::string, uint64_t, std::array<char, 2>, std::string>;
    double half_life_seconds_;
    std::map<Key, double> cells_;
    std::map<std::pair<std::string, std::string>, std::vector<uint64_t>> routes_seen_;  // per zone and name
    std::vector<stats::ClientSample> drained_;                                          // reused between updates
    uint64_t lost_ = 0;
    uint64_t dropped_ = 0;
};

}  // namespace meridian::ops

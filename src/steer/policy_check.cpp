#include "steer/policy_check.hpp"

#include <algorithm>
#include <string>

namespace meridian::steer {

namespace {

template <typename T>
bool is_subset(const std::vector<T>& part, const std::vector<T>& whole) {
    return std::all_of(part.begin(), part.end(),
                       [&](const T& v) { return std::find(whole.begin(), whole.end(), v) != whole.end(); });
}

// Every network of `inner`'s sets lies inside some network of `outer`'s sets.
bool cidrs_within(const Policy& policy, const std::vector<uint32_t>& inner, const std::vector<uint32_t>& outer) {
    for (const uint32_t i : inner) {
        for (const geo::Network& n : policy.cidr_sets[i].networks) {
            bool is_inside = false;
            for (const uint32_t o : outer) {
                for (const geo::Network& m : policy.cidr_sets[o].networks) is_inside = is_inside || m.contains(n);
            }
            if (!is_inside) return false;
        }
    }
    return true;
}

// True when every client `later` matches is matched by `earlier` too: each part `earlier`
// tests is tested by `later` with a narrower (or equal) set of values.
bool implies(const Policy& policy, const Condition& later, const Condition& earlier) {
    auto part = [](const auto& e, const auto& l) { return e.empty() || (!l.empty() && is_subset(l, e)); };
    return part(earlier.continents, later.continents) && part(earlier.countries, later.countries) &&
           part(earlier.subdivisions, later.subdivisions) && part(earlier.asns, later.asns) &&
           part(earlier.location_sets, later.location_sets) &&
           (earlier.cidr_sets.empty() ||
            (!later.cidr_sets.empty() && cidrs_within(policy, later.cidr_sets, earlier.cidr_sets)));
}

bool targets_within(const Route& inner, const Route& outer) {
    return std::all_of(inner.targets.begin(), inner.targets.end(), [&](const Target& t) {
        return std::any_of(outer.targets.begin(), outer.targets.end(),
                           [&](const Target& o) { return o.region == t.region; });
    });
}

bool same_targets(const Route& a, const Route& b) { return targets_within(a, b) && targets_within(b, a); }

}  // namespace

void check_policy(const Policy& policy, Diagnostics* diagnostics) {
    for (const SteeredName& name : policy.names) {
        for (std::size_t j = 1; j < name.routes.size(); ++j) {
            const Route& later = name.routes[j];
            for (std::size_t i = 0; i < j; ++i) {
                const Route& earlier = name.routes[i];
                // Unreachable: whoever it matches, an earlier route matches first, and even when
                // that route has nothing healthy left this one offers no region it did not.
                if (implies(policy, later.when, earlier.when) && targets_within(later, earlier)) {
                    diagnostics->error(later.where, "route " + std::to_string(j + 1) + " can never answer: route " +
                                                        std::to_string(i + 1) + " (line " +
                                                        std::to_string(earlier.where.line) +
                                                        ") matches all its clients first, with the same regions");
                    break;
                }
                if (same_targets(earlier, later)) continue;
                for (const uint32_t a : earlier.when.cidr_sets) {
                    for (const uint32_t b : later.when.cidr_sets) {
                        for (const geo::Network& n : policy.cidr_sets[a].networks) {
                            for (const geo::Network& m : policy.cidr_sets[b].networks) {
                                if (!n.overlaps(m)) continue;
                                diagnostics->error(later.where, "CIDR " + geo::to_string(m) + " overlaps " +
                                                                    geo::to_string(n) + " of route " +
                                                                    std::to_string(i + 1) + " (line " +
                                                                    std::to_string(earlier.where.line) +
                                                                    "), which sends to different regions");
                            }
                        }
                    }
                }
            }
        }
    }
}

}  // namespace meridian::steer

// The health side of a compiled zone: its checks and, per region, which check probes it and
// where. Compiled from a zone file beside the steering policy (never inside it) and immutable
// once built; the health monitor reads it, answers never do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "health/check_spec.hpp"

namespace meridian::health {

struct RegionCheck {
    std::string region;  // the region's name, for logs and status
    int32_t check = -1;  // into CheckPlan::checks; -1: never probed, always healthy
    // Where its probes go: the check's address, else the region's check_address, else the
    // region's first address; "" when the check needs none (an absolute URL, a file, none).
    std::string address;
    // The address is the region's first (no check address, no check_address): it follows the
    // region's members when a feed or a push replaces them.
    bool is_address_from_region = false;
};

struct CheckPlan {
    std::vector<CheckSpec> checks;
    std::vector<RegionCheck> regions;  // one per region of the zone's policy, in the same order

    // The check of region `index`, or null when nothing probes it.
    const CheckSpec* check_of(std::size_t index) const noexcept {
        if (index >= regions.size() || regions[index].check < 0) return nullptr;
        return &checks[static_cast<std::size_t>(regions[index].check)];
    }
};

}  // namespace meridian::health

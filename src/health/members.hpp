// A region whose addresses are judged one by one ("members"): what its region slot says, made
// from its members' slots. Pure: the health monitor calls it after every change of a member or
// of the region's own check, and the unit tests call it directly.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "health/state.hpp"

namespace meridian::health {

struct MemberView {
    RegionHealth word;  // the member's slot: its probes' verdict under its source's word
    bool is_ipv6 = false;
    bool is_standby = false;  // healthy but held back as degraded (weight 0): counts as healthy
};

struct MemberSummary {
    RegionHealth region;            // what the region slot says (override left as none)
    std::vector<bool> is_answered;  // per member: answers carry it now
    uint32_t healthy = 0;           // members healthy (standbys included)
    uint32_t usable = 0;            // … or at least degraded
    uint32_t out = 0;               // left out: unhealthy, or down or drained by their source
};

// `is_per_address`: the region's state comes from its members (healthy while at least
// `min_healthy` are healthy, degraded while that many are at least degraded), as do its latency,
// success and load (means over the answerable members that have them). Otherwise `region_check`
// (the region's own check) gives all that, and members only add the pruned and family bits —
// and their sources' load when the check reports none.
MemberSummary summarise_members(std::span<const MemberView> members, bool is_per_address, uint32_t min_healthy,
                                const RegionHealth& region_check);

}  // namespace meridian::health

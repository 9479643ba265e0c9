// The control-plane side of a compiled zone: its checks and, per region, which check probes it
// and where, and where its members may come from besides the zone file. Compiled from a zone
// file beside the steering policy (never inside it) and immutable once built; the health monitor
// and the member store read it, answers never do.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "health/check_spec.hpp"

namespace meridian::health {

enum class AddressFamily : uint8_t { any, ipv4, ipv6 };

// What a region accepts as members, from a feed or a push (its [regions.NAME.members] table).
struct MemberRules {
    AddressFamily family = AddressFamily::any;
    uint32_t max_members = 64;
    bool allow_empty = false;  // a list with no member empties the region instead of being refused
};

// Where a region's members are read from besides its zone file: a member document at a URL
// (fetched every interval with conditional requests) or in a file (read again when it changes).
struct MemberFeed {
    std::string url;   // http:// or https://
    std::string path;  // resolved against the zone file's directory; "" when url is set
    uint32_t interval_ms = 30000;
    uint32_t timeout_ms = 5000;

    bool is_set() const noexcept { return !url.empty() || !path.empty(); }
};

struct RegionCheck {
    std::string region;  // the region's name, for logs and status
    int32_t check = -1;  // into CheckPlan::checks; -1: never probed, always healthy
    // Where its probes go: the check's address, else the region's check_address, else the
    // region's first address; "" when the check needs none (an absolute URL, a file, none).
    std::string address;
    // The address is the region's first (no check address, no check_address): it follows the
    // region's members when a feed or a push replaces them.
    bool is_address_from_region = false;
    MemberRules member_rules;
    // The region's labels, for a prometheus check's template ({label:KEY}).
    std::vector<std::pair<std::string, std::string>> labels;
    MemberFeed feed;  // !feed.is_set(): members only from the zone file and pushes
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

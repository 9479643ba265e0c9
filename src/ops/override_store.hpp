// Operators' overrides of regions (up, down, drain; optional expiry) by region key: written onto
// the region's health board slot, again onto new boards after each publish (dropped with their
// region), cleared when they expire. Reading requests is override_request.hpp's job.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "health/state.hpp"
#include "ops/region_key.hpp"

namespace meridian::ops {

using SystemClock = std::chrono::system_clock;

struct Override {
    health::Override action = health::Override::none;
    std::string reason;
    SystemClock::time_point set_at;
    SystemClock::time_point expires;  // epoch: never
    bool is_fleet = false;            // fleet mode: set for every node (through etcd)
    std::string by;                   // … by this node

    bool is_expiring() const noexcept { return expires != SystemClock::time_point{}; }
};

// "up", "down", "drain" or "none", as the admin API writes an action.
const char* action_name(health::Override action) noexcept;
int64_t epoch_seconds(SystemClock::time_point t);

class OverrideStore {
public:
    enum class Cleared { cleared, no_region, no_override };

    // Sets (or replaces) the override of `key` and writes it onto the region's board; false
    // (and nothing kept) when `snapshot` has no such region.
    bool set(const answer::Snapshot& snapshot, const RegionKey& key, Override o);
    // Removes the override of `key`; the region's board says "none" whenever the region exists.
    Cleared clear(const answer::Snapshot& snapshot, const RegionKey& key);
    // Clears the overrides whose time is up at `now`; returns their keys.
    std::vector<RegionKey> expire(const answer::Snapshot& snapshot, SystemClock::time_point now);
    // After a publish: writes every override onto `snapshot`'s boards; one whose region is gone
    // is dropped, and its key returned.
    std::vector<RegionKey> apply(const answer::Snapshot& snapshot);

    const Override* find(const RegionKey& key) const;
    std::size_t size() const noexcept { return overrides_.size(); }

private:
    std::map<RegionKey, Override> overrides_;
};

}  // namespace meridian::ops

// All zones served by one snapshot, found by the longest origin that encloses a name. Copies
// share the zones (the index keys point into them, and they never move).
#pragma once

#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zone/zone.hpp"

namespace meridian::zone {

class ZoneSet {
public:
    // Fails (returns false) when a zone with the same origin is already present.
    bool add(std::shared_ptr<const Zone> zone);

    // The zone with the longest origin at or above `lower_wire_name`, or null.
    const Zone* find_zone(std::string_view lower_wire_name) const noexcept;

    const std::vector<std::shared_ptr<const Zone>>& zones() const noexcept { return zones_; }

private:
    // Shared, so that a snapshot rebuilt for new geo databases reuses the compiled zones.
    std::vector<std::shared_ptr<const Zone>> zones_;
    std::unordered_map<std::string_view, const Zone*> by_origin_;  // keys owned by the zones
};

}  // namespace meridian::zone

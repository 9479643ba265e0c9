// All zones served by one snapshot, found by the longest origin that encloses a name.
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
    bool add(std::unique_ptr<Zone> zone);

    // The zone with the longest origin at or above `lower_wire_name`, or null.
    const Zone* find_zone(std::string_view lower_wire_name) const noexcept;

    const std::vector<std::unique_ptr<Zone>>& zones() const noexcept { return zones_; }

private:
    std::vector<std::unique_ptr<Zone>> zones_;
    std::unordered_map<std::string_view, const Zone*> by_origin_;  // keys owned by the zones
};

}  // namespace meridian::zone

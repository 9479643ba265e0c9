#include "zone/zone_set.hpp"

namespace meridian::zone {

bool ZoneSet::add(std::shared_ptr<const Zone> zone, std::shared_ptr<ZoneRuntime> runtime) {
    if (!by_origin_.emplace(zone->origin(), static_cast<uint32_t>(zones_.size())).second) return false;
    zones_.push_back({std::move(zone), std::move(runtime)});
    return true;
}

const ServedZone* ZoneSet::find_origin(std::string_view origin) const noexcept {
    const auto it = by_origin_.find(origin);
    return it == by_origin_.end() ? nullptr : &zones_[it->second];
}

const ServedZone* ZoneSet::find_zone(std::string_view name) const noexcept {
    // Longest match first: try the name itself, then each parent.
    std::size_t pos = 0;
    while (pos < name.size()) {
        if (const ServedZone* served = find_origin(name.substr(pos))) return served;
        const auto len = static_cast<uint8_t>(name[pos]);
        if (len == 0) break;
        pos += len + 1u;
    }
    return nullptr;
}

}  // namespace meridian::zone

#include "zone/zone_set.hpp"

namespace meridian::zone {

bool ZoneSet::add(std::shared_ptr<const Zone> zone) {
    const Zone* raw = zone.get();
    if (!by_origin_.emplace(raw->origin(), raw).second) return false;
    zones_.push_back(std::move(zone));
    return true;
}

const Zone* ZoneSet::find_zone(std::string_view name) const noexcept {
    // Longest match first: try the name itself, then each parent.
    std::size_t pos = 0;
    while (pos < name.size()) {
        const auto it = by_origin_.find(name.substr(pos));
        if (it != by_origin_.end()) return it->second;
        const auto len = static_cast<uint8_t>(name[pos]);
        if (len == 0) break;
        pos += len + 1u;
    }
    return nullptr;
}

}  // namespace meridian::zone

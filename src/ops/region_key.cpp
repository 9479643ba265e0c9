#include "ops/region_key.hpp"

#include <cctype>

#include "dns/name.hpp"

namespace meridian::ops {

RegionKey RegionKey::from_request(const std::string& zone_text, const std::string& region) {
    return {normalise_zone_name(zone_text), region};
}

RegionKey RegionKey::of(const zone::ServedZone& served, std::size_t index) {
    return {dns::name_to_text(served.zone().origin()), served.zone().policy().regions[index].name};
}

std::string RegionKey::to_string() const { return zone + "/" + region; }

std::string normalise_zone_name(const std::string& text) {
    std::string out;
    for (const char c : text) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out.empty() || out.back() != '.') out += '.';
    return out;
}

RegionRef find_region(const answer::Snapshot& snapshot, const RegionKey& key) {
    const auto origin = dns::lower_wire_from_text(key.zone);
    if (!origin) return {};
    const zone::ServedZone* served = snapshot.zones.find_origin(*origin);
    if (served == nullptr) return {};
    const int32_t index = served->zone().policy().find_region(key.region);
    if (index < 0) return {};
    return {served, static_cast<std::size_t>(index)};
}

}  // namespace meridian::ops

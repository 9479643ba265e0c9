// How operators name a region: its zone's origin and its name in that zone's policy, written
// "geo.example.com./eu-west-1" in logs. Finding the region a key names goes through the
// snapshot's indexes (origin, then region name), never a scan over every zone.
#pragma once

#include <compare>
#include <cstddef>
#include <string>

#include "answer/snapshot.hpp"

namespace meridian::ops {

struct RegionKey {
    std::string zone;    // origin as text: lower case, with the final dot ("geo.example.com.")
    std::string region;  // the region's name in the zone's policy

    // As the admin API takes it: the zone in any case, with or without its final dot.
    static RegionKey from_request(const std::string& zone_text, const std::string& region);
    // Region `index` of `served`.
    static RegionKey of(const zone::ServedZone& served, std::size_t index);

    // "geo.example.com./eu-west-1"
    std::string to_string() const;

    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted comparison
    auto operator<=>(const RegionKey&) const = default;
};

// "geo.example.com" or "GEO.example.com." → "geo.example.com."
std::string normalise_zone_name(const std::string& text);

// A region of a served zone: the zone and the region's index (its slot on the health board).
struct RegionRef {
    const zone::ServedZone* served = nullptr;  // null: no such zone or region
    std::size_t index = 0;

    explicit operator bool() const noexcept { return served != nullptr; }
};

RegionRef find_region(const answer::Snapshot& snapshot, const RegionKey& key);

}  // namespace meridian::ops

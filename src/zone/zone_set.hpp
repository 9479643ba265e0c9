// All zones served by one snapshot, each compiled model with its runtime beside it, found by the
// longest origin that encloses a name. Copies share the zones and their runtimes (a snapshot
// rebuilt for new geo databases keeps both).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zone/runtime.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

// One served zone: the immutable model and the state that changes while it is served.
struct ServedZone {
    std::shared_ptr<const Zone> model;     // never null
    std::shared_ptr<ZoneRuntime> runtime;  // never null

    const Zone& zone() const noexcept { return *model; }
};

class ZoneSet {
public:
    // Fails (returns false) when a zone with the same origin is already present.
    bool add(std::shared_ptr<const Zone> zone, std::shared_ptr<ZoneRuntime> runtime);
    // The same with a fresh runtime for `workers` workers (tests, tools).
    bool add(std::shared_ptr<const Zone> zone, std::size_t workers = 1) {
        auto runtime = std::make_shared<ZoneRuntime>(*zone, workers);
        return add(std::move(zone), std::move(runtime));
    }

    // The zone with the longest origin at or above `lower_wire_name`, or null.
    const ServedZone* find_zone(std::string_view lower_wire_name) const noexcept;
    // The zone whose origin is exactly `lower_wire_origin`, or null.
    const ServedZone* find_origin(std::string_view lower_wire_origin) const noexcept;

    const std::vector<ServedZone>& zones() const noexcept { return zones_; }

private:
    std::vector<ServedZone> zones_;
    std::unordered_map<std::string_view, uint32_t> by_origin_;  // into zones_; keys owned by the zones
};

}  // namespace meridian::zone

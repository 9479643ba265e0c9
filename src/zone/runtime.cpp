#include "zone/runtime.hpp"

#include <vector>

namespace meridian::zone {

namespace {

std::vector<std::size_t> routes_per_name(const steer::Policy& policy) {
    std::vector<std::size_t> routes;
    routes.reserve(policy.names.size());
    for (const steer::SteeredName& name : policy.names) routes.push_back(name.routes.size());
    return routes;
}

}  // namespace

ZoneRuntime::ZoneRuntime(const Zone& zone, std::size_t workers, std::shared_ptr<stats::ZoneStats> carried)
    : health_(zone.policy().health_slots()), feedback_(zone.policy().regions.size(), zone.policy().target_slots),
      steering_(routes_per_name(zone.policy()), zone.policy().regions.size()),
      queries_(carried != nullptr && carried->workers() == workers ? std::move(carried)
                                                                   : std::make_shared<stats::ZoneStats>(workers)),
      samples_(workers, !zone.policy().names.empty()) {}

}  // namespace meridian::zone

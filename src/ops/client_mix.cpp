#include "ops/client_mix.hpp"

#include <cmath>

#include "dns/name.hpp"

namespace meridian::ops {

void ClientMix::update(const answer::Snapshot& snapshot, double seconds) {
    if (seconds > 0 && half_life_seconds_ > 0) {
        const double keep = std::exp2(-seconds / half_life_seconds_);
        for (auto it = cells_.begin(); it != cells_.end();) {
            it->second *= keep;
            it = it->second < kForgetBelow ? cells_.erase(it) : std::next(it);
        }
    }
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        stats::ClientSamples& samples = served.runtime->samples();
        if (!samples.is_enabled()) continue;
        drained_.clear();
        samples.drain(&drained_, &lost_);
        if (drained_.empty()) continue;
        const steer::Policy& policy = served.zone().policy();
        const std::string origin = dns::name_to_text(served.zone().origin());
        for (const stats::ClientSample& s : drained_) {
            if (s.name >= policy.names.size() || s.region >= policy.regions.size()) continue;
            Key key{origin, dns::name_to_text(policy.names[s.name].owner), s.route, s.country,
                    policy.regions[s.region].name};
            const auto it = cells_.find(key);
            if (it != cells_.end()) {
                it->second += 1;
            } else if (cells_.size() < kMaxCells) {
                cells_.emplace(std::move(key), 1.0);
            } else {
                ++dropped_;
            }
        }
    }
}

std::vector<adapt::MixCell> ClientMix::cells(const zone::ServedZone& served) const {
    std::vector<adapt::MixCell> out;
    const steer::Policy& policy = served.zone().policy();
    const std::string origin = dns::name_to_text(served.zone().origin());
    std::map<std::string, uint32_t> names;
    for (uint32_t n = 0; n < policy.names.size(); ++n) names[dns::name_to_text(policy.names[n].owner)] = n;
    for (auto it = cells_.lower_bound(Key{origin, "", INT32_MIN, {}, ""}); it != cells_.end(); ++it) {
        const auto& [zone, owner, route, country, region] = it->first;
        if (zone != origin) break;
        const auto name = names.find(owner);
        const int32_t r = policy.find_region(region);
        if (name == names.end() || r < 0) continue;
        out.push_back({name->second, route, country, static_cast<uint32_t>(r), it->second});
    }
    return out;
}

}  // namespace meridian::ops

#include "ops/client_mix.hpp"

#include <cmath>

#include "common/fnv1a.hpp"
#include "dns/name.hpp"

namespace meridian::ops {

namespace {

void mix_text(Fnv1a* h, std::string_view text) {
    for (const char c : text) h->mix(static_cast<uint8_t>(c));
    h->mix(0);  // a separator, so "ab","c" and "a","bc" differ
}

void mix_number(Fnv1a* h, uint64_t n) {
    for (int i = 0; i < 8; ++i) h->mix(static_cast<uint8_t>(n >> (8 * i)));
}

}  // namespace

uint64_t route_fingerprint(const steer::Policy& policy, const steer::Route& route) {
    Fnv1a h;
    mix_text(&h, steer::to_string(route.strategy));
    for (const steer::Target& t : route.targets) {
        mix_text(&h, policy.regions[t.region].name);
        mix_number(&h, t.weight);
    }
    const steer::Condition& when = route.when;
    mix_text(&h, "when");
    for (const auto& c : when.continents) mix_text(&h, c.view());
    mix_text(&h, "countries");
    for (const auto& c : when.countries) mix_text(&h, c.view());
    mix_text(&h, "subdivisions");
    for (const auto& sub : when.subdivisions)
        mix_text(&h, std::string(sub.country.view()) + "-" + std::string(sub.code.view()));
    mix_text(&h, "asns");
    for (const uint32_t a : when.asns) mix_number(&h, a);
    mix_text(&h, "cidrs");
    for (const uint32_t i : when.cidr_sets) {
        mix_text(&h, policy.cidr_sets[i].name);
        for (const auto& n : policy.cidr_sets[i].networks) {
            h.mix(n.address.family);
            for (const uint8_t b : n.address.bytes) h.mix(b);
            h.mix(n.prefix_length);
        }
    }
    mix_text(&h, "locations");
    for (const uint32_t i : when.location_sets) mix_text(&h, policy.location_sets[i].name);
    // 0 stands for the fail policy.
    return h.value() == 0 ? 1 : h.value();
}

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
        const steer::Policy& policy = served.zone().policy();
        const std::string origin = dns::name_to_text(served.zone().origin());
        std::vector<std::vector<uint64_t>> fingerprints;
        for (const steer::SteeredName& name : policy.names) {
            fingerprints.emplace_back();
            for (const steer::Route& route : name.routes)
                fingerprints.back().push_back(route_fingerprint(policy, route));
            // A name whose routes changed (a reload) starts afresh: what its clients did under the
            // old routes does not say what the new ones would gain.
            const std::string owner = dns::name_to_text(name.owner);
            auto [seen, is_new] = routes_seen_.try_emplace({origin, owner}, fingerprints.back());
            if (!is_new && seen->second != fingerprints.back()) {
                seen->second = fingerprints.back();
                const auto first = cells_.lower_bound(Key{origin, owner, 0, {}, ""});
                auto last = first;
                while (last != cells_.end() && std::get<0>(last->first) == origin && std::get<1>(last->first) == owner)
                    ++last;
                cells_.erase(first, last);
            }
        }
        drained_.clear();
        samples.drain(&drained_, &lost_);
        if (drained_.empty()) continue;
        for (const stats::ClientSample& s : drained_) {
            if (s.name >= policy.names.size() || s.region >= policy.regions.size()) continue;
            const steer::SteeredName& name = policy.names[s.name];
            if (s.route >= 0 && static_cast<std::size_t>(s.route) >= name.routes.size()) continue;
            const uint64_t route = s.route < 0 ? 0 : fingerprints[s.name][static_cast<std::size_t>(s.route)];
            Key key{origin, dns::name_to_text(name.owner), route, s.country, policy.regions[s.region].name};
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
    // Each name's routes by what they say: a cell whose route is no longer there is left out.
    std::map<std::string, std::pair<uint32_t, std::map<uint64_t, int32_t>>> names;
    for (uint32_t n = 0; n < policy.names.size(); ++n) {
        auto& [index, routes] = names[dns::name_to_text(policy.names[n].owner)];
        index = n;
        routes[0] = -1;
        for (std::size_t r = 0; r < policy.names[n].routes.size(); ++r)
            routes.emplace(route_fingerprint(policy, policy.names[n].routes[r]), static_cast<int32_t>(r));
    }
    for (auto it = cells_.lower_bound(Key{origin, "", 0, {}, ""}); it != cells_.end(); ++it) {
        const auto& [zone, owner, fingerprint, country, region] = it->first;
        if (zone != origin) break;
        const auto name = names.find(owner);
        const int32_t r = policy.find_region(region);
        if (name == names.end() || r < 0) continue;
        const auto route = name->second.second.find(fingerprint);
        if (route == name->second.second.end()) continue;
        out.push_back({name->second.first, route->second, country, static_cast<uint32_t>(r), it->second});
    }
    return out;
}

}  // namespace meridian::ops

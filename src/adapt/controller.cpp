#include "adapt/controller.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace meridian::adapt {

namespace {

// The offered rate is smoothed over about this long, so one busy moment does not spill traffic.
constexpr double kRateTimeConstantSeconds = 2.0;
// A capacity never takes a region below this share of what it is offered: what it is sent then
// still measures what it is offered, so the factor can recover when demand falls.
constexpr double kMinCapacityFactor = 0.01;
constexpr double kDefaultTimeConstantMs = 30000;

std::string key_of(std::string_view a, std::string_view b) {
    std::string key(a);
    key.push_back('\0');
    key.append(b);
    return key;
}

// Weight of the EWMA's newest sample after `dt` seconds with time constant `tau` seconds.
double ewma_alpha(double dt, double tau) noexcept { return tau <= 0 ? 1.0 : 1.0 - std::exp(-dt / tau); }

uint16_t permille(double factor) noexcept {
    return static_cast<uint16_t>(std::lround(std::clamp(factor, 0.0, 1.0) * steer::kWholeShare));
}

}  // namespace

double shed_factor(double load, double low, double high) noexcept {
    if (load <= low) return 1.0;
    if (load >= high) return 0.0;
    return (high - load) / (high - low);
}

double Controller::move(double from, double to) const noexcept {
    return from + std::clamp(to - from, -settings_.max_step, settings_.max_step);
}

const Controller::RegionState* Controller::region(std::string_view zone, std::string_view region) const {
    const auto it = regions_.find(key_of(zone, region));
    return it == regions_.end() ? nullptr : &it->second;
}

void Controller::step(std::string_view zone, const steer::Policy& policy, const health::HealthBoard& health,
                      const stats::SteerStats& sent, steer::FeedbackBoard* out, double now, double wall_seconds) {
    if (wall_seconds < 0)
        wall_seconds = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    // A region's latency EWMA follows the shortest time constant of the adaptive routes using it.
    std::vector<double> time_constant_ms(policy.regions.size(), kDefaultTimeConstantMs);
    bool has_adaptive = false;
    for (const steer::SteeredName& name : policy.names) {
        for (const steer::Route& route : name.routes) {
            if (route.strategy != steer::Strategy::adaptive) continue;
            has_adaptive = true;
            for (const steer::Target& t : route.targets)
                time_constant_ms[t.region] = std::min<double>(time_constant_ms[t.region], route.time_constant_ms);
        }
    }
    const std::string zone_key(zone);
    for (std::size_t i = 0; i < policy.regions.size() && i < out->regions() && i < health.size(); ++i) {
        steer::RegionFeedback feedback;
        step_region(key_of(zone_key, policy.regions[i].name), policy.regions[i], health.read(i), sent.region_answers(i),
                    time_constant_ms[i], now, wall_seconds, &feedback);
        out->set_region(i, feedback);
    }
    if (!has_adaptive) return;
    for (const steer::SteeredName& name : policy.names) {
        for (std::size_t r = 0; r < name.routes.size(); ++r) {
            const steer::Route& route = name.routes[r];
            if (route.strategy != steer::Strategy::adaptive) continue;
            step_route(zone_key, key_of(key_of(zone_key, name.owner), std::to_string(r)), policy, route, out, now);
        }
    }
}

void Controller::step_region(const std::string& key, const steer::Region& region, const health::RegionHealth& health,
                             uint64_t sent, double time_constant_ms, double now, double wall_seconds,
                             steer::RegionFeedback* out) {
    RegionState& s = regions_[key];
    const double dt = s.last_step < 0 ? 0 : now - s.last_step;

    if (region.has_cost) {
        // Answers since the last step (new counters after a reload count from zero).
        const uint64_t added = sent >= s.last_sent ? sent - s.last_sent : sent;
        const auto period = static_cast<int64_t>(wall_seconds * 1000.0 / static_cast<double>(region.commit_period_ms));
        if (period != s.period) {
            s.period = period;
            s.period_answers = 0;
            s.period_volume = 0;
        }
        s.period_answers += static_cast<double>(added);
        s.period_volume += static_cast<double>(added) * region.volume_per_answer();
        out->is_commit_used = region.commit > 0 && s.period_volume >= region.commit;
    }

    if (health.has_measurement) {
        const double alpha = s.has_latency ? ewma_alpha(dt, time_constant_ms / 1000.0) : 1.0;
        s.latency_ms += alpha * (health.latency_ms - s.latency_ms);
        s.has_latency = true;
    }

    if (region.capacity == 0) {
        s.capacity_factor = 1;
    } else if (s.last_step >= 0 && dt > 0 && sent >= s.last_sent) {
        // What was offered to the region since the last step: it took about `admission` of it,
        // the factors in effect over that time (before this step changes them).
        const double admission = s.capacity_factor * s.load_factor;
        if (admission >= steer::kMinShareToMeasure) {  // else the capacity factor stays where it is
            const double offered = static_cast<double>(sent - s.last_sent) / dt / admission;
            s.offered_per_second = s.offered_per_second < 0
                                       ? offered
                                       : s.offered_per_second + ewma_alpha(dt, kRateTimeConstantSeconds) *
                                                                    (offered - s.offered_per_second);
            const double target = s.offered_per_second <= region.capacity ? 1.0
                                                                          : region.capacity / s.offered_per_second;
            s.capacity_factor = std::max(kMinCapacityFactor, move(s.capacity_factor, target));
        }
    }
    // The load factor moves after the capacity factor has used it: the answers just counted were
    // sent while the old one was in effect. No load reported (yet): the region keeps its share.
    const double load_target = region.has_shed && health.has_load
                                   ? shed_factor(health.load_centi / 100.0, region.shed_low, region.shed_high)
                                   : 1.0;
    s.load_factor = move(s.load_factor, load_target);
    s.last_sent = sent;  // a smaller count than before: new counters after a reload, measured from here
    s.last_step = now;

    out->capacity_factor = permille(s.capacity_factor);
    out->load_factor = permille(s.load_factor);
    out->has_latency = s.has_latency;
    out->latency_tenths_ms = static_cast<uint32_t>(std::lround(std::min(s.latency_ms * 10.0, 4.0e9)));
}

void Controller::step_route(const std::string& zone, const std::string& prefix, const steer::Policy& policy,
                            const steer::Route& route, steer::FeedbackBoard* out, double now) {
    const std::size_t n = route.targets.size();
    std::vector<const RegionState*> states(n, nullptr);
    double best = HUGE_VAL;
    for (std::size_t i = 0; i < n; ++i) {
        const auto it = regions_.find(key_of(zone, policy.regions[route.targets[i].region].name));
        if (it != regions_.end() && it->second.has_latency) {
            states[i] = &it->second;
            best = std::min(best, it->second.latency_ms);
        }
    }
    // Targets: inside the band, the configured weight scaled by how much faster than the slowest
    // allowed a region is (best / latency); outside it, nothing. No measurement at all: the
    // configured weights.
    std::vector<double> target(n, 0);
    double total = 0;
    const bool has_data = best != HUGE_VAL;
    const double edge = route.band_ms > 0 ? best + route.band_ms : best * (1.0 + route.band_percent / 100.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double configured = route.targets[i].weight;
        if (!has_data) target[i] = configured;
        else if (states[i] != nullptr && states[i]->latency_ms <= edge)
            target[i] = configured * (best > 0 ? best / std::max(states[i]->latency_ms, best) : 1.0);
        total += target[i];
    }
    if (total <= 0) {  // every configured weight is 0 in the band: share alike
        std::fill(target.begin(), target.end(), 1.0);
        total = static_cast<double>(n);
    }
    for (double& t : target) t /= total;

    // Current shares: from the last step, or the configured split for a new target.
    std::vector<TargetState*> shares(n);
    double configured_total = 0;
    for (const steer::Target& t : route.targets) configured_total += t.weight;
    for (std::size_t i = 0; i < n; ++i) {
        const auto [it, is_new] = targets_.try_emplace(key_of(prefix, policy.regions[route.targets[i].region].name));
        shares[i] = &it->second;
        if (is_new) {
            it->second.share = configured_total > 0 ? route.targets[i].weight / configured_total
                                                    : 1.0 / static_cast<double>(n);
        }
    }
    // Move every share toward its target by the same fraction, so the largest move is max_step and
    // the shares still sum to 1.
    double largest = 0;
    for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(target[i] - shares[i]->share));
    const double k = largest < kDeadBand ? 0.0 : std::min(1.0, settings_.max_step / largest);
    for (std::size_t i = 0; i < n; ++i) {
        TargetState& s = *shares[i];
        const double delta = k * (target[i] - s.share);
        s.share += delta;
        const int direction = delta > kDeadBand / 2 ? 1 : delta < -kDeadBand / 2 ? -1 : 0;
        if (direction != 0) {
            if (s.direction != 0 && direction != s.direction) ++reversals_;
            s.direction = direction;
        }
        s.last_step = now;
        const std::size_t slot = route.first_slot + i;
        if (slot < out->targets()) {
            out->set_weight(slot, has_data ? static_cast<uint32_t>(
                                                 std::lround(std::clamp(s.share, 0.0, 1.0) * steer::kShareScale))
                                           : steer::kNoWeight);
        }
    }
}

void Controller::forget_older_than(double before) {
    std::erase_if(regions_, [&](const auto& entry) { return entry.second.last_step < before; });
    std::erase_if(targets_, [&](const auto& entry) { return entry.second.last_step < before; });
}

}  // namespace meridian::adapt

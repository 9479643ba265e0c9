#include "health/target_health.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace meridian::health {

const char* to_string(CheckKind kind) noexcept {
    switch (kind) {
    case CheckKind::none: return "none";
    case CheckKind::tcp: return "tcp";
    case CheckKind::http: return "http";
    case CheckKind::https: return "https";
    case CheckKind::dns: return "dns";
    case CheckKind::file: return "file";
    case CheckKind::prometheus: return "prometheus";
    }
    return "?";
}

TargetHealth::TargetHealth(Thresholds thresholds, InitialState initial, Clock::time_point now)
    : thresholds_(thresholds), state_(initial == InitialState::down ? State::unhealthy : State::healthy),
      is_waiting_(initial == InitialState::wait), last_change_(now),
      last_reason_(initial == InitialState::down ? "assumed down until probed" : "assumed up until probed") {}

double TargetHealth::success_rate() const noexcept {
    if (window_.empty()) return 1.0;
    if (window_.back().is_ok && window_.back().success) return *window_.back().success;
    std::size_t ok = 0;
    for (const ProbeResult& r : window_) ok += r.is_ok ? 1 : 0;
    return static_cast<double>(ok) / static_cast<double>(window_.size());
}

// Latency reacts to the last few successful probes only (as many as rise or fall count), so
// that a target slowing down or speeding up is seen within that many intervals; the success rate
// keeps the whole window's memory.
uint32_t TargetHealth::latency_ms() const noexcept {
    const std::size_t recent = std::max<uint32_t>(1, std::max(thresholds_.rise, thresholds_.fall));
    uint64_t total = 0;
    std::size_t n = 0;
    for (auto it = window_.rbegin(); it != window_.rend() && n < recent; ++it) {
        if (!it->is_ok || !it->has_latency) continue;
        total += it->latency_ms;
        ++n;
    }
    return n == 0 ? 0 : static_cast<uint32_t>(total / n);
}

// "latency 12 ms, success 100 %"; without a latency (a success rate or a load read from
// Prometheus) "success 97 %" and the load when one was reported.
std::string TargetHealth::measured() const {
    const bool is_timed = has_latency();
    std::string text = is_timed ? "latency " + std::to_string(latency_ms()) + " ms, " : std::string();
    text += "success " + std::to_string(std::lround(success_rate() * 100)) + " %";
    if (!is_timed && load_) {
        char load[32];
        std::snprintf(load, sizeof load, ", load %g", *load_);
        text += load;
    }
    return text;
}

bool TargetHealth::has_latency() const noexcept {
    return std::any_of(window_.begin(), window_.end(), [](const ProbeResult& r) { return r.is_ok && r.has_latency; });
}

// The state the window points at: healthy below the fast threshold with at least the high
// success rate, degraded below the slow one with at least the fair rate, unhealthy otherwise.
State TargetHealth::evaluate() const noexcept {
    const double success = success_rate();
    const bool has_success = std::any_of(window_.begin(), window_.end(), [](const ProbeResult& r) { return r.is_ok; });
    if (!has_success) return State::unhealthy;
    // A check that measures no latency is judged on its success alone.
    const uint32_t latency = has_latency() ? latency_ms() : 0;
    constexpr double kEpsilon = 1e-9;  // 19 of 20 is 95 %, not a rounding error below it
    if (success + kEpsilon >= thresholds_.healthy_success && latency < thresholds_.healthy_below_ms)
        return State::healthy;
    if (success + kEpsilon >= thresholds_.degraded_success && latency < thresholds_.degraded_below_ms)
        return State::degraded;
    return State::unhealthy;
}

std::optional<Transition> TargetHealth::record(const ProbeResult& result, Clock::time_point now) {
    // An unhealthy target is judged on its current run of good results only: the first good one
    // after a bad one starts the window afresh, so `rise` good results in a row bring it back,
    // while a flapping target (good, bad, good …) never strings enough together.
    const bool is_good = result.is_ok && (!result.has_latency || result.latency_ms < thresholds_.degraded_below_ms);
    if (state_ == State::unhealthy && is_good && was_last_bad_) window_.clear();
    was_last_bad_ = !is_good;
    window_.push_back(result);
    while (window_.size() > thresholds_.window) window_.pop_front();
    if (result.load) load_ = result.load;
    consecutive_failures_ = result.is_ok ? 0 : consecutive_failures_ + 1;

    std::optional<Transition> transition;
    if (is_waiting_) {
        // "wait": the first result decides at once, with no hysteresis to sit through.
        is_waiting_ = false;
        transition = assign(evaluate(), result.reason.empty() ? "first probe" : result.reason, now);
    } else if (consecutive_failures_ >= thresholds_.fall) {
        // `fall` failures in a row: down now, whatever the window still remembers.
        transition = assign(State::unhealthy, result.reason, now);
    } else if (state_ == State::unhealthy) {
        // Back only after `rise` good results in a row; a failed or slow one starts over.
        good_streak_ = is_good ? good_streak_ + 1 : 0;
        const State wanted = evaluate();
        if (good_streak_ >= thresholds_.rise && wanted != State::unhealthy) {
            transition = assign(wanted, measured(), now);
        }
    } else {
        const State wanted = evaluate();
        const int direction = wanted == state_ ? 0
                                               : (static_cast<uint8_t>(wanted) > static_cast<uint8_t>(state_) ? 1 : -1);
        if (direction == 0 || direction != pending_direction_) pending_count_ = 0;
        pending_direction_ = direction;
        if (direction != 0 && ++pending_count_ >= (direction > 0 ? thresholds_.fall : thresholds_.rise)) {
            std::string reason = result.reason;
            if (reason.empty() || result.is_ok) {
                reason = measured();
            }
            transition = assign(wanted, reason, now);
        }
    }
    // Without a change the reason still follows the latest result, so that it always says what
    // the current verdict rests on (not "assumed up until probed" an hour after the first probe).
    if (!transition) last_reason_ = verdict(result);
    return transition;
}

std::string TargetHealth::verdict(const ProbeResult& result) const {
    if (!result.is_ok) {
        std::string why = result.reason.empty() ? "failed" : result.reason;
        if (state_ == State::unhealthy) return why;
        return why + " (" + std::to_string(consecutive_failures_) + " in a row; down after " +
               std::to_string(thresholds_.fall) + ")";
    }
    std::string text = measured();
    if (state_ == State::unhealthy)
        text += " (" + std::to_string(good_streak_) + " good in a row; up after " + std::to_string(thresholds_.rise) +
                ")";
    return text;
}

std::optional<Transition> TargetHealth::assign(State state, const std::string& reason, Clock::time_point now) {
    is_waiting_ = false;
    good_streak_ = 0;
    pending_direction_ = 0;
    pending_count_ = 0;
    if (state == state_) {
        last_reason_ = reason;  // the same verdict, said again: its latest wording
        return std::nullopt;
    }
    Transition t{state_, state, reason};
    state_ = state;
    last_change_ = now;
    last_reason_ = reason;
    return t;
}

RegionHealth TargetHealth::snapshot() const noexcept {
    RegionHealth h;
    h.state = state_;
    // A latency needs a probe that succeeded: failures alone measure nothing (and would rank as 0 ms).
    h.has_measurement = has_latency();
    h.latency_ms = latency_ms();
    h.success_permille = static_cast<uint16_t>(std::lround(success_rate() * 1000));
    if (load_) {
        h.has_load = true;
        const double centi = *load_ * 100.0;
        h.load_centi = centi <= 0 ? 0 : static_cast<uint32_t>(centi < 16777215.0 ? centi : 16777215.0);
    }
    return h;
}

}  // namespace meridian::health

// The health of one probed target over time: a window of recent results gives the success rate
// and latency, the thresholds turn them into a state, and rise/fall hysteresis keeps a flapping
// target from flapping the answers. Pure logic: results and times come in, transitions go out.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "health/check_spec.hpp"
#include "health/state.hpp"

namespace meridian::health {

using Clock = std::chrono::steady_clock;

struct ProbeResult {
    bool is_ok = false;
    // A latency was measured (probes; a `prometheus` check measuring latency); false for a
    // success rate or a load read from elsewhere.
    bool has_latency = true;
    uint32_t latency_ms = 0;
    // A success rate measured elsewhere (0 … 1, a `prometheus` check measuring success): it stands
    // for the window's share of good results while it is the latest.
    std::optional<double> success;
    std::string reason;          // "HTTP 503", "timeout after 1000 ms", "connection refused" …
    std::optional<double> load;  // reported by an http check's JSON body
};

struct Transition {
    State from;
    State to;
    std::string reason;
};

class TargetHealth {
public:
    TargetHealth(Thresholds thresholds, InitialState initial, Clock::time_point now);

    // Adds a result; returns the transition when the state changes.
    std::optional<Transition> record(const ProbeResult& result, Clock::time_point now);
    // Sets the state directly (state files written by outside systems).
    std::optional<Transition> assign(State state, const std::string& reason, Clock::time_point now);

    State state() const noexcept { return state_; }
    bool is_waiting() const noexcept { return is_waiting_; }  // initial "wait", nothing measured yet
    RegionHealth snapshot() const noexcept;
    double success_rate() const noexcept;
    uint32_t latency_ms() const noexcept;
    bool has_latency() const noexcept;  // a successful result in the window measured one
    Clock::time_point last_change() const noexcept { return last_change_; }
    // What the current state rests on: the reason of the last change, or of the latest result
    // or assignment when that kept the state.
    const std::string& last_reason() const noexcept { return last_reason_; }
    std::size_t samples() const noexcept { return window_.size(); }

private:
    State evaluate() const noexcept;
    std::string verdict(const ProbeResult& result) const;
    std::string measured() const;

    Thresholds thresholds_;
    State state_;
    bool is_waiting_;
    std::deque<ProbeResult> window_;
    int pending_direction_ = 0;   // +1: evaluations point at a worse state, −1: better
    uint32_t pending_count_ = 0;  // consecutive evaluations in that direction
    uint32_t consecutive_failures_ = 0;
    bool was_last_bad_ = false;  // the previous result failed or was slower than degraded
    uint32_t good_streak_ = 0;   // good results in a row while unhealthy
    Clock::time_point last_change_;
    std::string last_reason_;
    std::optional<double> load_;
};

}  // namespace meridian::health

// The control loop that learns from what Meridian sends and measures, off the query path.
//
// Each step, for every region of a zone: the latency EWMA of its probes, a load factor from its
// reported load and shed watermarks, and a capacity factor from the answers per second Meridian
// sent it against its `capacity`; for every adaptive route: each target's share from the latency
// EWMAs inside the route's band. Every factor and share moves by at most `max_step` per step, so
// nothing flips at once and the loop does not oscillate. The results go to the zone's
// steer::FeedbackBoard, which decide() reads lock-free.
//
// State is kept by zone, region and route target name, not index, so it survives reloads.
// Time is passed in (seconds, any origin): tests drive the controller with synthetic time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "health/state.hpp"
#include "stats/counters.hpp"
#include "steer/feedback.hpp"
#include "steer/policy.hpp"

namespace meridian::adapt {

struct Settings {
    double max_step = 0.10;  // the most a factor or a share moves in one step
};

// Below this largest pending move an adaptive route's shares stay where they are, so noise in the
// measurements does not make weights wander.
inline constexpr double kDeadBand = 0.005;

class Controller {
public:
    explicit Controller(Settings settings) : settings_(settings) {}

    // One step over one zone. `sent` counts the answers given per region since the counters were
    // made (a smaller count than last time means new counters: a reload). `now`: a steady clock
    // in seconds; `wall_seconds`: Unix time, which commit periods are counted in (< 0: the
    // system clock's).
    void step(std::string_view zone, const steer::Policy& policy, const health::HealthBoard& health,
              const stats::SteerStats& sent, steer::FeedbackBoard* out, double now, double wall_seconds = -1);

    // Drops what was learned about regions and targets not stepped since `before` (removed ones).
    void forget_older_than(double before);

    // Times any adaptive share reversed its direction of travel, over all routes.
    uint64_t reversals() const noexcept { return reversals_; }

    struct RegionState {
        bool has_latency = false;
        double latency_ms = 0;           // EWMA
        double load_factor = 1;          // 0 … 1
        double capacity_factor = 1;      // 0 … 1
        double offered_per_second = -1;  // answers offered to it, smoothed; < 0: not measured yet
        uint64_t last_sent = 0;
        double last_step = -1;  // < 0: never stepped
        // A region with a cost: what it was sent in the current commit period (since this server
        // started, if that was later), in answers and in the commit's unit.
        int64_t period = -1;  // the period's index, counted from the Unix epoch
        double period_answers = 0;
        double period_volume = 0;
    };
    struct TargetState {
        double share = 0;
        int direction = 0;  // of the last move: −1, 0, +1
        double last_step = -1;
    };
    // For tests and the status page: what is known about a region, or null.
    const RegionState* region(std::string_view zone, std::string_view region) const;

private:
    void step_region(const std::string& key, const steer::Region& region, const health::RegionHealth& health,
                     uint64_t sent, double time_constant_ms, double now, double wall_seconds,
                     steer::RegionFeedback* out);
    void step_route(const std::string& zone, const std::string& prefix, const steer::Policy& policy,
                    const steer::Route& route, steer::FeedbackBoard* out, double now);
    double move(double from, double to) const noexcept;

    Settings settings_;
    std::map<std::string, RegionState, std::less<>> regions_;  // zone '\0' region
    std::map<std::string, TargetState, std::less<>> targets_;  // zone '\0' name '\0' route '\0' region
    uint64_t reversals_ = 0;
};

// The load factor of a region reporting `load` with watermarks low < high: 1 at or below low, 0 at
// or above high, linear in between.
double shed_factor(double load, double low, double high) noexcept;

}  // namespace meridian::adapt

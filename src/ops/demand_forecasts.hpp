// Demand forecasts per region and per steered name: the answers Meridian sends, totalled per
// bucket (the zone's steering counters, read on each analytics tick; for a region, divided by the
// share it took while spilling for its capacity or shedding load, so the series is its demand) and fed to an additive
// Holt-Winters forecaster each (adapt/forecast.hpp). The state is kept in a JSON file, written
// after each closed bucket (to a temporary file, then renamed) and read at start, so neither a
// restart nor a reload relearns. Predictive alerts: a region with a `capacity` whose forecast
// passes it within the horizon.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapt/forecast.hpp"
#include "answer/snapshot.hpp"
#include "config/server_config.hpp"
#include "ops/alert_rules.hpp"

namespace meridian::ops {

// What one series is about: a region of a zone, or a steered name (its owner, as text).
struct SeriesKey {
    std::string zone;
    bool is_region = true;
    std::string id;

    std::string to_string() const { return (is_region ? "region " : "name ") + zone + " " + id; }
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted comparison
    auto operator<=>(const SeriesKey&) const = default;
};

class DemandForecasts {
public:
    explicit DemandForecasts(const config::ForecastConfig& config);

    // With no state file (config.state_file empty) the forecasts live in memory only.
    // Reads the state file; a missing file starts afresh, an unreadable or foreign one is logged
    // and starts afresh (it is overwritten at the next closed bucket).
    void load();
    // The state file's text (named `file` in warnings): the series it holds replace those kept;
    // returns how many. A series that does not read is warned about and starts afresh.
    std::size_t read_state(const std::string& text, const std::string& file);
    // One analytics tick at `now_seconds` (since the epoch): counts since the last tick go to the
    // open bucket; when the clock has moved past it, it is closed and observed, and the state saved.
    void update(const answer::Snapshot& snapshot, double now_seconds);
    // Writes the state file now; false (logged) when it cannot be written.
    bool save() const;
    // The state file's text: every series with an observation; nullopt when none has one.
    std::optional<std::string> state_text() const;

    // One closed bucket: what was sent, and what had been forecast for it one bucket ahead.
    struct Point {
        int64_t start_seconds = 0;  // the bucket's start, seconds since the epoch
        double actual_per_second = 0;
        std::optional<double> forecast_per_second;  // none for a series' first bucket
    };
    // The closed buckets kept per series for the dashboard's chart: one season, at most this many.
    static constexpr std::size_t kMaxHistory = 288;

    struct Reading {
        double actual_per_second = 0;    // the last closed bucket
        double forecast_per_second = 0;  // the next bucket
        std::optional<double> mape;      // percent
        bool is_seasonal = false;
        const std::deque<Point>* history = nullptr;  // oldest first; since this process started
    };
    std::optional<Reading> reading(const SeriesKey& key) const;

    // Regions with a capacity whose forecast over the horizon passes it.
    std::vector<Alert> capacity_alerts(const answer::Snapshot& snapshot) const;

    const std::filesystem::path& state_file() const noexcept { return state_file_; }

private:
    struct Series {
        explicit Series(adapt::Forecaster f) : forecaster(std::move(f)) {}
        adapt::Forecaster forecaster;
        uint64_t last_count = 0;
        bool has_count = false;
        double open_total = 0;
        double last_actual = 0;
        std::deque<Point> history;
    };
    Series& series(const SeriesKey& key);
    void count(const SeriesKey& key, uint64_t counter, double share_taken = 1.0);

    adapt::ForecastSettings settings_;
    uint32_t horizon_buckets_;
    std::filesystem::path state_file_;
    std::map<SeriesKey, Series> series_;
    int64_t open_bucket_ = -1;
    mutable bool is_write_failing_ = false;  // warned once until a write works again
};

}  // namespace meridian::ops

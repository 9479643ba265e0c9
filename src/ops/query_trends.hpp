// Query-rate trends per region: Holt's linear trend on the rate of steered answers that
// included the region, sampled every analytics interval. The moving average is the level; the
// forecast is level + trend, one interval ahead.
#pragma once

#include <cstdint>
#include <map>

#include "answer/snapshot.hpp"
#include "ops/region_key.hpp"

namespace meridian::ops {

class Trend {
public:
    static constexpr double kLevelWeight = 0.5;  // Holt's α: how fast the average follows the rate
    static constexpr double kTrendWeight = 0.3;  // Holt's β: how fast the trend follows the average

    // `count`: the region's answer counter now; `interval_seconds` (> 0) since the last sample.
    // The first sample only sets the baseline. A counter lower than the last one has restarted
    // (a reloaded zone): that interval counts as no traffic, not as negative traffic.
    void add(uint64_t count, double interval_seconds) noexcept;

    double moving_average() const noexcept { return level_; }
    double forecast() const noexcept;  // never below 0

private:
    uint64_t last_count_ = 0;
    bool has_sample_ = false;
    double level_ = 0;
    double slope_ = 0;
};

class QueryTrends {
public:
    // Samples every region of every zone of `snapshot`.
    void update(const answer::Snapshot& snapshot, double interval_seconds);
    // Null before the region's first sample.
    const Trend* find(const RegionKey& key) const;

private:
    std::map<RegionKey, Trend> trends_;
};

}  // namespace meridian::ops

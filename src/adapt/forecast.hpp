// Demand forecasting with seasons: additive Holt-Winters over fixed time buckets.
//
// A series (a region's or a steered name's answers) is fed one total per bucket (e.g. five
// minutes). Level, trend and one seasonal term per bucket of the season (e.g. 288 for a day of
// five-minute buckets) are updated by the additive Holt-Winters equations:
//
//   level    L' = α (y − S[i]) + (1 − α)(L + T)
//   trend    T' = β (L' − L)   + (1 − β) T
//   season   S[i] = γ (y − L')  + (1 − γ) S[i]
//   forecast ŷ(t + h) = L + h T + S[(t + h) mod m]
//
// The first full season initialises the terms (level: its mean, trend: 0, season: each bucket's
// difference from the mean); until then the forecast is the mean so far. Buckets with no
// observation (the server was down) advance the level by the trend and leave the season as it
// was. The state is written to and read from a small JSON document, so a restart or a reload does
// not relearn; a document made with other bucket or season sizes is refused with a reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace meridian::adapt {

struct ForecastSettings {
    uint32_t bucket_seconds = 300;
    uint32_t season_buckets = 288;  // one day of five-minute buckets
    double alpha = 0.2;             // level
    double beta = 0.01;             // trend
    double gamma = 0.3;             // season
};

class Forecaster {
public:
    explicit Forecaster(ForecastSettings settings);

    // The total of absolute bucket `bucket` (seconds since the epoch ÷ bucket_seconds, so seasons
    // line up with the clock across restarts). Each bucket is observed once, in order: a bucket
    // at or before the last one returns false and changes nothing.
    bool observe(int64_t bucket, double value);

    // The expected total of the bucket `ahead` buckets after the last one observed (ahead ≥ 1).
    double forecast(uint32_t ahead = 1) const;
    bool is_seasonal() const noexcept { return is_initialised_; }  // a full season has been seen
    uint64_t observations() const noexcept { return observations_; }
    int64_t last_bucket() const noexcept { return last_bucket_; }

    // Mean absolute percentage error of the one-bucket-ahead forecasts over the last season, in
    // percent; empty before any forecast could be compared (buckets whose actual total is 0 are
    // left out, as a percentage of 0 means nothing).
    std::optional<double> mape() const;

    const ForecastSettings& settings() const noexcept { return settings_; }

    // The state as a JSON document, and back. from_json returns nothing, with *error, when the
    // document is not one of ours or was made with other bucket or season sizes.
    std::string to_json() const;
    static std::optional<Forecaster> from_json(const std::string& text, const ForecastSettings& settings,
                                               std::string* error);

private:
    void initialise_from_first_season();
    double first_season_mean() const;  // of the buckets observed so far (0 with none)

    ForecastSettings settings_;
    bool is_initialised_ = false;
    double level_ = 0;
    double trend_ = 0;
    std::vector<double> season_;
    std::vector<double> first_season_;  // observations until the first season is full (NaN: none)
    int64_t first_bucket_ = -1;
    int64_t last_bucket_ = -1;
    uint64_t observations_ = 0;
    std::vector<double> errors_;  // |y − ŷ| ÷ y of the last season's buckets, ring by bucket
    std::vector<bool> has_error_;
};

}  // namespace meridian::adapt

#include "adapt/forecast.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace meridian::adapt {

namespace {

constexpr int kFormat = 1;  // "meridian_forecast" in the JSON document

std::size_t position(int64_t bucket, uint32_t season) noexcept {
    return static_cast<std::size_t>(bucket % static_cast<int64_t>(season));
}

double nan() noexcept { return std::numeric_limits<double>::quiet_NaN(); }

}  // namespace

Forecaster::Forecaster(ForecastSettings settings)
    : settings_(settings), season_(settings.season_buckets, 0.0), first_season_(settings.season_buckets, nan()),
      errors_(settings.season_buckets, 0.0), has_error_(settings.season_buckets, false) {}

double Forecaster::first_season_mean() const {
    double sum = 0;
    std::size_t seen = 0;
    for (const double y : first_season_) {
        if (std::isnan(y)) continue;
        sum += y;
        ++seen;
    }
    return seen == 0 ? 0.0 : sum / static_cast<double>(seen);
}

void Forecaster::initialise_from_first_season() {
    level_ = first_season_mean();
    trend_ = 0;
    for (std::size_t i = 0; i < season_.size(); ++i)
        season_[i] = std::isnan(first_season_[i]) ? 0.0 : first_season_[i] - level_;
    first_season_.assign(first_season_.size(), nan());
    is_initialised_ = true;
}

bool Forecaster::observe(int64_t bucket, double value) {
    if (bucket < 0 || bucket <= last_bucket_ || !std::isfinite(value)) return false;
    const uint32_t m = settings_.season_buckets;
    const std::size_t i = position(bucket, m);
    if (is_initialised_) {
        // Buckets nobody observed: the level follows its trend, the season stays as it was.
        const auto skipped = static_cast<double>(bucket - last_bucket_ - 1);
        level_ += skipped * trend_;
        const double expected = level_ + trend_ + season_[i];
        if (value > 0) {
            errors_[i] = std::fabs(value - expected) / value;
            has_error_[i] = true;
        } else {
            has_error_[i] = false;
        }
        const double previous_level = level_;
        level_ = settings_.alpha * (value - season_[i]) + (1 - settings_.alpha) * (level_ + trend_);
        trend_ = settings_.beta * (level_ - previous_level) + (1 - settings_.beta) * trend_;
        season_[i] = settings_.gamma * (value - level_) + (1 - settings_.gamma) * season_[i];
    } else {
        if (first_bucket_ < 0) first_bucket_ = bucket;
        first_season_[i] = value;
    }
    last_bucket_ = bucket;
    ++observations_;
    if (!is_initialised_ && bucket - first_bucket_ + 1 >= static_cast<int64_t>(m)) initialise_from_first_season();
    return true;
}

double Forecaster::forecast(uint32_t ahead) const {
    if (!is_initialised_) return first_season_mean();
    const int64_t target = last_bucket_ + ahead;
    return level_ + ahead * trend_ + season_[position(target, settings_.season_buckets)];
}

std::optional<double> Forecaster::mape() const {
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < errors_.size(); ++i) {
        if (!has_error_[i]) continue;
        sum += errors_[i];
        ++n;
    }
    if (n == 0) return std::nullopt;
    return 100.0 * sum / static_cast<double>(n);
}

std::string Forecaster::to_json() const {
    using nlohmann::json;
    const auto with_gaps = [](const std::vector<double>& values) {
        json out = json::array();
        for (const double v : values) out.push_back(std::isnan(v) ? json(nullptr) : json(v));
        return out;
    };
    std::vector<double> errors(errors_.size(), nan());
    for (std::size_t i = 0; i < errors_.size(); ++i) {
        if (has_error_[i]) errors[i] = errors_[i];
    }
    const json document = {{"meridian_forecast", kFormat},
                           {"bucket_seconds", settings_.bucket_seconds},
                           {"season_buckets", settings_.season_buckets},
                           {"initialised", is_initialised_},
                           {"level", level_},
                           {"trend", trend_},
                           {"season", season_},
                           {"first_season", with_gaps(first_season_)},
                           {"first_bucket", first_bucket_},
                           {"last_bucket", last_bucket_},
                           {"observations", observations_},
                           {"errors", with_gaps(errors)}};
    return document.dump();
}

std::optional<Forecaster> Forecaster::from_json(const std::string& text, const ForecastSettings& settings,
                                                std::string* error) {
    using nlohmann::json;
    const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object()) {
        *error = "not a JSON object";
        return std::nullopt;
    }
    const auto number = [&](const char* key) -> const json* {
        const auto it = document.find(key);
        return it != document.end() && it->is_number() ? &*it : nullptr;
    };
    if (const json* format = number("meridian_forecast");
        format == nullptr || *format != json(kFormat)) {  // compared as JSON: a huge number is no int
        *error = "not a forecast state (format " + std::to_string(kFormat) + ")";
        return std::nullopt;
    }
    const json* bucket_seconds = number("bucket_seconds");
    const json* season_buckets = number("season_buckets");
    if (bucket_seconds == nullptr || season_buckets == nullptr ||
        bucket_seconds->get<double>() != settings.bucket_seconds ||
        season_buckets->get<double>() != settings.season_buckets) {
        *error = "made with other bucket or season sizes than " + std::to_string(settings.bucket_seconds) + " s × " +
                 std::to_string(settings.season_buckets);
        return std::nullopt;
    }
    const auto list = [&](const char* key, std::vector<double>* out) {
        const auto it = document.find(key);
        if (it == document.end() || !it->is_array() || it->size() != settings.season_buckets) return false;
        for (std::size_t i = 0; i < it->size(); ++i) {
            const json& v = (*it)[i];
            if (v.is_null()) (*out)[i] = nan();
            else if (v.is_number() && std::isfinite(v.get<double>())) (*out)[i] = v.get<double>();
            else return false;
        }
        return true;
    };
    // Bucket numbers: whole, from -1 (none yet) to a bound far past any clock (seconds ÷ bucket).
    constexpr int64_t kMaxBucket = int64_t{1} << 40;
    const auto bucket = [&](const char* key) -> std::optional<int64_t> {
        const auto it = document.find(key);
        if (it == document.end() || !it->is_number_integer()) return std::nullopt;
        const auto value = it->get<int64_t>();
        if (value < -1 || value > kMaxBucket) return std::nullopt;
        return value;
    };
    Forecaster f(settings);
    const json* level = number("level");
    const json* trend = number("trend");
    const auto first_bucket = bucket("first_bucket");
    const auto last_bucket = bucket("last_bucket");
    const auto observations = bucket("observations");
    const auto initialised = document.find("initialised");
    std::vector<double> errors(settings.season_buckets, nan());
    if (level == nullptr || trend == nullptr || !first_bucket || !last_bucket || !observations ||
        *first_bucket > *last_bucket || *observations < 0 || initialised == document.end() ||
        !initialised->is_boolean() || !list("season", &f.season_) || !list("first_season", &f.first_season_) ||
        !list("errors", &errors)) {
        *error = "a field is missing or has the wrong type or length";
        return std::nullopt;
    }
    f.is_initialised_ = initialised->get<bool>();
    f.level_ = level->get<double>();
    f.trend_ = trend->get<double>();
    f.first_bucket_ = *first_bucket;
    f.last_bucket_ = *last_bucket;
    f.observations_ = static_cast<uint64_t>(*observations);
    for (std::size_t i = 0; i < errors.size(); ++i) {
        f.has_error_[i] = !std::isnan(errors[i]);
        f.errors_[i] = f.has_error_[i] ? errors[i] : 0.0;
    }
    for (const double s : f.season_) {
        if (std::isnan(s)) {
            *error = "a seasonal term is missing";
            return std::nullopt;
        }
    }
    if (!std::isfinite(f.level_) || !std::isfinite(f.trend_)) {
        *error = "level or trend is not a finite number";
        return std::nullopt;
    }
    return f;
}

}  // namespace meridian::adapt

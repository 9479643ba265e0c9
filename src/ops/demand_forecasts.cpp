#include "ops/demand_forecasts.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/log.hpp"
#include "dns/name.hpp"

namespace meridian::ops {

namespace {

using nlohmann::json;

constexpr int kFormat = 1;  // "meridian_forecasts" in the state file

adapt::ForecastSettings settings_of(const config::ForecastConfig& config) {
    adapt::ForecastSettings s;
    s.bucket_seconds = std::max<uint32_t>(1, config.bucket_ms / 1000);
    s.season_buckets = std::max<uint32_t>(1, config.season_ms / std::max<uint32_t>(1, config.bucket_ms));
    return s;
}

// The share of the answers offered to a region that it took while its capacity or load factor
// was below 1 (steer/feedback.hpp); below kMinShareToMeasure what it was sent counts as is.
double share_taken(const zone::ServedZone& served, std::size_t region) {
    const steer::FeedbackBoard& board = served.runtime->feedback();
    if (region >= board.regions()) return 1.0;
    const double share = board.region(region).admission() / static_cast<double>(steer::kWholeShare);
    return share < steer::kMinShareToMeasure ? 1.0 : share;
}

}  // namespace

DemandForecasts::DemandForecasts(const config::ForecastConfig& config)
    : settings_(settings_of(config)),
      horizon_buckets_((config.horizon_ms + config.bucket_ms - 1) / std::max<uint32_t>(1, config.bucket_ms)),
      state_file_(config.state_file) {}

DemandForecasts::Series& DemandForecasts::series(const SeriesKey& key) {
    auto it = series_.find(key);
    if (it == series_.end()) it = series_.emplace(key, Series(adapt::Forecaster(settings_))).first;
    return it->second;
}

void DemandForecasts::count(const SeriesKey& key, uint64_t counter, double share_taken) {
    Series& s = series(key);
    // A smaller count than before: new counters (a reload); they count from zero. What was sent
    // over the share the region took is what it was offered: its demand.
    if (s.has_count) {
        const auto sent = static_cast<double>(counter >= s.last_count ? counter - s.last_count : counter);
        s.open_total += sent / share_taken;
    }
    s.last_count = counter;
    s.has_count = true;
}

void DemandForecasts::update(const answer::Snapshot& snapshot, double now_seconds) {
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(served.zone().origin());
        const steer::Policy& policy = served.zone().policy();
        const stats::SteerStats& steering = served.runtime->steering();
        for (std::size_t i = 0; i < policy.regions.size(); ++i)
            count({origin, true, policy.regions[i].name}, steering.region_answers(i), share_taken(served, i));
        for (std::size_t n = 0; n < policy.names.size(); ++n) {
            uint64_t answers = steering.route_answers(n, -1);
            for (std::size_t r = 0; r < policy.names[n].routes.size(); ++r)
                answers += steering.route_answers(n, static_cast<int>(r));
            count({origin, false, dns::name_to_text(policy.names[n].owner)}, answers);
        }
    }
    const auto bucket = static_cast<int64_t>(std::floor(now_seconds / settings_.bucket_seconds));
    if (open_bucket_ < 0) open_bucket_ = bucket;
    if (bucket <= open_bucket_) return;
    // The open bucket is over: every series with counters observes its total.
    const double seconds = settings_.bucket_seconds;
    const std::size_t keep = std::min<std::size_t>(kMaxHistory, settings_.season_buckets);
    for (auto& [key, s] : series_) {
        if (!s.has_count) continue;
        // What was forecast for this bucket, from the buckets before it (none before the first).
        const bool had_forecast = s.forecaster.observations() > 0;
        const double expected = std::max(0.0, s.forecaster.forecast(1)) / seconds;
        if (s.forecaster.observe(open_bucket_, s.open_total)) {
            s.last_actual = s.open_total;
            s.history.push_back({open_bucket_ * static_cast<int64_t>(settings_.bucket_seconds), s.open_total / seconds,
                                 had_forecast ? std::optional<double>(expected) : std::nullopt});
            while (s.history.size() > keep) s.history.pop_front();
        }
        s.open_total = 0;
    }
    open_bucket_ = bucket;
    save();
}

std::optional<DemandForecasts::Reading> DemandForecasts::reading(const SeriesKey& key) const {
    const auto it = series_.find(key);
    if (it == series_.end() || it->second.forecaster.observations() == 0) return std::nullopt;
    const adapt::Forecaster& f = it->second.forecaster;
    const double seconds = settings_.bucket_seconds;
    return Reading{it->second.last_actual / seconds, std::max(0.0, f.forecast(1)) / seconds, f.mape(), f.is_seasonal(),
                   &it->second.history};
}

std::vector<Alert> DemandForecasts::capacity_alerts(const answer::Snapshot& snapshot) const {
    std::vector<Alert> alerts;
    if (horizon_buckets_ == 0) return alerts;
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(served.zone().origin());
        for (const steer::Region& region : served.zone().policy().regions) {
            if (region.capacity == 0) continue;
            const auto it = series_.find({origin, true, region.name});
            if (it == series_.end() || it->second.forecaster.observations() == 0) continue;
            for (uint32_t ahead = 1; ahead <= horizon_buckets_; ++ahead) {
                const double per_second = it->second.forecaster.forecast(ahead) / settings_.bucket_seconds;
                if (per_second <= region.capacity) continue;
                const uint64_t minutes = (uint64_t{ahead} * settings_.bucket_seconds + 59) / 60;
                alerts.push_back({"region_capacity_forecast", "warning", origin, region.name,
                                  "region " + region.name + " of " + origin + " is forecast " +
                                      std::to_string(std::lround(per_second)) + " answers/s within " +
                                      std::to_string(minutes) + " min, over its capacity of " +
                                      std::to_string(region.capacity)});
                break;
            }
        }
    }
    return alerts;
}

void DemandForecasts::load() {
    if (state_file_.empty()) return;  // kept in memory only (tests, tools)
    std::ifstream in(state_file_);
    if (!in) return;  // nothing kept yet
    std::stringstream text;
    text << in.rdbuf();
    const std::size_t kept = read_state(text.str(), state_file_.string());
    log::info("forecast: " + state_file_.string() + ": read " + std::to_string(kept) + " series");
}

std::size_t DemandForecasts::read_state(const std::string& text, const std::string& file) {
    const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const std::string where = "forecast: " + file + ": ";
    // The format is compared as JSON (an integer): a huge number read as an int would be undefined.
    if (document.is_discarded() || !document.is_object() || !document.contains("meridian_forecasts") ||
        document["meridian_forecasts"] != json(kFormat) || !document.contains("series") ||
        !document["series"].is_object()) {
        log::warning(where + "not a forecast state file; starting afresh");
        return 0;
    }
    std::size_t kept = 0;
    for (const auto& [name, entry] : document["series"].items()) {
        std::istringstream words(name);
        std::string kind, zone, id;
        words >> kind >> zone;
        std::getline(words >> std::ws, id);
        std::string error;
        std::optional<adapt::Forecaster> f;
        if ((kind == "region" || kind == "name") && !zone.empty() && !id.empty() && entry.is_object() &&
            entry.contains("forecaster") && entry["forecaster"].is_string())
            f = adapt::Forecaster::from_json(entry["forecaster"].get<std::string>(), settings_, &error);
        else error = "not a series";
        if (!f) {
            log::warning(where + "\"" + name + "\": " + error + "; that series starts afresh");
            continue;
        }
        Series s(std::move(*f));
        if (entry.contains("last_actual") && entry["last_actual"].is_number()) {
            const double last = entry["last_actual"].get<double>();
            s.last_actual = std::isfinite(last) ? std::max(0.0, last) : 0.0;
        }
        series_.insert_or_assign(SeriesKey{zone, kind == "region", id}, std::move(s));
        ++kept;
    }
    return kept;
}

std::optional<std::string> DemandForecasts::state_text() const {
    json series = json::object();
    for (const auto& [key, s] : series_) {
        if (s.forecaster.observations() == 0) continue;
        series[key.to_string()] = {{"forecaster", s.forecaster.to_json()}, {"last_actual", s.last_actual}};
    }
    if (series.empty()) return std::nullopt;
    return json{{"meridian_forecasts", kFormat}, {"series", series}}.dump();
}

bool DemandForecasts::save() const {
    if (state_file_.empty()) return false;
    const auto text = state_text();
    if (!text) return true;  // nothing learned yet: an earlier file stays as it is
    std::string error;
    if (!write_file_atomically(state_file_, *text + "\n", &error)) {
        if (!is_write_failing_)
            log::warning("forecast: " + error + "; the forecasts are kept in memory only until it can be written");
        is_write_failing_ = true;
        return false;
    }
    if (is_write_failing_) log::info("forecast: " + state_file_.string() + " written again");
    is_write_failing_ = false;
    return true;
}

}  // namespace meridian::ops

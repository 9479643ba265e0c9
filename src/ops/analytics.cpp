#include "ops/analytics.hpp"

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace meridian::ops {

Analytics::Analytics(const config::AnalyticsConfig& rules, const config::ForecastConfig& forecast, uv_loop_t* loop,
                     probes::WebhookSettings webhook, Clock::time_point started)
    : rules_(rules), webhook_(loop, std::move(webhook)), last_tick_(started), forecasts_(forecast) {}

void Analytics::tick(const answer::Snapshot& snapshot, const MonitoredRegions& monitored, Clock::time_point now,
                     double epoch_seconds) {
    const double seconds = std::chrono::duration<double>(now - last_tick_).count();
    last_tick_ = now;
    if (epoch_seconds < 0)
        epoch_seconds = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    forecasts_.update(snapshot, epoch_seconds);
    std::vector<Alert> current = evaluate_alert_rules(snapshot, monitored, rules_);
    for (Alert& a : forecasts_.capacity_alerts(snapshot)) current.push_back(std::move(a));
    // Raised and cleared alerts go to the log and the webhook; standing ones only to /status.
    const AlertChanges changes = compare_alerts(alerts_, current);
    for (const Alert& a : changes.raised) {
        log::warning("alert " + a.severity + ": " + a.message);
        report(a, "raised");
    }
    for (const Alert& a : changes.cleared) {
        log::info("alert cleared: " + a.message);
        report(a, "cleared");
    }
    alerts_ = std::move(current);
    if (seconds > 0) trends_.update(snapshot, seconds);
}

void Analytics::report(const Alert& a, const char* state) {
    webhook_.post(nlohmann::json{{"alert", a.rule},
                                 {"severity", a.severity},
                                 {"state", state},
                                 {"zone", a.zone},
                                 {"region", a.region},
                                 {"message", a.message}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Analytics::stop() {
    forecasts_.save();
    webhook_.close();
}

}  // namespace meridian::ops

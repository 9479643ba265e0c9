// The analytics, run every analytics interval on the control loop: the alert rules evaluated on
// health data (raised and cleared alerts logged and POSTed to the [alerts] webhook, an instance
// of its own) and the query-rate trends.
#pragma once

#include <uv.h>

#include <chrono>
#include <vector>

#include "answer/snapshot.hpp"
#include "config/server_config.hpp"
#include "ops/alert_rules.hpp"
#include "ops/demand_forecasts.hpp"
#include "ops/monitored_regions.hpp"
#include "ops/query_trends.hpp"
#include "probes/webhook.hpp"

namespace meridian::ops {

class Analytics {
public:
    using Clock = std::chrono::steady_clock;

    // `loop` may be null without a webhook URL. `started`: where the first interval begins.
    Analytics(const config::AnalyticsConfig& rules, const config::ForecastConfig& forecast, uv_loop_t* loop,
              probes::WebhookSettings webhook, Clock::time_point started = Clock::now());

    // One interval ending at `now`: demand forecasts updated (at `epoch_seconds`), alerts
    // evaluated (changes logged and posted), trends sampled.
    void tick(const answer::Snapshot& snapshot, const MonitoredRegions& monitored, Clock::time_point now = Clock::now(),
              double epoch_seconds = -1);
    // Saves the forecasts and stops posting (the webhook's transfers are cancelled).
    void stop();

    const std::vector<Alert>& alerts() const noexcept { return alerts_; }
    const QueryTrends& trends() const noexcept { return trends_; }
    DemandForecasts& forecasts() noexcept { return forecasts_; }
    const DemandForecasts& forecasts() const noexcept { return forecasts_; }

private:
    void report(const Alert& alert, const char* state);

    config::AnalyticsConfig rules_;
    probes::Webhook webhook_;
    Clock::time_point last_tick_;
    std::vector<Alert> alerts_;
    QueryTrends trends_;
    DemandForecasts forecasts_;
};

}  // namespace meridian::ops

// The alert rules on health data: a region answering slowly (warning) or failing probes
// (critical), and a zone with too few healthy regions (warning); and which alerts a new
// evaluation raised or cleared. Pure: what to do with them is analytics.hpp's job.
#pragma once

#include <string>
#include <vector>

#include "answer/snapshot.hpp"
#include "config/server_config.hpp"
#include "ops/monitored_regions.hpp"

namespace meridian::ops {

struct Alert {
    std::string rule;      // region_latency | region_success | healthy_regions
    std::string severity;  // warning | critical
    std::string zone;
    std::string region;  // empty for zone-wide rules
    std::string message;
};

// The rules as they stand for every zone of `snapshot`, in zone and region order. Latency and
// success rules need a probed region with at least one successful probe.
std::vector<Alert> evaluate_alert_rules(const answer::Snapshot& snapshot, const MonitoredRegions& monitored,
                                        const config::AnalyticsConfig& rules);

struct AlertChanges {
    std::vector<Alert> raised;   // in `now`, not in `before`
    std::vector<Alert> cleared;  // in `before`, not in `now`
};

// Alerts are the same alert when rule, zone and region are (a new message does not raise again).
AlertChanges compare_alerts(const std::vector<Alert>& before, const std::vector<Alert>& now);

}  // namespace meridian::ops

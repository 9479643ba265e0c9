#include "ops/alert_rules.hpp"

#include <cmath>
#include <set>
#include <tuple>

#include "dns/name.hpp"

namespace meridian::ops {

namespace {

std::string percent(double fraction) { return std::to_string(std::lround(fraction * 100)); }

}  // namespace

std::vector<Alert> evaluate_alert_rules(const answer::Snapshot& snapshot, const MonitoredRegions& monitored,
                                        const config::AnalyticsConfig& rules) {
    std::vector<Alert> alerts;
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const steer::Policy& policy = served.zone().policy();
        if (policy.regions.empty()) continue;
        const std::string origin = dns::name_to_text(served.zone().origin());
        std::size_t healthy = 0;
        for (std::size_t i = 0; i < policy.regions.size(); ++i) {
            const std::string& name = policy.regions[i].name;
            const health::RegionHealth h = served.runtime->health().read(i);
            const bool is_down = h.override == health::Override::force_down || h.override == health::Override::drain;
            if (h.state == health::State::healthy && !is_down) ++healthy;
            const auto it = monitored.find(RegionKey{origin, name});
            if (it == monitored.end() || !it->second.is_probed || it->second.probe_latency.count == 0) continue;
            const probes::RegionStatus& status = it->second;
            if (status.latency_ms > rules.latency_warning_ms) {
                alerts.push_back({"region_latency", "warning", origin, name,
                                  "region " + name + " of " + origin + " responds in " +
                                      std::to_string(status.latency_ms) + " ms (over " +
                                      std::to_string(rules.latency_warning_ms) + " ms)"});
            }
            if (status.success_rate < rules.success_critical) {
                alerts.push_back({"region_success", "critical", origin, name,
                                  "region " + name + " of " + origin + " succeeds " + percent(status.success_rate) +
                                      " % of probes (under " + percent(rules.success_critical) + " %)"});
            }
        }
        const double fraction = static_cast<double>(healthy) / static_cast<double>(policy.regions.size());
        if (fraction < rules.healthy_fraction_warning) {
            alerts.push_back({"healthy_regions", "warning", origin, "",
                              std::to_string(healthy) + " of " + std::to_string(policy.regions.size()) +
                                  " regions of " + origin + " are healthy (under " +
                                  percent(rules.healthy_fraction_warning) + " %)"});
        }
    }
    return alerts;
}

AlertChanges compare_alerts(const std::vector<Alert>& before, const std::vector<Alert>& now) {
    using Identity = std::tuple<std::string, std::string, std::string>;
    const auto identity = [](const Alert& a) { return Identity{a.rule, a.zone, a.region}; };
    std::set<Identity> was, is;
    for (const Alert& a : before) was.insert(identity(a));
    for (const Alert& a : now) is.insert(identity(a));
    AlertChanges changes;
    for (const Alert& a : now) {
        if (was.count(identity(a)) == 0) changes.raised.push_back(a);
    }
    for (const Alert& a : before) {
        if (is.count(identity(a)) == 0) changes.cleared.push_back(a);
    }
    return changes;
}

}  // namespace meridian::ops

// What the health monitor reports of each probed region (state, reason, latency histogram),
// by region key, for the views and the alert rules to look up.
#pragma once

#include <map>
#include <vector>

#include "ops/region_key.hpp"
#include "probes/health_monitor.hpp"

namespace meridian::ops {

using MonitoredRegions = std::map<RegionKey, probes::RegionStatus>;

inline MonitoredRegions index_monitored(const std::vector<probes::RegionStatus>& statuses) {
    MonitoredRegions out;
    for (const probes::RegionStatus& s : statuses) out[RegionKey{s.zone, s.region}] = s;
    return out;
}

}  // namespace meridian::ops

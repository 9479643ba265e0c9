// Everything the read-only views (/status, /metrics) show, gathered on the control thread for
// one request. The views only read it; the parts it points to outlive the request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adapt/controller.hpp"
#include "answer/snapshot.hpp"
#include "ops/alert_rules.hpp"
#include "ops/demand_forecasts.hpp"
#include "ops/fleet_view.hpp"
#include "ops/member_store.hpp"
#include "ops/monitored_regions.hpp"
#include "ops/override_store.hpp"
#include "ops/query_trends.hpp"
#include "ops/reload_counts.hpp"
#include "stats/counters.hpp"

namespace meridian::ops {

// Zone transfers out and NOTIFY since start (xfr::Counters, read once per request).
struct TransferCounts {
    uint64_t served = 0;      // AXFR or IXFR sent whole
    uint64_t up_to_date = 0;  // IXFR answered with the SOA alone
    uint64_t refused = 0;
    uint64_t tsig_errors = 0;
    uint64_t notifies_sent = 0;  // datagrams, retries included
    uint64_t notifies_acknowledged = 0;
    uint64_t notifies_failed = 0;
};

// Signatures made while answering, summed over the workers (answer::SigningCounters).
struct SigningCounts {
    uint64_t hits = 0;
    uint64_t signed_now = 0;
    uint64_t over_budget = 0;
    uint64_t failures = 0;
    uint64_t evictions = 0;
    uint64_t entries = 0;
    uint64_t cache_bytes = 0;
};

struct Readings {
    const answer::Snapshot& snapshot;
    std::vector<const stats::WorkerStats*> workers;  // one per worker thread
    unsigned overloaded_udp_sockets = 0;             // cut down for overload right now
    MonitoredRegions monitored;
    uint64_t health_transitions = 0;
    const OverrideStore& overrides;
    const std::vector<Alert>& alerts;
    const QueryTrends& trends;
    const ReloadCounts& reloads;
    const DemandForecasts* forecasts = nullptr;  // null: none shown
    std::string node;                            // the server's id ([identity] id_server)
    int64_t uptime_seconds = 0;
    const MemberStore* members = nullptr;           // null: every region's members from its zone file
    const adapt::Controller* controller = nullptr;  // null: no commit usage shown
    std::optional<FleetView> fleet{};               // none: a single node, no [fleet]
    TransferCounts transfers{};
    SigningCounts signing{};
};

}  // namespace meridian::ops

// The /metrics text: Prometheus exposition format (version 0.0.4) of the server-wide query
// counters, each zone's and region's counters and health, probe latency histograms, health
// transitions, reloads and alerts. Read-only; metric names and labels are docs/OPERATIONS.md's.
#pragma once

#include <string>

#include "ops/readings.hpp"

namespace meridian::ops {

// The content type /metrics answers with.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string metrics_text(const Readings& readings);

}  // namespace meridian::ops

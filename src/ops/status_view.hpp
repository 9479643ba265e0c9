// The /status document: the node, query totals, every zone with its regions (health, override,
// answers, query-rate trend) and its steered names' routes, the active alerts and the reloads.
// Read-only; the field names are the admin API's contract (meridianctl and the dashboard read them).
#pragma once

#include <nlohmann/json.hpp>

#include "ops/readings.hpp"

namespace meridian::ops {

nlohmann::json status_document(const Readings& readings);

}  // namespace meridian::ops

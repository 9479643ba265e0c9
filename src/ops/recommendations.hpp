// The GET /recommendations document (and `meridianctl recommend`): for every steered name of
// every zone (or of one), what its sampled clients would gain from a route change, each with the
// TOML to paste (adapt::recommend). Read-only; built on the control loop when asked.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/server_config.hpp"
#include "ops/client_mix.hpp"
#include "ops/readings.hpp"

namespace meridian::ops {

// `zone`: one zone's origin ("" for every zone; with or without the final dot). The latency
// matrix is read from its file each time (an error in it is reported in the document, and the
// estimates from distance stand in). Sets `*is_unknown_zone` when `zone` is not served.
nlohmann::json recommendations_document(const Readings& readings, const ClientMix& mix,
                                        const config::RecommendConfig& config, const std::string& zone,
                                        bool* is_unknown_zone);

// Reads the latency matrix (when one is configured) as `meridiand --check` and GET /check do: its
// errors go to `diagnostics`. The server itself starts without it: recommendations only advise.
void check_latency_matrix(const config::RecommendConfig& config, Diagnostics* diagnostics);

// "www" for www.example.com. in example.com., "@" for the apex: the key under [names].
std::string name_key(const std::string& owner, const std::string& origin);

}  // namespace meridian::ops

// State files: region states written by outside systems (cloud scripts, CDN monitors) for
// `file` checks. JSON, or TOML when the name ends in .toml:
//   {"regions": {"eu-west-1": "down", "us-east-1": {"state": "degraded", "reason": "maintenance"}}}
// States: up|healthy, degraded, down|unhealthy. A region the file does not name is healthy.
// An object may also give the region's "load" (for shed watermarks and least_loaded) and
// "latency_ms" (for latency, performance and adaptive), measured by whoever writes the file.
#pragma once

#include <map>
#include <string>

#include "health/state.hpp"

namespace meridian::probes {

struct StateFileEntry {
    health::State state = health::State::healthy;
    std::string reason;
    bool has_load = false;
    double load = 0;
    bool has_latency = false;
    double latency_ms = 0;
};

// False with *error ("path: what is wrong") when the file cannot be read or parsed.
bool read_state_file(const std::string& path, std::map<std::string, StateFileEntry>* out, std::string* error);

}  // namespace meridian::probes

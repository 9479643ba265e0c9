// How one check measures health: its kind, target, timing, success criteria and the thresholds
// that turn results into a state. Compiled from a zone's [checks] tables; knows nothing of TOML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"

namespace meridian::health {

enum class CheckKind : uint8_t { none, tcp, http, https, dns, file, prometheus };
const char* to_string(CheckKind kind) noexcept;

// The state a region has before its first probe completes.
enum class InitialState : uint8_t { up, down, wait };

struct Thresholds {
    uint32_t healthy_below_ms = 100;  // the source document's defaults
    uint32_t degraded_below_ms = 200;
    double healthy_success = 0.99;  // at least this success rate …
    double degraded_success = 0.95;
    uint32_t window = 20;  // results the rates and latency are computed over
    uint32_t rise = 2;     // consecutive evaluations before a state improves
    uint32_t fall = 3;     // … or worsens
};

struct CheckSpec {
    std::string name;
    CheckKind kind = CheckKind::none;
    uint32_t interval_ms = 5000;
    uint32_t timeout_ms = 1000;
    uint32_t jitter_ms = 0;  // each run starts up to this much early or late
    Thresholds thresholds;
    InitialState initial = InitialState::up;

    // Target. Default: the region's first address; `address` (check) or the region's
    // check_address override it.
    std::string address;
    uint16_t port = 0;
    // http / https
    std::string url;  // absolute: overrides address, port and path
    std::string path = "/";
    std::string host;  // Host header (and TLS name) when probing by address
    uint16_t status_min = 200;
    uint16_t status_max = 399;
    std::string body_contains;
    std::vector<std::string> load_field;  // JSON path of the load figure, for least_loaded
    bool verify_tls = true;
    // dns
    std::string query_name;
    uint16_t query_type = 1;
    uint16_t expect_rcode = 0;
    // file
    std::string file_path;  // resolved against the zone file's directory
    // prometheus: an instant query per region against the server at `url`; its value is the
    // region's latency (milliseconds), success rate (0 … 1) or load.
    enum class Measure : uint8_t { latency, success, load };
    std::string promql;  // a template: {region}, {zone}, {label:KEY} (health/promql_template.hpp)
    Measure measure = Measure::latency;
    uint32_t max_age_ms = 300000;  // an older sample is stale: a failed evaluation

    // Every address of a region probed on its own ("multi-value"): answers carry the healthy
    // ones, and the region is up while at least `min_healthy` of them are — a count, or with
    // `min_healthy_fraction` > 0 that share of the region's addresses, rounded up.
    bool per_address = false;
    uint32_t min_healthy = 1;
    double min_healthy_fraction = 0;

    SourceLocation where;
};

}  // namespace meridian::health

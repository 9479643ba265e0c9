// Prometheus as a source of a region's measurement: a PromQL template expanded for one region, the
// URL of its instant query, and the reply (GET /api/v1/query) read as one number or a reason why
// not. Pure: fetching the URL is the prober's business, and nothing here does I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "health/promql_template.hpp"

namespace meridian::probes {

using health::expand_promql;
using health::PromqlContext;

// Prometheus's own error text is quoted in a reason up to this many bytes (after escaping).
inline constexpr std::size_t kMaxPromErrorBytes = 200;

// base + "/api/v1/query?query=" + the query percent-encoded (RFC 3986 §2.3: only unreserved bytes
// kept). `base` is Prometheus's root URL, optionally with a path prefix; a trailing '/' is dropped.
std::string instant_query_url(std::string_view base, std::string_view promql);

struct PromReading {
    bool is_ok = false;
    double value = 0;        // set whenever a sample was read, a stale one too
    double sample_time = 0;  // Unix seconds; the evaluation time for a query of "now"
    std::string reason;      // why the reading is not ok; empty when it is
};

// Reads the body of an instant query's reply, with its HTTP status (Prometheus answers 400, 422
// and 503 with a JSON error body). Ok only for status "success" with resultType "vector" holding
// exactly one sample, or "scalar", whose value is finite and whose time is at most max_age_s
// before now_unix_s (infinity: any age). Every other reply has a reason fit for a log line and
// the status page: printable ASCII, Prometheus's own text quoted at most kMaxPromErrorBytes.
PromReading parse_instant_reply(int http_status, std::string_view body, double now_unix_s, double max_age_s);

}  // namespace meridian::probes

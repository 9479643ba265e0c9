// Runs one probe of a check against one target on the control loop and reports a ProbeResult:
// tcp (connect), http/https (libcurl multi), dns (a UDP query and its rcode). Never blocks;
// every failure, timeout included, is a result with a reason.
#pragma once

#include <uv.h>

#include <functional>
#include <unordered_set>

#include "geo/address.hpp"
#include "health/check_spec.hpp"
#include "health/target_health.hpp"
#include "probes/curl_driver.hpp"

namespace meridian::probes {

struct ProbeTarget {
    health::CheckSpec spec;
    geo::IpAddress address;  // resolved: check address, region check_address, or its first address
    std::string promql;      // prometheus: the check's query expanded for the region
};

using ProbeDone = std::function<void(const health::ProbeResult&)>;

struct InFlight;  // a tcp or dns probe waiting for its answer (prober.cpp)

class Prober {
public:
    Prober(uv_loop_t* loop, CurlDriver* curl) : loop_(loop), curl_(curl) {}

    void run(const ProbeTarget& target, ProbeDone done);
    // http(s) probes name the node in their User-Agent ("meridian-health/1 (node NAME)"), so a
    // target's logs tell the fleet's checkers apart.
    void set_node(std::string node) { node_ = std::move(node); }

    // Closes every tcp and dns probe still in flight without reporting it, so that each is freed
    // by its own close callbacks before the loop's final walk. http(s) and prometheus probes
    // belong to the CurlDriver, which closes its own.
    void cancel_all();

private:
    template <typename Probe>
    Probe* adopt(Probe* probe);

    void run_tcp(const ProbeTarget& target, ProbeDone done);
    void run_http(const ProbeTarget& target, ProbeDone done);
    void run_dns(const ProbeTarget& target, ProbeDone done);
    void run_prometheus(const ProbeTarget& target, ProbeDone done);

    uv_loop_t* loop_;
    CurlDriver* curl_;
    std::string node_;
    std::unordered_set<InFlight*> in_flight_;
};

// The URL an http(s) check fetches from a target, and the CURLOPT_RESOLVE entry that makes a
// Host name resolve to the target's address. Exposed for tests.
std::string probe_url(const ProbeTarget& target, std::string* resolve);

// What a prometheus check's reading says, as a probe result: the value as the region's latency,
// success rate or load; an error, an empty result or a stale sample as a failed evaluation.
health::ProbeResult prometheus_result(const health::CheckSpec& spec, int http_status, const std::string& body,
                                      double now_unix_s);

// Reads a number at a JSON path ("load" or "stats.load") from a body; nullopt when absent.
std::optional<double> json_number(const std::string& body, const std::vector<std::string>& path);

}  // namespace meridian::probes

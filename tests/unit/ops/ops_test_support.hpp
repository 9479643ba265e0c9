// Snapshots of small zones for the ops tests, loaded by the server's own zone loader: each zone
// is an origin with regions (IPv4 only) and one steered name, "app", over all of them. Monitored
// regions are written out as the health monitor would report them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "answer/snapshot.hpp"
#include "ops/monitored_regions.hpp"
#include "zone_test_support.hpp"

namespace meridian::test {

struct ZoneText {
    std::string origin;                // "example.net."
    std::vector<std::string> regions;  // at least one
};

inline std::string zone_toml(const ZoneText& z) {
    std::string text = "origin = \"" + z.origin + "\"\n" +
                       "records = \"\"\"\n@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.1\n\"\"\"\n" +
                       "[soa]\nprimary = \"ns1." + z.origin + "\"\ncontact = \"hostmaster." + z.origin + "\"\nserial = 1\n";
    std::string targets;
    for (std::size_t i = 0; i < z.regions.size(); ++i) {
        text += "[regions." + z.regions[i] + "]\naddresses = [\"192.0.2." + std::to_string(10 + i) + "\"]\n";
        targets += (i ? ", \"" : "\"") + z.regions[i] + "\"";
    }
    return text + "[names.app]\n[[names.app.route]]\nto = [" + targets + "]\n";
}

// A fresh snapshot (fresh runtimes: boards and counters at zero) of `zones`.
inline std::unique_ptr<answer::Snapshot> snapshot_of(const std::vector<ZoneText>& zones) {
    auto snapshot = std::make_unique<answer::Snapshot>();
    for (const ZoneText& z : zones) {
        LoadedZoneFile loaded = load_zone_text(zone_toml(z));
        INFO(loaded.diagnostics.format_all());
        REQUIRE(loaded.zone() != nullptr);
        REQUIRE(snapshot->zones.add(std::shared_ptr<const zone::Zone>(std::move(loaded.loaded.zone))));
    }
    return snapshot;
}

// A region as the health monitor reports one with probes: `probes` successful probes whose
// latencies average `latency_ms`, succeeding at `success_rate`.
inline probes::RegionStatus probed(const std::string& zone, const std::string& region, uint32_t latency_ms,
                                   double success_rate, uint64_t probes = 10) {
    probes::RegionStatus s;
    s.zone = zone;
    s.region = region;
    s.check = "web";
    s.latency_ms = latency_ms;
    s.success_rate = success_rate;
    s.is_probed = true;
    for (uint64_t i = 0; i < probes; ++i) s.probe_latency.add(latency_ms);
    return s;
}

inline ops::MonitoredRegions monitored(const std::vector<probes::RegionStatus>& statuses) {
    return ops::index_monitored(statuses);
}

}  // namespace meridian::test

namespace Catch {

template <>
struct StringMaker<meridian::ops::RegionKey> {
    static std::string convert(const meridian::ops::RegionKey& key) { return key.to_string(); }
};

}  // namespace Catch

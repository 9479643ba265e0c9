// Turns a server config into a Snapshot: loads every zone file it names and compiles the answer
// settings. The one loader used by the server, by --check and by the tests.
#pragma once

#include <memory>

#include "answer/snapshot.hpp"
#include "common/diagnostics.hpp"
#include "config/server_config.hpp"
#include "config/zone_file.hpp"

namespace meridian::config {

// Opens the config's geo databases; null (with the errors) when any cannot be used.
std::shared_ptr<const geo::GeoDatabases> open_geo_databases(const ServerConfig& config, Diagnostics* diagnostics);

// `zone` signed at `now` with the keys in its [dnssec] directory (one made there first when the
// table says generate and there is none, given to `owner` when made by root); null with the
// errors in `diagnostics`.
std::shared_ptr<const zone::Zone> sign_loaded_zone(std::shared_ptr<const zone::Zone> zone, const DnssecConfig& dnssec,
                                                   int64_t now, Diagnostics* diagnostics,
                                                   const std::string& owner = {});

// Null when any zone or database has an error; every error is in `diagnostics`.
// With `previous`, zones that keep their origin keep their counters.
std::unique_ptr<answer::Snapshot> load_snapshot(const ServerConfig& config, Diagnostics* diagnostics,
                                                const answer::Snapshot* previous = nullptr);

}  // namespace meridian::config

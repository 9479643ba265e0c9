// Turns a server config into a Snapshot: loads every zone file it names and compiles the answer
// settings. The one loader used by the server, by --check and by the tests.
#pragma once

#include <memory>

#include "answer/snapshot.hpp"
#include "common/diagnostics.hpp"
#include "config/server_config.hpp"

namespace meridian::config {

// Null when any zone has an error; every error is in `diagnostics`.
std::unique_ptr<answer::Snapshot> load_snapshot(const ServerConfig& config, Diagnostics* diagnostics);

}  // namespace meridian::config

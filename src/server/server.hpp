// The control side of a running server: opens the sockets, starts the workers, publishes
// snapshots, and handles signals (SIGINT/SIGTERM stop, SIGHUP reloads) on its own libuv loop.
#pragma once

#include <memory>

#include "answer/snapshot.hpp"
#include "config/server_config.hpp"

namespace meridian::server {

// Runs until SIGINT or SIGTERM; returns the process exit code.
int run_server(config::ServerConfig config, std::unique_ptr<const answer::Snapshot> snapshot);

}  // namespace meridian::server

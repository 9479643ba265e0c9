// Reads one zone file (TOML) into a compiled Zone: origin, default TTL, [soa] and records in
// RFC 1035 presentation format (parsed with ldns). Reports every problem with its position.
#pragma once

#include <filesystem>
#include <memory>

#include "common/diagnostics.hpp"
#include "zone/zone.hpp"

namespace meridian::config {

std::unique_ptr<zone::Zone> load_zone_file(const std::filesystem::path& path, Diagnostics* diagnostics);

}  // namespace meridian::config

// Reads one zone file (TOML) into a compiled Zone: origin, default TTL, [soa] and records in
// RFC 1035 presentation format (parsed with ldns). Reports every problem with its position.
#pragma once

#include <filesystem>
#include <memory>

#include "common/diagnostics.hpp"
#include "zone/zone.hpp"

namespace meridian::config {

struct LoadedZone {
    std::unique_ptr<zone::Zone> zone;  // null when the file had errors
    SourceLocation origin_where;       // the "origin" key, for errors about the zone as a whole
};

LoadedZone load_zone_file(const std::filesystem::path& path, Diagnostics* diagnostics);

}  // namespace meridian::config

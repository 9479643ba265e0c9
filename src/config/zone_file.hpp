// Reads one zone file (TOML) into a compiled Zone: origin, default TTL, [soa] and records in
// RFC 1035 presentation format (parsed with ldns). Reports every problem with its position.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/diagnostics.hpp"
#include "geo/address.hpp"
#include "zone/zone.hpp"

namespace meridian::config {

// The zone's [transfer] table as written; the key name is checked against the server's keys
// and the notify addresses resolved by load_snapshot.
struct TransferConfig {
    std::vector<geo::Network> allow;
    std::string key;  // as written; empty: none
    SourceLocation key_where;
    std::vector<std::pair<std::string, SourceLocation>> notify;
};

// The zone's [dnssec] table as written; load_snapshot reads the keys and signs the zone.
struct DnssecConfig {
    std::filesystem::path keys;  // resolved against the zone file's directory
    bool generate = false;
    std::string algorithm = "ecdsap256sha256";
    int64_t validity_ms = 0;
    int64_t refresh_ms = 0;
    uint32_t dnskey_ttl = 3600;
    bool publishes_cds = true;
    SourceLocation where;  // the table, for errors about the keys
};

struct LoadedZone {
    std::unique_ptr<zone::Zone> zone;  // null when the file had errors; unsigned
    SourceLocation origin_where;       // the "origin" key, for errors about the zone as a whole
    std::optional<TransferConfig> transfer;
    std::optional<DnssecConfig> dnssec;
};

LoadedZone load_zone_file(const std::filesystem::path& path, Diagnostics* diagnostics);

}  // namespace meridian::config

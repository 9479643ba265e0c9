// Everything an answer depends on, compiled once and then only read: the zones and the
// server-wide answer settings. Workers hold a snapshot for the length of a packet batch; the
// control thread replaces it as a whole (see server/snapshot_publisher.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "geo/geo_databases.hpp"
#include "zone/zone_set.hpp"

namespace meridian::answer {

inline constexpr std::size_t kMaxNsidSize = 128;

struct AnswerSettings {
    uint16_t udp_max_payload = 1232;  // cap on the EDNS payload we honour (RFC 6891 §6.2.5)
    std::vector<uint8_t> nsid;        // empty: no NSID in answers (RFC 5001); at most kMaxNsidSize
    bool is_chaos_enabled = true;
    // TXT rdata (character-strings) for the CHAOS names; empty means REFUSED for that name.
    std::vector<uint8_t> version_txt;
    std::vector<uint8_t> hostname_txt;
    std::vector<uint8_t> id_server_txt;
    // Who may ask "_explain.NAME TXT" (by packet source, never by ECS); empty: nobody.
    std::vector<geo::Network> explain_acl;
};

struct Snapshot {
    zone::ZoneSet zones;
    AnswerSettings settings;
    std::shared_ptr<const geo::GeoDatabases> geo = std::make_shared<geo::GeoDatabases>();  // never null
};

// Encodes text as TXT rdata: one or more <character-string>s of at most 255 bytes (RFC 1035 §3.3.14).
std::vector<uint8_t> txt_rdata(const std::string& text);

}  // namespace meridian::answer

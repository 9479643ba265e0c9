// Everything an answer depends on, compiled once and then only read: the zones and the
// server-wide answer settings. Workers hold a snapshot for the length of a packet batch; the
// control thread replaces it as a whole (see server/snapshot_publisher.hpp).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "geo/geo_databases.hpp"
#include "zone/zone_set.hpp"

namespace meridian::answer {

inline constexpr std::size_t kMaxNsidSize = 128;

// A TSIG key of the server config (RFC 8945); HMAC-SHA256 is the one algorithm offered.
struct TsigKey {
    std::string name;  // lower-case wire form
    std::vector<uint8_t> secret;
};

// A secondary told of serial changes (RFC 1996).
struct NotifyTarget {
    sockaddr_storage address{};
    socklen_t address_size = 0;
    std::string text;  // as written, for logs
};

// A zone's [transfer] table: who may transfer it, with which key, and whom to notify.
struct ZoneTransfer {
    std::vector<geo::Network> allow;  // packet sources allowed to transfer; empty: nobody
    std::string key;                  // lower-case wire name of the required key; empty: none required
    std::vector<NotifyTarget> notify;
};

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
    // Zone transfers (xfr/): the server's keys, and each zone's [transfer] by lower-case wire
    // origin; a zone without one is never transferred.
    std::vector<TsigKey> tsig_keys;
    std::unordered_map<std::string, ZoneTransfer> transfers;
};

struct Snapshot {
    zone::ZoneSet zones;
    AnswerSettings settings;
    std::shared_ptr<const geo::GeoDatabases> geo = std::make_shared<geo::GeoDatabases>();  // never null
};

// Encodes text as TXT rdata: one or more <character-string>s of at most 255 bytes (RFC 1035 §3.3.14).
std::vector<uint8_t> txt_rdata(const std::string& text);

}  // namespace meridian::answer

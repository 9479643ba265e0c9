// The schema of every setting: one row per key of the server config (meridian.toml) and of zone
// files, with its type, range, default and unit. The readers read each setting through its row
// (TableReader), `meridiand --schema` prints the rows as docs/CONFIG.md's tables. A range that
// protects a runtime limit is written as that limit's constant, never as a copy of its value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "answer/snapshot.hpp"
#include "dns/wire.hpp"
#include "health/vote.hpp"
#include "stats/counters.hpp"
#include "steer/policy.hpp"

namespace meridian::config {

enum class Document : uint8_t { server_config, zone_file };

enum class ValueType : uint8_t {
    integer,   // a TOML integer from min to max, in `unit`
    duration,  // "250ms", "5s", "2m", "1h", held in milliseconds; min and max in milliseconds
    boolean,
    fraction,   // a number from 0 to 1
    string,     // at most max bytes when max > 0
    choice,     // one of `choices`
    strings,    // an array of strings (at most max of them when max > 0)
    structure,  // a table, an array or a pair, read by hand; the row documents it and its range
};

struct Setting {
    Document document = Document::server_config;
    std::string_view table{};  // "" (the top level), "[server]", "[checks.NAME]" …
    std::string_view key{};
    ValueType type = ValueType::string;
    int64_t min = 0;
    int64_t max = 0;
    int64_t number = 0;              // default of integer, duration (milliseconds) and boolean rows
    double fraction = 0;             // default of fraction rows
    std::string_view text{};         // default of string and choice rows
    std::string_view default_doc{};  // the default in words, when it is computed or conditional
    bool is_required = false;
    std::string_view unit{};     // integer rows: "bytes", "seconds" …
    std::string_view alias{};    // the old spelling of a duration: an integer of milliseconds
    std::string_view choices{};  // choice rows: "up, down, wait"
    std::string_view noun{};     // choice rows: unknown <noun> "x"
    std::string_view limit{};    // the runtime constant the range protects, and why
    std::string_view shape{};    // the type as documented, when not the type's own name
    std::string_view doc{};
};

// TTLs are 31-bit (RFC 2181 §8).
inline constexpr int64_t kMaxTtl = INT32_MAX;
inline constexpr int64_t kMaxWeight = 1000000;
inline constexpr int64_t kMaxCapacity = 1000000000;
// A whole reply of the largest size, with its two-byte length prefix (RFC 1035 §4.2.2), must fit
// in a connection's pending output, or the connection could never send it.
inline constexpr int64_t kMinPendingOutput = dns::kMaxMessageSize + 2;

inline constexpr int64_t ms(int64_t n) { return n; }
inline constexpr int64_t seconds(int64_t n) { return n * 1000; }
inline constexpr int64_t minutes(int64_t n) { return n * 60 * 1000; }
inline constexpr int64_t hours(int64_t n) { return n * 3600 * 1000; }

inline constexpr std::string_view kStrategyChoices =
    "weighted, failover, nearest, all, sticky, latency, performance, least_loaded, adaptive, cost";
inline constexpr std::string_view kCheckKindChoices = "tcp, http, https, dns, file, prometheus, none";

namespace schema_rows {

using enum Document;
using enum ValueType;

// One row per setting, as the rows are read best: packed, not one field per line.
// clang-format off
inline constexpr Setting kRows[] = {
    // ---- server config: top level ------------------------------------------------------------
    {.document = server_config, .table = "", .key = "zones", .type = strings, .is_required = true,
     .shape = "list of paths",
     .doc = "Zone files, or directories whose every `*.toml` file is one zone; relative to this file"},
    {.document = server_config, .table = "", .key = "keys", .type = structure, .shape = "table of tables",
     .doc = "`[keys.NAME]`: TSIG keys that zones' `[transfer] key` name (below)"},
    {.document = server_config, .table = "", .key = "geoip", .type = structure,
     .shape = "array of tables",
     .doc = "`[[geoip]]`: MaxMind-format databases locating clients, consulted in order (below)"},

    // ---- [listen] -----------------------------------------------------------------------------
    {.document = server_config, .table = "[listen]", .key = "udp", .type = strings,
     .shape = "list of ADDRESS:PORT",
     .doc = "UDP addresses (`[IPv6]:PORT` for IPv6), a socket per worker on each; `udp` or `tcp` is required"},
    {.document = server_config, .table = "[listen]", .key = "tcp", .type = strings,
     .shape = "list of ADDRESS:PORT", .doc = "TCP addresses, a listener per worker on each"},

    // ---- [server] -----------------------------------------------------------------------------
    {.document = server_config, .table = "[server]", .key = "workers", .type = integer, .min = 0,
     .max = stats::kMaxWorkers, .number = 0, .unit = "threads",
     .limit = "stats::kMaxWorkers: one query-counter shard per worker",
     .doc = "Worker threads; 0: one per CPU core (at most the maximum). Takes effect on restart"},
    {.document = server_config, .table = "[server]", .key = "udp_max_payload", .type = integer,
     .min = dns::kClassicUdpSize, .max = dns::kMaxMessageSize, .number = 1232, .unit = "bytes",
     .limit = "dns::kClassicUdpSize and dns::kMaxMessageSize: the sizes a DNS message may have",
     .doc = "Cap on the EDNS payload size honoured (RFC 6891 §6.2.5); larger answers are truncated"},
    {.document = server_config, .table = "[server]", .key = "udp_receive_buffer", .type = integer, .min = 0,
     .max = 1 << 30, .number = 4 << 20, .unit = "bytes",
     .doc = "SO_RCVBUF of each UDP socket; 0: the kernel's default, never resized (see below)"},
    {.document = server_config, .table = "[server]", .key = "udp_overload_interval", .type = duration,
     .min = 0, .max = seconds(60), .number = ms(50), .alias = "udp_overload_interval_ms",
     .doc = "A queue not dry for this long is overloaded: its buffer drops to the kernel's default; "
            "`\"0s\"`: never"},
    {.document = server_config, .table = "[server]", .key = "tcp_idle_timeout", .type = duration,
     .min = ms(100), .max = hours(1), .number = seconds(10), .alias = "tcp_idle_timeout_ms",
     .doc = "Close a TCP connection idle this long (RFC 7766 §6.2.3)"},
    {.document = server_config, .table = "[server]", .key = "tcp_max_connections_per_worker", .type = integer,
     .min = 1, .max = 1 << 20, .number = 512, .unit = "connections",
     .doc = "Further connections to a worker are accepted and closed at once"},
    {.document = server_config, .table = "[server]", .key = "tcp_max_pending_output_bytes", .type = integer,
     .min = kMinPendingOutput, .max = int64_t{64} << 20, .number = int64_t{256} * 1024, .unit = "bytes",
     .limit = "dns::kMaxMessageSize + 2: a whole reply with its length prefix must fit",
     .doc = "Per connection: stop reading queries while more than this waits to be sent"},
    {.document = server_config, .table = "[server]", .key = "tcp_max_connections", .type = integer, .min = 1,
     .max = 1 << 20, .number = 4096, .unit = "connections", .doc = "TCP connections in total, over every worker"},
    {.document = server_config, .table = "[server]", .key = "tcp_max_connections_per_source", .type = integer,
     .min = 1, .max = 1 << 20, .number = 64, .unit = "connections",
     .doc = "TCP connections per client address (IPv6: per /64)"},
    {.document = server_config, .table = "[server]", .key = "tcp_query_timeout", .type = duration,
     .min = ms(100), .max = minutes(10), .number = seconds(5), .alias = "tcp_query_timeout_ms",
     .doc = "A query begun must arrive whole this soon (against slow clients)"},
    {.document = server_config, .table = "[server]", .key = "user", .type = string,
     .doc = "Started as root: become this user once the sockets are bound"},
    {.document = server_config, .table = "[server]", .key = "group", .type = string,
     .default_doc = "the user's group", .doc = "… and this group; supplementary groups are dropped"},
    {.document = server_config, .table = "[server]", .key = "allow_root", .type = boolean, .number = false,
     .doc = "Started as root without a `user`, run anyway instead of refusing"},

    // ---- [identity] ---------------------------------------------------------------------------
    {.document = server_config, .table = "[identity]", .key = "nsid", .type = string, .max = answer::kMaxNsidSize, .limit = "answer::kMaxNsidSize: the NSID option is built once per snapshot",
     .doc = "NSID option (RFC 5001) for clients that ask; absent: no NSID"},
    {.document = server_config, .table = "[identity]", .key = "hostname", .type = string,
     .default_doc = "the machine's host name", .doc = "CHAOS TXT hostname.bind"},
    {.document = server_config, .table = "[identity]", .key = "id_server", .type = string,
     .default_doc = "`hostname`", .doc = "CHAOS TXT id.server"},
    {.document = server_config, .table = "[identity]", .key = "version", .type = string,
     .doc = "CHAOS TXT version.bind and version.server; absent: REFUSED"},
    {.document = server_config, .table = "[identity]", .key = "chaos", .type = boolean, .number = true,
     .doc = "false: every CHAOS query is REFUSED"},

    // ---- [[geoip]] ----------------------------------------------------------------------------
    {.document = server_config, .table = "[[geoip]]", .key = "path", .type = string, .is_required = true,
     .doc = "The database file, relative to this file; replaced on disk, it is used within a second"},
    {.document = server_config, .table = "[[geoip]]", .key = "fields", .type = structure,
     .default_doc = "MaxMind's paths", .shape = "inline table",
     .doc = "Where each fact lives in a record (`[[geoip]] fields` below)"},
    {.document = server_config, .table = "[[geoip]] fields", .key = "continent", .type = structure,
     .default_doc = "`continent.code`", .shape = "path or list of paths",
     .doc = "Dotted paths tried in order; `[]`: the database lacks it (then taken from the country)"},
    {.document = server_config, .table = "[[geoip]] fields", .key = "country", .type = structure,
     .default_doc = "`[\"country.iso_code\", \"registered_country.iso_code\"]`", .shape = "path or list of paths",
     .doc = "ISO 3166-1 alpha-2 code"},
    {.document = server_config, .table = "[[geoip]] fields", .key = "subdivision", .type = structure,
     .default_doc = "`subdivisions.0.iso_code`", .shape = "path or list of paths", .doc = "ISO 3166-2 code"},
    {.document = server_config, .table = "[[geoip]] fields", .key = "asn", .type = structure,
     .default_doc = "`autonomous_system_number`", .shape = "path or list of paths", .doc = "AS number"},
    {.document = server_config, .table = "[[geoip]] fields", .key = "latitude", .type = structure,
     .default_doc = "`location.latitude`", .shape = "path or list of paths",
     .doc = "Degrees; `[]`: the country's capital is used"},
    {.document = server_config, .table = "[[geoip]] fields", .key = "longitude", .type = structure,
     .default_doc = "`location.longitude`", .shape = "path or list of paths", .doc = "Degrees"},

    // ---- [alerts] -----------------------------------------------------------------------------
    {.document = server_config, .table = "[alerts]", .key = "webhook", .type = string,
     .doc = "http:// or https:// URL POSTed a JSON document on every health state change and alert"},
    {.document = server_config, .table = "[alerts]", .key = "webhook_timeout", .type = duration, .min = ms(100),
     .max = seconds(60), .number = seconds(2), .alias = "webhook_timeout_ms", .doc = "Give up on a POST after this"},

    // ---- [admin] ------------------------------------------------------------------------------
    {.document = server_config, .table = "[admin]", .key = "listen", .type = string, .text = "127.0.0.1:8019",
     .doc = "ADDRESS:PORT of the admin API (docs/OPERATIONS.md); `\"\"` switches it off"},
    {.document = server_config, .table = "[admin]", .key = "token", .type = string,
     .doc = "Bearer token; required when `listen` is off loopback"},
    {.document = server_config, .table = "[admin]", .key = "explain_acl", .type = strings,
     .default_doc = "`[\"127.0.0.0/8\", \"::1/128\"]`", .shape = "list of networks",
     .doc = "Packet sources that may ask `_explain.NAME TXT`"},
    {.document = server_config, .table = "[admin]", .key = "explain_per_second", .type = integer, .min = 1,
     .max = 100000, .number = 10, .unit = "answers per second",
     .doc = "_explain answers per second and worker; beyond it, REFUSED"},

    // ---- [rrl] --------------------------------------------------------------------------------
    {.document = server_config, .table = "[rrl]", .key = "enabled", .type = boolean, .number = true,
     .default_doc = "true once `[rrl]` is present", .doc = "Response rate limiting for UDP, per source prefix"},
    {.document = server_config, .table = "[rrl]", .key = "responses_per_second", .type = integer, .min = 1,
     .max = 1000000, .number = 20, .unit = "responses per second", .doc = "Per source prefix"},
    {.document = server_config, .table = "[rrl]", .key = "burst", .type = integer, .min = 1, .max = 10000000,
     .number = 40, .default_doc = "2 × `responses_per_second`", .unit = "responses",
     .doc = "Responses a prefix may get at once"},
    {.document = server_config, .table = "[rrl]", .key = "slip", .type = integer, .min = 0, .max = 100,
     .number = 2, .doc = "Every slip-th limited response goes out truncated (TC=1); 0: drop them all"},
    {.document = server_config, .table = "[rrl]", .key = "ipv4_prefix", .type = integer, .min = 8, .max = 32,
     .number = 24, .unit = "bits", .doc = "IPv4 sources are counted per prefix of this length"},
    {.document = server_config, .table = "[rrl]", .key = "ipv6_prefix", .type = integer, .min = 16, .max = 128,
     .number = 56, .unit = "bits", .doc = "IPv6 sources are counted per prefix of this length"},
    {.document = server_config, .table = "[rrl]", .key = "exempt", .type = strings,
     .shape = "list of networks", .doc = "Sources never limited"},

    // ---- [analytics] --------------------------------------------------------------------------
    {.document = server_config, .table = "[analytics]", .key = "latency_warning", .type = duration,
     .min = ms(1), .max = minutes(10), .number = ms(150), .alias = "latency_warning_ms",
     .doc = "A probed region's latency above it: warning"},
    {.document = server_config, .table = "[analytics]", .key = "success_critical", .type = fraction,
     .fraction = 0.95, .doc = "A probed region's success rate below it: critical"},
    {.document = server_config, .table = "[analytics]", .key = "healthy_fraction_warning", .type = fraction,
     .fraction = 0.80, .doc = "Fewer of a zone's regions healthy than this: warning"},
    {.document = server_config, .table = "[analytics]", .key = "interval", .type = duration, .min = ms(500),
     .max = hours(1), .number = seconds(5), .alias = "interval_ms", .doc = "How often the rules are evaluated"},

    // ---- [adaptive] ---------------------------------------------------------------------------
    {.document = server_config, .table = "[adaptive]", .key = "interval", .type = duration, .min = ms(250),
     .max = minutes(1), .number = seconds(2),
     .doc = "How often the control loop recomputes capacity and load factors and adaptive weights"},
    {.document = server_config, .table = "[adaptive]", .key = "max_step", .type = fraction, .fraction = 0.10,
     .doc = "The most a factor or an adaptive share may move in one step (damping)"},

    // ---- [forecast] ---------------------------------------------------------------------------
    {.document = server_config, .table = "[forecast]", .key = "bucket", .type = duration, .min = seconds(10),
     .max = hours(1), .number = minutes(5), .doc = "Answers are totalled per bucket of this length for the forecasts"},
    {.document = server_config, .table = "[forecast]", .key = "season", .type = duration, .min = minutes(1),
     .max = hours(int64_t{24} * 7), .number = hours(24), .limit = "at most 10080 buckets",
     .doc = "The season of the Holt-Winters forecasts; a whole number of buckets"},
    {.document = server_config, .table = "[forecast]", .key = "horizon", .type = duration, .min = 0,
     .max = hours(24), .number = minutes(30),
     .doc = "Predictive alerts: a region whose forecast passes its capacity within this long; 0s: none"},
    {.document = server_config, .table = "[forecast]", .key = "state_file", .type = string,
     .default_doc = "`meridian-forecast.json` next to the first `zones` entry",
     .doc = "Where the forecasts are kept across restarts (relative to this file)"},

    // ---- [keys.NAME] ---------------------------------------------------------------------------
    {.document = server_config, .table = "[keys.NAME]", .key = "algorithm", .type = choice, .text = "hmac-sha256",
     .choices = "hmac-sha256", .noun = "TSIG algorithm",
     .doc = "A TSIG key (RFC 8945) for zone transfers and NOTIFY; NAME is the key's domain name (docs/TRANSFERS.md)"},
    {.document = server_config, .table = "[keys.NAME]", .key = "secret", .type = string,
     .default_doc = "none: `secret_file`", .doc = "The shared secret, base64 (`tsig-keygen`, `openssl rand -base64 32`)"},
    {.document = server_config, .table = "[keys.NAME]", .key = "secret_file", .type = string,
     .default_doc = "none: `secret`",
     .doc = "A file holding the base64 secret (relative to this file); exactly one of `secret` and `secret_file`"},

    // ---- [members] ----------------------------------------------------------------------------
    {.document = server_config, .table = "[members]", .key = "state_file", .type = string,
     .default_doc = "`meridian-members.json` next to the first `zones` entry",
     .doc = "Where members set by the push API and read from feeds are kept across restarts (relative to this file)"},

    // ---- [fleet] ------------------------------------------------------------------------------
    {.document = server_config, .table = "[fleet]", .key = "endpoints", .type = strings, .is_required = true,
     .doc = "etcd client URLs (`http://` or `https://`), tried in order; the table's presence turns fleet mode on"},
    {.document = server_config, .table = "[fleet]", .key = "prefix", .type = string, .text = "/meridian/",
     .doc = "Every key this fleet writes lies under it; fleets sharing an etcd need their own"},
    {.document = server_config, .table = "[fleet]", .key = "node", .type = string, .default_doc = "`id_server`",
     .doc = "This node's name in the fleet, unique among its nodes"},
    {.document = server_config, .table = "[fleet]", .key = "user", .type = string,
     .doc = "etcd user (etcd's own authentication); absent: none"},
    {.document = server_config, .table = "[fleet]", .key = "password", .type = string, .doc = "… and its password"},
    {.document = server_config, .table = "[fleet]", .key = "password_file", .type = string,
     .doc = "… or a file holding its first line (relative to this file), read at start"},
    {.document = server_config, .table = "[fleet]", .key = "ca_file", .type = string,
     .default_doc = "the system's CAs", .doc = "https endpoints: the CA that signed etcd's certificate"},
    {.document = server_config, .table = "[fleet]", .key = "cert_file", .type = string,
     .doc = "https endpoints: this node's client certificate (etcd --client-cert-auth)"},
    {.document = server_config, .table = "[fleet]", .key = "key_file", .type = string, .doc = "… and its key"},
    {.document = server_config, .table = "[fleet]", .key = "verify_tls", .type = boolean, .number = true,
     .doc = "false: accept any certificate from etcd (testing only)"},
    {.document = server_config, .table = "[fleet]", .key = "timeout", .type = duration, .min = ms(100),
     .max = seconds(60), .number = seconds(2), .doc = "Each etcd request; a node whose requests fail is partitioned"},
    {.document = server_config, .table = "[fleet]", .key = "lease_ttl", .type = duration, .min = seconds(2),
     .max = hours(1), .number = seconds(10),
     .doc = "A node's votes and entry live this long without its keep-alives: how long a dead node's votes count"},
    {.document = server_config, .table = "[fleet]", .key = "quorum", .type = fraction, .fraction = 0.5,
     .doc = "A target is healthy when the share of live voters seeing it healthy exceeds this (0.18: Route 53's rule); below 1"},
    {.document = server_config, .table = "[fleet]", .key = "min_voters", .type = integer, .min = 1,
     .max = health::kMaxVoters, .number = 2, .unit = "nodes", .limit = "health::kMaxVoters: live votes counted per target",
     .doc = "Fewer live voters than this on a target: each node goes by its own verdict"},

    // ---- [dnssec] (server) ----------------------------------------------------------------------
    {.document = server_config, .table = "[dnssec]", .key = "cache_entries", .type = integer, .min = 0,
     .max = 100000000, .number = 100000, .unit = "signatures",
     .doc = "Signatures made while answering that each worker keeps (about 104 bytes each); 0: none kept"},
    {.document = server_config, .table = "[dnssec]", .key = "signatures_per_second", .type = integer, .min = 1,
     .max = 10000000, .number = 10000, .unit = "per worker",
     .doc = "Signatures each worker may make on cache misses; past it UDP clients are sent to TCP (TC=1) and TCP clients get SERVFAIL"},

    // ---- [recommendations] --------------------------------------------------------------------
    {.document = server_config, .table = "[recommendations]", .key = "latency_matrix", .type = string,
     .default_doc = "none: latencies estimated from distance",
     .doc = "A file of measured round-trip times, lines of country,region,rtt_ms (relative to this file)"},
    {.document = server_config, .table = "[recommendations]", .key = "min_gain", .type = duration, .min = ms(1),
     .max = seconds(10), .number = ms(5), .doc = "A change is recommended only when it lowers the expected latency this much"},
    {.document = server_config, .table = "[recommendations]", .key = "half_life", .type = duration,
     .min = minutes(1), .max = hours(int64_t{24} * 7), .number = hours(6),
     .doc = "The sampled answers recommendations learn from count half as much after this long"},

    // ---- zone file: top level -----------------------------------------------------------------
    {.document = zone_file, .table = "", .key = "origin", .type = string, .is_required = true,
     .doc = "The zone's apex; relative names in the file are below it"},
    {.document = zone_file, .table = "", .key = "ttl", .type = integer, .min = 0, .max = kMaxTtl, .number = 3600,
     .unit = "seconds", .limit = "RFC 2181 §8: TTLs are 31-bit", .doc = "TTL of records that give none"},
    {.document = zone_file, .table = "", .key = "records", .type = structure,
     .shape = "string or list of strings", .doc = "Records in RFC 1035 presentation format (docs/ZONES.md)"},
    {.document = zone_file, .table = "", .key = "ecs", .type = boolean, .number = true,
     .doc = "false: locate clients by the packet's source even when a query carries EDNS Client Subnet"},
    {.document = zone_file, .table = "", .key = "soa", .type = structure, .is_required = true, .shape = "table",
     .doc = "`[soa]` below"},
    {.document = zone_file, .table = "", .key = "dnssec", .type = structure,
     .default_doc = "none: unsigned", .shape = "table", .doc = "`[dnssec]`: the zone is signed (docs/DNSSEC.md)"},
    {.document = zone_file, .table = "", .key = "transfer", .type = structure,
     .default_doc = "none: never transferred", .shape = "table", .doc = "`[transfer]`: zone transfers out and NOTIFY (docs/TRANSFERS.md)"},
    {.document = zone_file, .table = "", .key = "checks", .type = structure,
     .shape = "tables", .doc = "`[checks.NAME]`: health checks (docs/HEALTH.md)"},
    {.document = zone_file, .table = "", .key = "regions", .type = structure,
     .shape = "tables", .doc = "`[regions.NAME]`: where steered names send traffic (docs/POLICY.md)"},
    {.document = zone_file, .table = "", .key = "cidrs", .type = structure,
     .shape = "table", .doc = "`[cidrs]`: named lists of networks"},
    {.document = zone_file, .table = "", .key = "locations", .type = structure,
     .shape = "tables", .doc = "`[locations.NAME]`: named sets of places"},
    {.document = zone_file, .table = "", .key = "names", .type = structure,
     .shape = "tables", .doc = "`[names.NAME]`: steered names"},

    // ---- [soa] --------------------------------------------------------------------------------
    {.document = zone_file, .table = "[soa]", .key = "primary", .type = string, .is_required = true,
     .doc = "MNAME: the primary name server"},
    {.document = zone_file, .table = "[soa]", .key = "contact", .type = string, .is_required = true,
     .doc = "RNAME: `hostmaster@example.net` or `hostmaster.example.net.`"},
    {.document = zone_file, .table = "[soa]", .key = "serial", .type = integer, .min = 0, .max = UINT32_MAX,
     .is_required = true, .limit = "RFC 1982: a 32-bit serial", .doc = "SERIAL"},
    {.document = zone_file, .table = "[soa]", .key = "refresh", .type = integer, .min = 0, .max = kMaxTtl,
     .number = 3600, .unit = "seconds", .doc = "REFRESH"},
    {.document = zone_file, .table = "[soa]", .key = "retry", .type = integer, .min = 0, .max = kMaxTtl,
     .number = 600, .unit = "seconds", .doc = "RETRY"},
    {.document = zone_file, .table = "[soa]", .key = "expire", .type = integer, .min = 0, .max = kMaxTtl,
     .number = 1209600, .unit = "seconds", .doc = "EXPIRE"},
    {.document = zone_file, .table = "[soa]", .key = "negative_ttl", .type = integer, .min = 0, .max = kMaxTtl,
     .number = 60, .unit = "seconds",
     .doc = "MINIMUM; negative answers are cached for the smaller of it and the SOA's TTL (RFC 2308 §3)"},
    {.document = zone_file, .table = "[soa]", .key = "ttl", .type = integer, .min = 0, .max = kMaxTtl,
     .default_doc = "the zone's `ttl`", .unit = "seconds", .doc = "TTL of the SOA record"},

    // ---- [dnssec] (zone) ------------------------------------------------------------------------
    {.document = zone_file, .table = "[dnssec]", .key = "keys", .type = string, .text = "keys",
     .doc = "Directory of the zone's BIND key files K<zone>+<alg>+<tag>.key/.private (relative to the zone file)"},
    {.document = zone_file, .table = "[dnssec]", .key = "generate", .type = boolean, .number = false,
     .doc = "true: make a combined signing key (CSK) in `keys` when it holds none for the zone"},
    {.document = zone_file, .table = "[dnssec]", .key = "algorithm", .type = choice, .text = "ecdsap256sha256",
     .choices = "ecdsap256sha256, ed25519", .noun = "algorithm", .doc = "The algorithm of keys `generate` makes (13 or 15)"},
    {.document = zone_file, .table = "[dnssec]", .key = "validity", .type = duration, .min = hours(48),
     .max = hours(int64_t{24} * 366), .number = hours(int64_t{24} * 14),
     .doc = "Signature expiration: this long after the start of the window it was made in"},
    {.document = zone_file, .table = "[dnssec]", .key = "refresh", .type = duration, .min = hours(1),
     .max = hours(int64_t{24} * 183), .number = hours(int64_t{24} * 7),
     .doc = "Signature windows start at multiples of this since the epoch (every node alike); below `validity`"},
    {.document = zone_file, .table = "[dnssec]", .key = "dnskey_ttl", .type = integer, .min = 0, .max = kMaxTtl,
     .number = 3600, .unit = "seconds", .limit = "RFC 2181 §8: TTLs are 31-bit", .doc = "TTL of DNSKEY, CDS and CDNSKEY"},
    {.document = zone_file, .table = "[dnssec]", .key = "cds", .type = boolean, .number = true,
     .doc = "Publish CDS and CDNSKEY for the signing SEP keys (RFC 7344), so the parent can follow rollovers"},

    // ---- [transfer] -------------------------------------------------------------------------
    {.document = zone_file, .table = "[transfer]", .key = "allow", .type = strings, .default_doc = "nobody",
     .shape = "list of networks", .doc = "Sources (ADDRESS/LENGTH) that may transfer the zone by AXFR or IXFR over TCP"},
    {.document = zone_file, .table = "[transfer]", .key = "key", .type = string, .default_doc = "none: unsigned transfers",
     .doc = "A `[keys.NAME]` of the server config: transfers must be signed with it (TSIG), NOTIFY is signed with it"},
    {.document = zone_file, .table = "[transfer]", .key = "notify", .type = strings, .default_doc = "none",
     .shape = "list of ADDRESS[:PORT]", .doc = "Secondaries sent NOTIFY (RFC 1996) when the zone's serial changes; port 53 unless given"},

    // ---- [checks.NAME] ------------------------------------------------------------------------
    {.document = zone_file, .table = "[checks.NAME]", .key = "kind", .type = choice, .is_required = true,
     .choices = kCheckKindChoices, .noun = "check kind", .doc = "How the check probes"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "interval", .type = duration, .min = ms(100),
     .max = hours(24), .number = seconds(5), .doc = "Time from one run to the next"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "timeout", .type = duration, .min = ms(1),
     .max = hours(24), .number = seconds(1), .doc = "A probe slower than this fails; at most `interval`"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "jitter", .type = duration, .min = 0,
     .max = hours(24), .number = 0, .doc = "Each run starts up to this much early or late; at most half `interval`"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "rise", .type = integer, .min = 1, .max = 100,
     .number = 2, .unit = "evaluations", .doc = "Evaluations in a row before the state improves"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "fall", .type = integer, .min = 1, .max = 100,
     .number = 3, .unit = "evaluations", .doc = "… before it worsens"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "window", .type = integer, .min = 1, .max = 1000,
     .number = 20, .unit = "results", .doc = "Results the success rate is computed over"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "healthy_below", .type = duration, .min = ms(1),
     .max = minutes(10), .number = ms(100), .alias = "healthy_below_ms",
     .doc = "Healthy: latency below this (and success at least `healthy_success`)"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "degraded_below", .type = duration, .min = ms(1),
     .max = minutes(10), .number = ms(200), .alias = "degraded_below_ms",
     .doc = "Degraded: below this (and success at least `degraded_success`); not below `healthy_below`"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "healthy_success", .type = fraction,
     .fraction = 0.99, .doc = "See `healthy_below`"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "degraded_success", .type = fraction,
     .fraction = 0.95, .doc = "See `degraded_below`"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "initial", .type = choice, .text = "up",
     .choices = "up, down, wait", .noun = "initial state",
     .doc = "The state before the first result; `wait`: answer only after the first round"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "address", .type = string,
     .default_doc = "the region's", .doc = "Probe this address instead of the region's"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "port", .type = integer, .min = 1, .max = 65535,
     .default_doc = "80 (http), 443 (https), 53 (dns)", .doc = "Port probed; a tcp check needs one"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "url", .type = string,
     .doc = "http, https: an absolute URL, instead of address, port and path; prometheus: the server's URL (required)"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "path", .type = string, .text = "/",
     .doc = "http, https: the path asked for (an http check needs `url` or `path`)"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "host", .type = string,
     .doc = "http, https: Host header and TLS name when probing by address"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "expect_status", .type = structure, .min = 100,
     .max = 599, .default_doc = "`[200, 399]`", .shape = "status or [lowest, highest]",
     .doc = "http, https: the statuses that pass"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "body_contains", .type = string, .doc = "http, https: the body must hold this text"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "load_field", .type = string,
     .doc = "http, https: dotted path of a number in the JSON body, for `least_loaded`"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "verify_tls", .type = boolean, .number = true,
     .doc = "https: false skips certificate checks"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "query", .type = string,
     .doc = "dns: the name asked for (type A); required"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "expect_rcode", .type = integer, .min = 0,
     .max = 15, .number = 0, .limit = "RFC 1035 §4.1.1: RCODE is 4 bits", .doc = "dns: the rcode that passes"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "file", .type = string,
     .doc = "file: the state file written by outside systems, relative to the zone file; required"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "promql", .type = string,
     .doc = "prometheus: the instant query whose value is measured, with {region}, {zone} and {label:KEY}; required"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "measure", .type = choice, .text = "latency",
     .choices = "latency, success, load", .noun = "measure",
     .doc = "prometheus: what the value is: a latency in milliseconds, a success ratio (0 … 1) or a load"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "max_age", .type = duration, .min = seconds(1),
     .max = hours(24), .number = minutes(5), .doc = "prometheus: a sample older than this is stale (a failed evaluation)"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "per_address", .type = boolean, .number = false,
     .doc = "tcp, http, https, dns: probe every address of the region on its own; answers carry the healthy ones"},
    {.document = zone_file, .table = "[checks.NAME]", .key = "min_healthy", .type = structure, .min = 1,
     .max = steer::kMaxMembers, .default_doc = "1", .limit = "steer::kMaxMembers: the most addresses a region has",
     .shape = "count or fraction",
     .doc = "per_address: the region is up while this many addresses (an integer) or this share of them (0 < x < 1) are"},

    // ---- [regions.NAME] -----------------------------------------------------------------------
    {.document = zone_file, .table = "[regions.NAME]", .key = "addresses", .type = strings, .shape = "list of IP addresses", .doc = "The region's A and AAAA records"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "cname", .type = string,
     .doc = "Instead of addresses: a CNAME target (relative to the origin unless it ends in `.`)"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "location", .type = structure, .shape = "[latitude, longitude]", .doc = "Degrees (−90 … 90, −180 … 180), for `nearest`"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "weight", .type = integer, .min = 0,
     .max = kMaxWeight, .number = 1, .doc = "Weight in routes that give none; 0: no traffic unless all are 0"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "bias", .type = integer, .min = -99, .max = 99,
     .number = 0, .unit = "percent",
     .doc = "`nearest` counts distances to this region (1 − bias/100) times"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "check", .type = string,
     .doc = "A `[checks.NAME]` that probes the region"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "capacity", .type = integer, .min = 0,
     .max = kMaxCapacity, .number = 0, .default_doc = "no limit", .unit = "answers per second",
     .doc = "The most answers per second this server sends the region; the surplus spills to the next-best candidate"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "shed", .type = structure, .default_doc = "none",
     .shape = "{ low = N, high = N }",
     .doc = "Shed load: watermarks on the load its check reports (`load_field`); from low to high its share falls to 0"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "check_address", .type = string,
     .default_doc = "the first address", .doc = "Probe this address instead"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "cost", .type = structure, .default_doc = "none",
     .shape = "number ≥ 0", .doc = "For strategy `cost`: the price in cost_unit (or a rank); cheapest first"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "cost_unit", .type = choice, .text = "rank",
     .choices = "answer, gb, rank", .noun = "cost unit",
     .doc = "What cost and commit count: answers, GB of traffic (gb_per_answer of it per answer), or a plain rank"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "gb_per_answer", .type = structure,
     .default_doc = "none", .shape = "number > 0", .doc = "cost_unit = \"gb\": the traffic one answer leads to, in GB"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "commit", .type = structure, .default_doc = "0: none",
     .shape = "number ≥ 0", .doc = "The volume per commit_period at this cost (answers, or GB); used up, the region goes last"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "commit_period", .type = duration, .min = minutes(1),
     .max = hours(int64_t{24} * 366), .number = hours(int64_t{24} * 30),
     .doc = "The period a commit is counted over, from the Unix epoch in whole periods"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "labels", .type = structure,
     .shape = "{ key = \"value\" }", .doc = "Named values a prometheus check's query takes as {label:KEY}"},
    {.document = zone_file, .table = "[regions.NAME]", .key = "members", .type = structure, .shape = "table",
     .doc = "`[regions.NAME.members]`: a member feed, and the rules for members from feeds and pushes (docs/INTEGRATIONS.md)"},

    // ---- [regions.NAME.members] ---------------------------------------------------------------
    {.document = zone_file, .table = "[regions.NAME.members]", .key = "feed", .type = string,
     .default_doc = "none: the zone file's addresses and pushes",
     .doc = "A member document at an http(s) URL, or in a file (relative to the zone file), read again as it changes"},
    {.document = zone_file, .table = "[regions.NAME.members]", .key = "interval", .type = duration, .min = seconds(1),
     .max = hours(1), .number = seconds(30), .doc = "How often a URL feed is asked (conditionally); a file feed is watched each second"},
    {.document = zone_file, .table = "[regions.NAME.members]", .key = "timeout", .type = duration, .min = ms(100),
     .max = seconds(60), .number = seconds(5), .doc = "A URL feed's request gives up after this long"},
    {.document = zone_file, .table = "[regions.NAME.members]", .key = "max_members", .type = integer, .min = 1,
     .max = steer::kMaxMembers, .number = 64, .limit = "steer::kMaxMembers: each member takes a health-board slot",
     .doc = "A feed or a push with more members is refused"},
    {.document = zone_file, .table = "[regions.NAME.members]", .key = "family", .type = choice, .text = "any",
     .choices = "any, ipv4, ipv6", .noun = "family", .doc = "A feed or a push with an address of another family is refused"},
    {.document = zone_file, .table = "[regions.NAME.members]", .key = "allow_empty", .type = boolean, .number = false,
     .doc = "An empty member list empties the region instead of being refused"},

    // ---- [cidrs], [locations.NAME] ------------------------------------------------------------
    {.document = zone_file, .table = "[cidrs]", .key = "NAME", .type = strings,
     .shape = "network or list of networks", .doc = "A named set of networks (ADDRESS/LENGTH)"},
    {.document = zone_file, .table = "[locations.NAME]", .key = "continents", .type = structure, .shape = "code or list", .doc = "AF AN AS EU NA OC SA"},
    {.document = zone_file, .table = "[locations.NAME]", .key = "countries", .type = structure, .shape = "code or list", .doc = "ISO 3166-1 alpha-2"},
    {.document = zone_file, .table = "[locations.NAME]", .key = "subdivisions", .type = structure, .shape = "code or list", .doc = "ISO 3166-2, such as `US-CA`"},
    {.document = zone_file, .table = "[locations.NAME]", .key = "asns", .type = structure, .min = 1,
     .max = UINT32_MAX, .shape = "number or list", .doc = "AS numbers"},

    // ---- [names.NAME] -------------------------------------------------------------------------
    {.document = zone_file, .table = "[names.NAME]", .key = "ttl", .type = integer, .min = 0, .max = kMaxTtl,
     .number = 60, .unit = "seconds", .doc = "TTL of the steered records"},
    {.document = zone_file, .table = "[names.NAME]", .key = "answers", .type = integer, .min = 1,
     .max = steer::kMaxAnswers, .number = 1, .unit = "regions",
     .limit = "steer::kMaxAnswers: the regions one decision can return",
     .doc = "The most regions in one answer (`all` ignores it up to the maximum)"},
    {.document = zone_file, .table = "[names.NAME]", .key = "pruned_ttl", .type = integer, .min = 0,
     .max = kMaxTtl, .number = 10, .default_doc = "10, or `ttl` if lower", .unit = "seconds",
     .doc = "TTL while a candidate was left out for its health"},
    {.document = zone_file, .table = "[names.NAME]", .key = "strategy", .type = choice, .text = "weighted",
     .choices = kStrategyChoices, .noun = "strategy", .doc = "The routes' default strategy (docs/POLICY.md)"},
    {.document = zone_file, .table = "[names.NAME]", .key = "degraded", .type = choice, .text = "fallback",
     .choices = "fallback, healthy, never", .noun = "use of degraded regions",
     .doc = "Degraded regions: only when nothing healthy is left, like healthy ones, or never"},
    {.document = zone_file, .table = "[names.NAME]", .key = "fail", .type = structure, .default_doc = "`\"open\"`",
     .shape = "\"open\", \"closed\", { region = … }, { cname = … }",
     .doc = "The answer when every candidate is down: all of them, NODATA, a region or a CNAME"},
    {.document = zone_file, .table = "[names.NAME]", .key = "route", .type = structure, .is_required = true,
     .shape = "array of tables", .doc = "`[[names.NAME.route]]`: the routes, tried in order"},

    // ---- [[names.NAME.route]] -----------------------------------------------------------------
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "when", .type = structure,
     .default_doc = "every client", .shape = "inline table", .doc = "The condition (below); all parts must match"},
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "to", .type = strings,
     .max = steer::kMaxRouteTargets, .default_doc = "every region, in file order",
     .limit = "steer::kMaxRouteTargets: the candidate slots of one decision", .shape = "region or list of regions",
     .doc = "The regions, in failover order; a route that names more than the maximum is an error"},
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "weights", .type = structure, .min = 0,
     .max = kMaxWeight, .default_doc = "the regions' `weight`", .shape = "inline table",
     .doc = "Per region: its weight in this route"},
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "strategy", .type = choice,
     .default_doc = "the name's `strategy`", .choices = kStrategyChoices, .noun = "strategy",
     .doc = "How the route picks among its regions"},
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "max_latency", .type = duration,
     .min = ms(1), .max = minutes(10), .number = 0, .default_doc = "none", .alias = "max_latency_ms",
     .doc = "Leave out candidates measured slower than this"},
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "band", .type = string, .default_doc = "`\"50%\"`",
     .shape = "\"20ms\" or \"15%\"",
     .doc = "adaptive: regions whose latency EWMA is within this of the best share the traffic"},
    {.document = zone_file, .table = "[[names.NAME.route]]", .key = "time_constant", .type = duration,
     .min = seconds(1), .max = hours(1), .number = seconds(30),
     .doc = "adaptive: the time constant of each region's latency EWMA"},

    // ---- when = { … } -------------------------------------------------------------------------
    {.document = zone_file, .table = "[[names.NAME.route]] when", .key = "continent", .type = structure,
     .default_doc = "any", .shape = "code or list", .doc = "AF AN AS EU NA OC SA"},
    {.document = zone_file, .table = "[[names.NAME.route]] when", .key = "country", .type = structure,
     .default_doc = "any", .shape = "code or list", .doc = "ISO 3166-1 alpha-2"},
    {.document = zone_file, .table = "[[names.NAME.route]] when", .key = "subdivision", .type = structure,
     .default_doc = "any", .shape = "code or list", .doc = "ISO 3166-2, such as `US-CA`"},
    {.document = zone_file, .table = "[[names.NAME.route]] when", .key = "asn", .type = structure, .min = 1,
     .max = UINT32_MAX, .default_doc = "any", .shape = "number or list", .doc = "AS numbers"},
    {.document = zone_file, .table = "[[names.NAME.route]] when", .key = "cidr", .type = structure,
     .default_doc = "any", .shape = "name or list", .doc = "`[cidrs]` names or networks written inline"},
    {.document = zone_file, .table = "[[names.NAME.route]] when", .key = "location", .type = structure,
     .default_doc = "any", .shape = "name or list", .doc = "`[locations.NAME]` names"},
};
// clang-format on

}  // namespace schema_rows

// Every row, in the order the docs list them.
inline constexpr std::span<const Setting> kSchema{schema_rows::kRows};

// The row of `key` in `table` of `document`, found while compiling: a key with no row does not
// compile.
consteval const Setting& find_setting(Document document, std::string_view table, std::string_view key) {
    for (const Setting& s : schema_rows::kRows) {
        if (s.document == document && s.table == table && s.key == key) return s;
    }
    throw "config::kSchema has no such setting";
}
consteval const Setting& server_setting(std::string_view table, std::string_view key) {
    return find_setting(Document::server_config, table, key);
}
consteval const Setting& zone_setting(std::string_view table, std::string_view key) {
    return find_setting(Document::zone_file, table, key);
}

// "250ms", "5s", "2m", "1h": digits and one unit; nullopt for anything else.
std::optional<uint64_t> parse_duration_ms(std::string_view text);
// The largest unit that writes `ms` exactly: 50 → "50ms", 5000 → "5s", 120000 → "2m".
std::string format_duration_ms(uint64_t ms);

// The rows' defaults as written in the docs, and the range ("100ms – 1h", "at most 128 bytes").
std::string default_text(const Setting& setting);
std::string range_text(const Setting& setting);

// docs/CONFIG.md's settings tables: every row, as Markdown (`meridiand --schema`).
std::string schema_markdown();

}  // namespace meridian::config

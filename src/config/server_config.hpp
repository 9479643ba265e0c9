// The server configuration file (meridian.toml): where to listen, how many workers, which zone
// files, and the server's identity. Paths inside it are relative to the file itself. Each key's
// type, range and default is its row in config/schema.hpp; the defaults below are the same.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"
#include "geo/address.hpp"
#include "geo/database.hpp"

namespace meridian::config {

struct ListenAddress {
    sockaddr_storage address{};
    socklen_t address_size = 0;
    std::string text;  // as written, for messages
};

struct ZonePath {
    std::filesystem::path path;  // resolved against the config file's directory
    SourceLocation where;
};

struct Identity {
    std::string nsid;       // empty: NSID off
    std::string hostname;   // hostname.bind; defaults to the machine's host name
    std::string id_server;  // id.server; defaults to hostname
    std::string version;    // version.bind / version.server
    bool is_chaos_enabled = true;
};

struct GeoDatabaseConfig {
    std::filesystem::path path;  // resolved against the config file's directory
    geo::FieldPaths fields;
    SourceLocation where;
};

struct Alerts {
    std::string webhook_url;  // POSTed a JSON document on every health state change; empty: none
    uint32_t webhook_timeout_ms = 2000;
};

struct AdminConfig {
    std::string listen = "127.0.0.1:8019";  // "" switches the admin API off
    ListenAddress address;                  // parsed from `listen`
    std::string token;                      // bearer token; required off loopback
    std::vector<geo::Network> explain_acl;  // who may ask _explain.NAME TXT (default: loopback)
    uint32_t explain_per_second = 10;       // _explain answers per second and worker; more: REFUSED
};

// The source document's alert rules, evaluated on health data every `interval_ms`.
struct AnalyticsConfig {
    uint32_t latency_warning_ms = 150;
    double success_critical = 0.95;
    double healthy_fraction_warning = 0.80;
    uint32_t interval_ms = 5000;
};

// The control loop that learns from what Meridian sends and measures (adapt::Controller).
struct AdaptiveConfig {
    uint32_t interval_ms = 2000;
    double max_step = 0.10;
};

// Demand forecasts (ops::DemandForecasts): additive Holt-Winters per region and steered name.
struct ForecastConfig {
    uint32_t bucket_ms = 300000;
    uint32_t season_ms = 86400000;
    uint32_t horizon_ms = 1800000;
    std::filesystem::path state_file;  // resolved; never empty after loading
};
inline constexpr uint32_t kMaxSeasonBuckets = 10080;

// Region members from the push API and feeds (ops::MemberStore).
struct MembersConfig {
    std::filesystem::path state_file;  // resolved; never empty after loading
};

// Rule recommendations (GET /recommendations, adapt::recommend).
struct RecommendConfig {
    std::filesystem::path latency_matrix;  // resolved; empty: estimates from distance only
    uint32_t min_gain_ms = 5;
    uint32_t half_life_ms = 6 * 3600 * 1000;
};

// Fleet mode (docs/FLEET.md): health votes, overrides and the node list shared through etcd.
// [dnssec]: what each worker may spend on signatures made while answering.
struct OnlineSigningConfig {
    uint64_t cache_entries = 100000;
    uint32_t signatures_per_second = 10000;
};

struct FleetConfig {
    bool is_enabled = false;  // a [fleet] table was given
    std::vector<std::string> endpoints;
    std::string prefix = "/meridian/";  // always ends with "/"
    std::string node;                   // resolved: never empty when enabled
    std::string user;
    std::string password;  // from password or password_file
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool verify_tls = true;
    uint32_t timeout_ms = 2000;
    uint32_t lease_ttl_ms = 10000;
    double quorum = 0.5;
    uint32_t min_voters = 2;
};

// Response rate limiting for UDP (see server/response_rate_limiter.hpp).
struct RrlConfig {
    bool is_enabled = false;
    uint32_t responses_per_second = 20;
    uint32_t burst = 40;
    uint32_t slip = 2;
    uint8_t ipv4_prefix = 24;
    uint8_t ipv6_prefix = 56;
    std::vector<geo::Network> exempt;
};

// A TSIG key from [keys.NAME] (RFC 8945); HMAC-SHA256 only.
struct TsigKeyConfig {
    std::string name;       // as written
    std::string wire_name;  // lower-case wire form
    std::vector<uint8_t> secret;
    SourceLocation where;
};

// Base64 (RFC 4648 §4) with padding; spaces and newlines between groups are ignored. nullopt
// when anything else is found.
std::optional<std::vector<uint8_t>> decode_base64(std::string_view text);

struct ServerConfig {
    std::string path;
    std::vector<ZonePath> zones;
    std::vector<GeoDatabaseConfig> geoip;  // consulted in this order
    std::vector<ListenAddress> udp;
    std::vector<ListenAddress> tcp;
    unsigned workers = 0;  // resolved: never 0 after loading
    uint16_t udp_max_payload = 1232;
    // SO_RCVBUF of each UDP socket while its worker keeps up; 0 = the kernel's default, fixed.
    uint32_t udp_receive_buffer = 4 << 20;
    // A queue that has not emptied for this long is overload: the buffer drops to the kernel's
    // default until it empties again (server/receive_queue.hpp); 0 = never.
    uint32_t udp_overload_interval_ms = 50;
    uint32_t tcp_idle_timeout_ms = 10000;  // RFC 7766 §6.2.3 suggests seconds, not minutes
    uint32_t tcp_max_connections_per_worker = 512;
    uint32_t tcp_max_pending_output_bytes = 256 * 1024;  // per connection; reading pauses above it
    uint32_t tcp_max_connections = 4096;                 // in total, all workers
    uint32_t tcp_max_connections_per_source = 64;        // per client address (IPv6: per /64)
    uint32_t tcp_query_timeout_ms = 5000;                // a query must arrive whole this soon after it begins
    std::string user;         // started as root: switch to this user once the sockets are bound
    std::string group;        // … and this group (default: the user's)
    bool allow_root = false;  // stay root when no user is given (otherwise refuse to run)
    Identity identity;
    Alerts alerts;
    AdminConfig admin;
    AnalyticsConfig analytics;
    AdaptiveConfig adaptive;
    ForecastConfig forecast;
    MembersConfig members;
    FleetConfig fleet;
    OnlineSigningConfig dnssec;
    RecommendConfig recommendations;
    RrlConfig rrl;
    std::vector<TsigKeyConfig> keys;
};

// Parses "192.0.2.1:53" or "[2001:db8::1]:53".
bool parse_listen_address(const std::string& text, ListenAddress* out);

std::optional<ServerConfig> load_server_config(const std::string& path, Diagnostics* diagnostics);

}  // namespace meridian::config

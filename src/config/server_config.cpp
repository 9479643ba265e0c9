#include "config/server_config.hpp"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "answer/snapshot.hpp"
#include "common/toml_text.hpp"
#include "config/toml_reader.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"

namespace meridian::config {

bool parse_listen_address(const std::string& text, ListenAddress* out) {
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) return false;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
    const unsigned long port_number = std::stoul(port);
    if (port_number > 65535) return false;
    *out = ListenAddress{};
    out->text = text;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out->address);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->address);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port_number));
        out->address_size = sizeof(sockaddr_in);
        return true;
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port_number));
        out->address_size = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

namespace {

std::string machine_hostname() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "meridian";
    return name;
}

void read_listen(TableReader& reader, const Setting& row, std::vector<ListenAddress>* out) {
    for (const auto& [text, where] : reader.string_list(row)) {
        ListenAddress address;
        if (!parse_listen_address(text, &address)) {
            reader.diagnostics()->error(where,
                                        "listen address \"" + text + "\" is not ADDRESS:PORT or [IPv6-ADDRESS]:PORT");
            continue;
        }
        out->push_back(address);
    }
}

void read_geoip(const toml::table& table, const std::filesystem::path& base, const std::string& file,
                Diagnostics* diagnostics, std::vector<GeoDatabaseConfig>* out) {
    TableReader reader(table, "[[geoip]]", file, diagnostics);
    GeoDatabaseConfig database;
    database.where = reader.where();
    constexpr const Setting& path_row = server_setting("[[geoip]]", "path");
    reader.require(path_row);
    if (std::string path; reader.read(path_row, &path)) {
        database.path = std::filesystem::path(path);
        if (database.path.is_relative()) database.path = (base / database.path).lexically_normal();
        database.where = reader.where(*reader.node("path"));
    }
    // Field paths as dotted strings ("country.iso_code"), or a list of them tried in order;
    // [] when the database lacks the fact.
    if (const toml::table* fields = reader.table(std::string(server_setting("[[geoip]]", "fields").key))) {
        TableReader f(*fields, "[geoip] fields", file, diagnostics);
        geo::FieldPaths& p = database.fields;
        const std::pair<const Setting&, geo::FieldPaths::Paths*> known[] = {
            {server_setting("[[geoip]] fields", "continent"), &p.continent},
            {server_setting("[[geoip]] fields", "country"), &p.country},
            {server_setting("[[geoip]] fields", "subdivision"), &p.subdivision},
            {server_setting("[[geoip]] fields", "asn"), &p.asn},
            {server_setting("[[geoip]] fields", "latitude"), &p.latitude},
            {server_setting("[[geoip]] fields", "longitude"), &p.longitude}};
        for (const auto& [row, target] : known) {
            const std::string key(row.key);
            const toml::node* n = f.node(key);
            if (n == nullptr) continue;
            target->clear();
            if (const auto* one = n->as_string()) {
                if (!one->get().empty()) target->push_back(geo::FieldPaths::parse(one->get()));
            } else if (n->is_array()) {
                for (const auto& [dotted, where] : f.string_list(key))
                    target->push_back(geo::FieldPaths::parse(dotted));
            } else {
                f.error(*n, "field \"" + key + "\" must be a dotted path or a list of them");
            }
        }
        f.finish();
    }
    reader.finish();
    out->push_back(std::move(database));
}

}  // namespace

namespace {

// [fleet]: etcd endpoints, credentials and the vote rule; the node's name defaults to id_server.
void read_fleet(const toml::table& table, const std::string& path, const std::filesystem::path& base,
                const Identity& identity, FleetConfig* fleet, Diagnostics* diagnostics) {
    TableReader reader(table, "[fleet]", path, diagnostics);
    fleet->is_enabled = true;
    constexpr const Setting& endpoints = server_setting("[fleet]", "endpoints");
    reader.require(endpoints);
    for (const auto& [url, where] : reader.string_list(endpoints)) {
        if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
            diagnostics->error(where, "fleet endpoint \"" + url + "\" must be an http:// or https:// URL");
            continue;
        }
        fleet->endpoints.push_back(url);
    }
    if (const toml::node* given = reader.node(endpoints);
        given != nullptr && fleet->endpoints.empty() && given->is_array() && given->as_array()->empty()) {
        reader.error(*given, "fleet endpoints must name at least one etcd");
    }
    reader.read(server_setting("[fleet]", "prefix"), &fleet->prefix);
    if (fleet->prefix.empty() || fleet->prefix.back() != '/') fleet->prefix += '/';
    if (!reader.read(server_setting("[fleet]", "node"), &fleet->node) || fleet->node.empty()) {
        fleet->node = identity.id_server;
    }
    if (const toml::node* given = reader.node("node"); given != nullptr && fleet->node.find('/') != std::string::npos) {
        reader.error(*given, "fleet node name \"" + fleet->node + "\" may not contain /");
    }
    std::replace(fleet->node.begin(), fleet->node.end(), '/', '-');  // a host name given as id_server
    reader.read(server_setting("[fleet]", "user"), &fleet->user);
    reader.read(server_setting("[fleet]", "password"), &fleet->password);
    if (std::string file; reader.read(server_setting("[fleet]", "password_file"), &file) && !file.empty()) {
        std::filesystem::path resolved = file;
        if (resolved.is_relative()) resolved = base / resolved;
        std::ifstream in(resolved);
        std::string password;
        if (!in || !std::getline(in, password)) {
            reader.error(*reader.node("password_file"), "cannot read fleet password_file " + resolved.string());
        } else {
            fleet->password = password;
        }
    }
    const auto read_path = [&](const Setting& row, std::string* out) {
        if (std::string file; reader.read(row, &file) && !file.empty()) {
            const std::filesystem::path given = file;
            *out = (given.is_relative() ? base / given : given).string();
        }
    };
    read_path(server_setting("[fleet]", "ca_file"), &fleet->ca_file);
    read_path(server_setting("[fleet]", "cert_file"), &fleet->cert_file);
    read_path(server_setting("[fleet]", "key_file"), &fleet->key_file);
    reader.read(server_setting("[fleet]", "verify_tls"), &fleet->verify_tls);
    reader.read(server_setting("[fleet]", "timeout"), &fleet->timeout_ms);
    reader.read(server_setting("[fleet]", "lease_ttl"), &fleet->lease_ttl_ms);
    if (reader.read(server_setting("[fleet]", "quorum"), &fleet->quorum) && fleet->quorum >= 1) {
        // No share of voters exceeds 1: every voted target would be decided unhealthy.
        reader.error(*reader.node("quorum"), "fleet quorum must be below 1: no share of voters exceeds it");
    }
    reader.read(server_setting("[fleet]", "min_voters"), &fleet->min_voters);
    if (!fleet->user.empty() && fleet->password.empty()) {
        reader.error(*reader.node("user"), "fleet user " + fleet->user + " needs a password or password_file");
    }
    reader.finish();
}

}  // namespace

std::optional<std::vector<uint8_t>> decode_base64(std::string_view text) {
    std::string compact;
    for (const char c : text) {
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') compact += c;
    }
    if (compact.empty() || compact.size() % 4 != 0) return std::nullopt;
    std::vector<uint8_t> out(compact.size() / 4 * 3);
    const int size = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(compact.data()),
                                     static_cast<int>(compact.size()));
    if (size < 0) return std::nullopt;
    // EVP_DecodeBlock counts padding as zero bytes; '=' may only end the text.
    const std::size_t padding = compact.ends_with("==") ? 2 : compact.ends_with("=") ? 1 : 0;
    if (compact.find('=') < compact.size() - padding) return std::nullopt;
    out.resize(static_cast<std::size_t>(size) - padding);
    return out;
}

namespace {

// [keys.NAME]: TSIG keys, each with its secret inline or in a file (docs/TRANSFERS.md).
void read_keys(const toml::table& keys, const std::filesystem::path& base, const std::string& file,
               Diagnostics* diagnostics, std::vector<TsigKeyConfig>* out) {
    for (const auto& [name_key, node] : keys) {
        const std::string name(name_key.str());
        const SourceLocation where = location_of(file, node.source());
        const toml::table* table = node.as_table();
        if (table == nullptr) {
            diagnostics->error(where, "keys." + name + " must be a table: [keys." + name + "]");
            continue;
        }
        TsigKeyConfig key;
        key.name = name;
        key.where = where;
        const auto wire = dns::lower_wire_from_text(name);
        if (!wire) diagnostics->error(where, "key name \"" + name + "\" is not a valid domain name");
        else key.wire_name = *wire;
        TableReader reader(*table, "[keys." + name + "]", file, diagnostics);
        std::string algorithm;
        reader.read(server_setting("[keys.NAME]", "algorithm"), &algorithm);
        std::string secret;
        std::string secret_file;
        const bool has_secret = reader.read(server_setting("[keys.NAME]", "secret"), &secret);
        const bool has_file = reader.read(server_setting("[keys.NAME]", "secret_file"), &secret_file);
        SourceLocation secret_where = reader.where();
        if (has_secret == has_file) {
            diagnostics->error(reader.where(), "[keys." + name + "] needs exactly one of secret and secret_file");
        } else if (has_file) {
            std::filesystem::path secret_path(secret_file);
            if (secret_path.is_relative()) secret_path = base / secret_path;
            secret_where = reader.where(*reader.node(server_setting("[keys.NAME]", "secret_file")));
            std::ifstream in(secret_path, std::ios::binary);
            if (!in.is_open()) {
                diagnostics->error(secret_where, "cannot read secret_file " + secret_path.string());
            } else {
                std::stringstream content;
                content << in.rdbuf();
                secret = content.str();
            }
        } else {
            secret_where = reader.where(*reader.node(server_setting("[keys.NAME]", "secret")));
        }
        if (has_secret != has_file && (has_secret || !secret.empty())) {
            auto bytes = decode_base64(secret);
            if (!bytes) diagnostics->error(secret_where, "the secret of key " + name + " is not base64");
            else key.secret = std::move(*bytes);
        }
        reader.finish();
        out->push_back(std::move(key));
    }
}

}  // namespace

std::optional<ServerConfig> load_server_config(const std::string& path, Diagnostics* diagnostics) {
    const std::size_t errors_before = diagnostics->items().size();
    std::string config_text;
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            diagnostics->error({path, 0, 0}, "cannot read config: " + std::string(std::strerror(errno)));
            return std::nullopt;
        }
        std::stringstream content;
        content << in.rdbuf();
        config_text = content.str();
    }
    if (const auto at = non_ascii_outside_toml_strings(config_text)) {
        diagnostics->error({path, at->line, at->column},
                           "a character outside ASCII outside a string or a comment (TOML allows them only there)");
        return std::nullopt;
    }
    toml::table table;
    try {
        table = toml::parse(config_text, path);
    } catch (const toml::parse_error& e) {
        const auto& source = e.source();
        // toml++ reports an unreadable file with no position.
        if (source.begin.line == 0)
            diagnostics->error({path, 0, 0}, "cannot read config: " + std::string(e.description()));
        else diagnostics->error(location_of(path, source), std::string(e.description()));
        return std::nullopt;
    }

    ServerConfig config;
    config.path = path;
    const std::filesystem::path base = std::filesystem::path(path).parent_path();
    TableReader root(table, "server config", path, diagnostics);

    constexpr const Setting& zones = server_setting("", "zones");
    root.require(zones);
    for (const auto& [text, where] : root.string_list(zones)) {
        std::filesystem::path zone_path(text);
        if (zone_path.is_relative()) zone_path = base / zone_path;
        config.zones.push_back({zone_path.lexically_normal(), where});
    }

    if (const toml::node* geoip = root.node(server_setting("", "geoip"))) {
        const auto* array = geoip->as_array();
        if (array == nullptr) {
            root.error(*geoip, "geoip must be an array of tables: [[geoip]] path = \"…\"");
        } else {
            for (const toml::node& element : *array) {
                const auto* entry = element.as_table();
                if (entry == nullptr) {
                    root.error(element, "each [[geoip]] entry must be a table");
                    continue;
                }
                read_geoip(*entry, base, path, diagnostics, &config.geoip);
            }
        }
    }

    if (const toml::table* keys = root.table("keys")) read_keys(*keys, base, path, diagnostics, &config.keys);

    if (const toml::table* listen = root.table("listen")) {
        TableReader reader(*listen, "[listen]", path, diagnostics);
        read_listen(reader, server_setting("[listen]", "udp"), &config.udp);
        read_listen(reader, server_setting("[listen]", "tcp"), &config.tcp);
        reader.finish();
    }
    if (config.udp.empty() && config.tcp.empty()) {
        diagnostics->error(root.where(), "nothing to listen on: set [listen] udp and/or tcp");
    }

    if (const toml::table* server = root.table("server")) {
        TableReader reader(*server, "[server]", path, diagnostics);
        reader.read(server_setting("[server]", "workers"), &config.workers);
        reader.read(server_setting("[server]", "udp_max_payload"), &config.udp_max_payload);
        reader.read(server_setting("[server]", "udp_receive_buffer"), &config.udp_receive_buffer);
        reader.read(server_setting("[server]", "udp_overload_interval"), &config.udp_overload_interval_ms);
        reader.read(server_setting("[server]", "tcp_idle_timeout"), &config.tcp_idle_timeout_ms);
        reader.read(server_setting("[server]", "tcp_max_connections_per_worker"),
                    &config.tcp_max_connections_per_worker);
        reader.read(server_setting("[server]", "tcp_max_pending_output_bytes"), &config.tcp_max_pending_output_bytes);
        reader.read(server_setting("[server]", "tcp_max_connections"), &config.tcp_max_connections);
        reader.read(server_setting("[server]", "tcp_max_connections_per_source"),
                    &config.tcp_max_connections_per_source);
        reader.read(server_setting("[server]", "tcp_query_timeout"), &config.tcp_query_timeout_ms);
        reader.read(server_setting("[server]", "user"), &config.user);
        reader.read(server_setting("[server]", "group"), &config.group);
        reader.read(server_setting("[server]", "allow_root"), &config.allow_root);
        reader.finish();
    }
    // One query-counter shard per worker: never more workers than shards, however many cores.
    static_assert(server_setting("[server]", "workers").max == stats::kMaxWorkers);
    if (config.workers == 0) {
        config.workers = static_cast<unsigned>(
            std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, stats::kMaxWorkers));
    }

    if (const toml::table* alerts = root.table("alerts")) {
        TableReader reader(*alerts, "[alerts]", path, diagnostics);
        reader.read(server_setting("[alerts]", "webhook"), &config.alerts.webhook_url);
        const auto& url = config.alerts.webhook_url;
        if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
            reader.error(*reader.node("webhook"), "webhook must be an http:// or https:// URL");
        }
        reader.read(server_setting("[alerts]", "webhook_timeout"), &config.alerts.webhook_timeout_ms);
        reader.finish();
    }

    config.admin.explain_acl = {*geo::parse_network("127.0.0.0/8", true), *geo::parse_network("::1/128", true)};
    if (const toml::table* admin = root.table("admin")) {
        TableReader reader(*admin, "[admin]", path, diagnostics);
        reader.read(server_setting("[admin]", "listen"), &config.admin.listen);
        reader.read(server_setting("[admin]", "token"), &config.admin.token);
        reader.read(server_setting("[admin]", "explain_per_second"), &config.admin.explain_per_second);
        constexpr const Setting& explain_acl = server_setting("[admin]", "explain_acl");
        if (reader.node(explain_acl) != nullptr) {
            config.admin.explain_acl.clear();
            for (const auto& [text, where] : reader.string_list(explain_acl)) {
                const auto network = geo::parse_network(text, /*is_strict=*/true);
                if (!network) diagnostics->error(where, "\"" + text + "\" is not a network (ADDRESS/LENGTH)");
                else config.admin.explain_acl.push_back(*network);
            }
        }
        reader.finish();
        if (!config.admin.listen.empty() && !parse_listen_address(config.admin.listen, &config.admin.address)) {
            reader.error(*reader.node("listen"),
                         "admin listen address \"" + config.admin.listen + "\" is not ADDRESS:PORT");
        }
    } else {
        parse_listen_address(config.admin.listen, &config.admin.address);
    }
    if (!config.admin.listen.empty() && config.admin.token.empty() && config.admin.address.address_size != 0) {
        // Off loopback the API must not be open to anyone who can reach the port.
        const geo::IpAddress a = geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&config.admin.address.address));
        const bool is_loopback = (a.family == 4 && a.bytes[0] == 127) ||
                                 (a.family == 6 && *geo::parse_address("::1") == a);
        if (!is_loopback) {
            diagnostics->error(root.where(),
                               "[admin] listens on " + config.admin.listen + ", off loopback, so it needs a token");
        }
    }
    if (const toml::table* rrl = root.table("rrl")) {
        TableReader reader(*rrl, "[rrl]", path, diagnostics);
        RrlConfig& r = config.rrl;
        reader.read(server_setting("[rrl]", "enabled"), &r.is_enabled);
        reader.read(server_setting("[rrl]", "responses_per_second"), &r.responses_per_second);
        if (!reader.read(server_setting("[rrl]", "burst"), &r.burst)) r.burst = r.responses_per_second * 2;
        reader.read(server_setting("[rrl]", "slip"), &r.slip);
        reader.read(server_setting("[rrl]", "ipv4_prefix"), &r.ipv4_prefix);
        reader.read(server_setting("[rrl]", "ipv6_prefix"), &r.ipv6_prefix);
        for (const auto& [text, where] : reader.string_list(server_setting("[rrl]", "exempt"))) {
            const auto network = geo::parse_network(text, /*is_strict=*/true);
            if (!network) diagnostics->error(where, "\"" + text + "\" is not a network (ADDRESS/LENGTH)");
            else r.exempt.push_back(*network);
        }
        reader.finish();
    }
    if (const toml::table* analytics = root.table("analytics")) {
        TableReader reader(*analytics, "[analytics]", path, diagnostics);
        AnalyticsConfig& a = config.analytics;
        reader.read(server_setting("[analytics]", "latency_warning"), &a.latency_warning_ms);
        reader.read(server_setting("[analytics]", "interval"), &a.interval_ms);
        reader.read(server_setting("[analytics]", "success_critical"), &a.success_critical);
        reader.read(server_setting("[analytics]", "healthy_fraction_warning"), &a.healthy_fraction_warning);
        reader.finish();
    }
    ForecastConfig& f = config.forecast;
    if (const toml::table* forecast = root.table("forecast")) {
        TableReader reader(*forecast, "[forecast]", path, diagnostics);
        reader.read(server_setting("[forecast]", "bucket"), &f.bucket_ms);
        reader.read(server_setting("[forecast]", "season"), &f.season_ms);
        reader.read(server_setting("[forecast]", "horizon"), &f.horizon_ms);
        if (std::string file; reader.read(server_setting("[forecast]", "state_file"), &file) && !file.empty()) {
            f.state_file = file;
            if (f.state_file.is_relative()) f.state_file = base / f.state_file;
        }
        if (f.bucket_ms > 0 && (f.season_ms % f.bucket_ms != 0 || f.season_ms / f.bucket_ms > kMaxSeasonBuckets)) {
            // Reported at the season when it is given, else at the bucket that does not divide the default.
            const toml::node* at = reader.node("season") != nullptr ? reader.node("season") : reader.node("bucket");
            if (at != nullptr) {
                reader.error(*at, "season must be a whole number of buckets, at most " +
                                      std::to_string(kMaxSeasonBuckets) + " of them");
            }
        }
        reader.finish();
    }
    std::filesystem::path& members_file = config.members.state_file;
    if (const toml::table* members = root.table("members")) {
        TableReader reader(*members, "[members]", path, diagnostics);
        if (std::string file; reader.read(server_setting("[members]", "state_file"), &file) && !file.empty()) {
            members_file = file;
            if (members_file.is_relative()) members_file = base / members_file;
        }
        reader.finish();
    }
    // State kept across restarts defaults to a file next to the zones.
    if (!config.zones.empty()) {
        const std::filesystem::path& first = config.zones.front().path;
        std::error_code ec;
        const std::filesystem::path dir = std::filesystem::is_directory(first, ec) ? first : first.parent_path();
        if (f.state_file.empty()) f.state_file = dir / "meridian-forecast.json";
        if (members_file.empty()) members_file = dir / "meridian-members.json";
    }
    if (const toml::table* recommend = root.table("recommendations")) {
        TableReader reader(*recommend, "[recommendations]", path, diagnostics);
        RecommendConfig& r = config.recommendations;
        if (std::string file;
            reader.read(server_setting("[recommendations]", "latency_matrix"), &file) && !file.empty()) {
            r.latency_matrix = file;
            if (r.latency_matrix.is_relative()) r.latency_matrix = base / r.latency_matrix;
        }
        reader.read(server_setting("[recommendations]", "min_gain"), &r.min_gain_ms);
        reader.read(server_setting("[recommendations]", "half_life"), &r.half_life_ms);
        reader.finish();
    }
    if (const toml::table* adaptive = root.table("adaptive")) {
        TableReader reader(*adaptive, "[adaptive]", path, diagnostics);
        reader.read(server_setting("[adaptive]", "interval"), &config.adaptive.interval_ms);
        reader.read(server_setting("[adaptive]", "max_step"), &config.adaptive.max_step);
        reader.finish();
    }

    config.identity.hostname = machine_hostname();  // unless [identity] names one
    if (const toml::table* identity = root.table("identity")) {
        TableReader reader(*identity, "[identity]", path, diagnostics);
        Identity& id = config.identity;
        static_assert(server_setting("[identity]", "nsid").max == answer::kMaxNsidSize);
        reader.read(server_setting("[identity]", "nsid"), &id.nsid);
        if (!reader.read(server_setting("[identity]", "hostname"), &id.hostname)) id.hostname = machine_hostname();
        reader.read(server_setting("[identity]", "id_server"), &id.id_server);
        reader.read(server_setting("[identity]", "version"), &id.version);
        reader.read(server_setting("[identity]", "chaos"), &id.is_chaos_enabled);
        reader.finish();
    }
    if (config.identity.id_server.empty()) config.identity.id_server = config.identity.hostname;
    if (const toml::table* fleet = root.table("fleet"))
        read_fleet(*fleet, path, base, config.identity, &config.fleet, diagnostics);
    if (const toml::table* dnssec = root.table("dnssec")) {
        TableReader reader(*dnssec, "[dnssec]", path, diagnostics);
        reader.read(server_setting("[dnssec]", "cache_entries"), &config.dnssec.cache_entries);
        reader.read(server_setting("[dnssec]", "signatures_per_second"), &config.dnssec.signatures_per_second);
        reader.finish();
    }
    root.finish();

    if (diagnostics->items().size() != errors_before) return std::nullopt;
    return config;
}

}  // namespace meridian::config

#include "config/server_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "answer/snapshot.hpp"
#include "config/toml_reader.hpp"
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

void read_listen(TableReader& reader, const std::string& key, std::vector<ListenAddress>* out) {
    for (const auto& [text, where] : reader.string_list(key)) {
        ListenAddress address;
        if (!parse_listen_address(text, &address)) {
            reader.diagnostics()->error(where, "listen address \"" + text +
                                                   "\" is not ADDRESS:PORT or [IPv6-ADDRESS]:PORT");
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
    reader.require("path");
    if (const auto path = reader.string("path")) {
        database.path = std::filesystem::path(*path);
        if (database.path.is_relative()) database.path = (base / database.path).lexically_normal();
        database.where = reader.where(*reader.node("path"));
    }
    // Field paths as dotted strings ("country.iso_code"), or a list of them tried in order;
    // [] when the database lacks the fact.
    if (const toml::table* fields = reader.table("fields")) {
        TableReader f(*fields, "[geoip] fields", file, diagnostics);
        geo::FieldPaths& p = database.fields;
        const std::pair<const char*, geo::FieldPaths::Paths*> known[] = {
            {"continent", &p.continent}, {"country", &p.country},     {"subdivision", &p.subdivision},
            {"asn", &p.asn},             {"latitude", &p.latitude}, {"longitude", &p.longitude}};
        for (const auto& [key, target] : known) {
            const toml::node* n = f.node(key);
            if (n == nullptr) continue;
            target->clear();
            if (const auto* one = n->as_string()) {
                if (!one->get().empty()) target->push_back(geo::FieldPaths::parse(one->get()));
            } else if (n->is_array()) {
                for (const auto& [dotted, where] : f.string_list(key)) target->push_back(geo::FieldPaths::parse(dotted));
            } else {
                f.error(*n, std::string("field \"") + key + "\" must be a dotted path or a list of them");
            }
        }
        f.finish();
    }
    reader.finish();
    out->push_back(std::move(database));
}

}  // namespace

std::optional<ServerConfig> load_server_config(const std::string& path, Diagnostics* diagnostics) {
    const std::size_t errors_before = diagnostics->items().size();
    toml::table table;
    try {
        table = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& source = e.source();
        // toml++ reports an unreadable file with no position.
        if (source.begin.line == 0) diagnostics->error({path, 0, 0}, "cannot read config: " + std::string(e.description()));
        else diagnostics->error(location_of(path, source), std::string(e.description()));
        return std::nullopt;
    }

    ServerConfig config;
    config.path = path;
    const std::filesystem::path base = std::filesystem::path(path).parent_path();
    TableReader root(table, "server config", path, diagnostics);

    root.require("zones");
    for (const auto& [text, where] : root.string_list("zones")) {
        std::filesystem::path zone_path(text);
        if (zone_path.is_relative()) zone_path = base / zone_path;
        config.zones.push_back({zone_path.lexically_normal(), where});
    }

    if (const toml::node* geoip = root.node("geoip")) {
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

    if (const toml::table* listen = root.table("listen")) {
        TableReader reader(*listen, "[listen]", path, diagnostics);
        read_listen(reader, "udp", &config.udp);
        read_listen(reader, "tcp", &config.tcp);
        reader.finish();
    }
    if (config.udp.empty() && config.tcp.empty()) {
        diagnostics->error(root.where(), "nothing to listen on: set [listen] udp and/or tcp");
    }

    if (const toml::table* server = root.table("server")) {
        TableReader reader(*server, "[server]", path, diagnostics);
        config.workers = static_cast<unsigned>(reader.integer("workers", 0, 256).value_or(0));
        config.udp_max_payload = static_cast<uint16_t>(
            reader.integer("udp_max_payload", dns::kClassicUdpSize, 65535).value_or(config.udp_max_payload));
        config.udp_receive_buffer = static_cast<uint32_t>(
            reader.integer("udp_receive_buffer", 0, 1 << 30).value_or(config.udp_receive_buffer));
        config.udp_overload_interval_ms = static_cast<uint32_t>(
            reader.integer("udp_overload_interval_ms", 0, 60000).value_or(config.udp_overload_interval_ms));
        config.tcp_idle_timeout_ms = static_cast<uint32_t>(
            reader.integer("tcp_idle_timeout_ms", 100, 3600 * 1000).value_or(config.tcp_idle_timeout_ms));
        config.tcp_max_connections_per_worker = static_cast<uint32_t>(
            reader.integer("tcp_max_connections_per_worker", 1, 1 << 20).value_or(config.tcp_max_connections_per_worker));
        config.tcp_max_pending_output_bytes = static_cast<uint32_t>(
            reader.integer("tcp_max_pending_output_bytes", 65537, 64 << 20).value_or(config.tcp_max_pending_output_bytes));
        config.tcp_max_connections = static_cast<uint32_t>(
            reader.integer("tcp_max_connections", 1, 1 << 20).value_or(config.tcp_max_connections));
        config.tcp_max_connections_per_source = static_cast<uint32_t>(
            reader.integer("tcp_max_connections_per_source", 1, 1 << 20).value_or(config.tcp_max_connections_per_source));
        config.tcp_query_timeout_ms = static_cast<uint32_t>(
            reader.integer("tcp_query_timeout_ms", 100, 600000).value_or(config.tcp_query_timeout_ms));
        config.user = reader.string("user").value_or("");
        config.group = reader.string("group").value_or("");
        config.allow_root = reader.boolean("allow_root").value_or(false);
        reader.finish();
    }
    if (config.workers == 0) config.workers = std::max(1u, std::thread::hardware_concurrency());

    if (const toml::table* alerts = root.table("alerts")) {
        TableReader reader(*alerts, "[alerts]", path, diagnostics);
        config.alerts.webhook_url = reader.string("webhook").value_or("");
        const auto& url = config.alerts.webhook_url;
        if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
            reader.error(*reader.node("webhook"), "webhook must be an http:// or https:// URL");
        }
        config.alerts.webhook_timeout_ms =
            static_cast<uint32_t>(reader.integer("webhook_timeout_ms", 100, 60000).value_or(config.alerts.webhook_timeout_ms));
        reader.finish();
    }

    config.admin.explain_acl = {*geo::parse_network("127.0.0.0/8", true), *geo::parse_network("::1/128", true)};
    if (const toml::table* admin = root.table("admin")) {
        TableReader reader(*admin, "[admin]", path, diagnostics);
        config.admin.listen = reader.string("listen").value_or(config.admin.listen);
        config.admin.token = reader.string("token").value_or("");
        config.admin.explain_per_second =
            static_cast<uint32_t>(reader.integer("explain_per_second", 1, 100000).value_or(config.admin.explain_per_second));
        if (reader.node("explain_acl") != nullptr) {
            config.admin.explain_acl.clear();
            for (const auto& [text, where] : reader.string_list("explain_acl")) {
                const auto network = geo::parse_network(text, /*is_strict=*/true);
                if (!network) diagnostics->error(where, "\"" + text + "\" is not a network (ADDRESS/LENGTH)");
                else config.admin.explain_acl.push_back(*network);
            }
        }
        reader.finish();
        if (!config.admin.listen.empty() && !parse_listen_address(config.admin.listen, &config.admin.address)) {
            reader.error(*reader.node("listen"), "admin listen address \"" + config.admin.listen + "\" is not ADDRESS:PORT");
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
            diagnostics->error(root.where(), "[admin] listens on " + config.admin.listen + ", off loopback, so it needs a token");
        }
    }
    if (const toml::table* rrl = root.table("rrl")) {
        TableReader reader(*rrl, "[rrl]", path, diagnostics);
        RrlConfig& r = config.rrl;
        r.is_enabled = reader.boolean("enabled").value_or(true);
        r.responses_per_second = static_cast<uint32_t>(reader.integer("responses_per_second", 1, 1000000).value_or(r.responses_per_second));
        r.burst = static_cast<uint32_t>(reader.integer("burst", 1, 10000000).value_or(r.responses_per_second * 2));
        r.slip = static_cast<uint32_t>(reader.integer("slip", 0, 100).value_or(r.slip));
        r.ipv4_prefix = static_cast<uint8_t>(reader.integer("ipv4_prefix", 8, 32).value_or(r.ipv4_prefix));
        r.ipv6_prefix = static_cast<uint8_t>(reader.integer("ipv6_prefix", 16, 128).value_or(r.ipv6_prefix));
        for (const auto& [text, where] : reader.string_list("exempt")) {
            const auto network = geo::parse_network(text, /*is_strict=*/true);
            if (!network) diagnostics->error(where, "\"" + text + "\" is not a network (ADDRESS/LENGTH)");
            else r.exempt.push_back(*network);
        }
        reader.finish();
    }
    if (const toml::table* analytics = root.table("analytics")) {
        TableReader reader(*analytics, "[analytics]", path, diagnostics);
        AnalyticsConfig& a = config.analytics;
        a.latency_warning_ms = static_cast<uint32_t>(reader.integer("latency_warning_ms", 1, 600000).value_or(a.latency_warning_ms));
        a.interval_ms = static_cast<uint32_t>(reader.integer("interval_ms", 500, 3600000).value_or(a.interval_ms));
        a.success_critical = reader.fraction("success_critical").value_or(a.success_critical);
        a.healthy_fraction_warning = reader.fraction("healthy_fraction_warning").value_or(a.healthy_fraction_warning);
        reader.finish();
    }

    config.identity.hostname = machine_hostname();
    if (const toml::table* identity = root.table("identity")) {
        TableReader reader(*identity, "[identity]", path, diagnostics);
        Identity& id = config.identity;
        id.nsid = reader.string("nsid").value_or("");
        if (id.nsid.size() > answer::kMaxNsidSize) {
            reader.error(*reader.node("nsid"), "nsid is longer than " + std::to_string(answer::kMaxNsidSize) + " bytes");
        }
        id.hostname = reader.string("hostname").value_or(id.hostname);
        id.id_server = reader.string("id_server").value_or("");
        id.version = reader.string("version").value_or("");
        id.is_chaos_enabled = reader.boolean("chaos").value_or(true);
        reader.finish();
    }
    if (config.identity.id_server.empty()) config.identity.id_server = config.identity.hostname;
    root.finish();

    if (diagnostics->items().size() != errors_before) return std::nullopt;
    return config;
}

}  // namespace meridian::config

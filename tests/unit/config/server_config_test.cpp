// Tests for config/server_config: listen addresses, defaults, paths relative to the config file,
// and the errors a mistyped config produces.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "config/server_config.hpp"
#include "test_support.hpp"

using meridian::Diagnostics;
using meridian::config::ListenAddress;
using meridian::config::load_server_config;
using meridian::config::parse_listen_address;
using meridian::test::TempDir;

namespace {

uint16_t port_of(const ListenAddress& a) {
    if (a.address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&a.address)->sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.address)->sin6_port);
}

std::string host_of(const ListenAddress& a) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a.address.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.address)->sin_addr, text, sizeof text);
    } else {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.address)->sin6_addr, text, sizeof text);
    }
    return text;
}

struct Loaded {
    std::string path;
    std::optional<meridian::config::ServerConfig> config;
    Diagnostics diagnostics;
};

Loaded load(const TempDir& dir, std::string_view content, const std::string& name = "meridian.toml") {
    Loaded r;
    r.path = dir.write(name, content).string();
    r.config = load_server_config(r.path, &r.diagnostics);
    return r;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

void check_single_error(const Loaded& r, uint32_t line, uint32_t column, std::string_view keyword) {
    INFO(r.diagnostics.format_all());
    CHECK_FALSE(r.config.has_value());
    REQUIRE(r.diagnostics.items().size() == 1);
    const auto& d = r.diagnostics.items()[0];
    CHECK(d.where.file == r.path);
    CHECK(d.where.line == line);
    CHECK(d.where.column == column);
    CHECK(contains(d.message, keyword));
}

constexpr std::string_view kMinimal = "zones = [\"zones\"]\n[listen]\nudp = [\"127.0.0.1:5300\"]\n";

}  // namespace

TEST_CASE("parse_listen_address accepts IPv4 and bracketed IPv6 with a port", "[config]") {
    struct Case {
        const char* text;
        int family;
        const char* host;
        uint16_t port;
    };
    for (const Case c : {Case{"192.0.2.1:53", AF_INET, "192.0.2.1", 53}, Case{"0.0.0.0:0", AF_INET, "0.0.0.0", 0},
                         Case{"127.0.0.1:65535", AF_INET, "127.0.0.1", 65535},
                         Case{"[2001:db8::1]:5300", AF_INET6, "2001:db8::1", 5300},
                         Case{"[::]:53", AF_INET6, "::", 53}, Case{"[::1]:053", AF_INET6, "::1", 53}}) {
        CAPTURE(c.text);
        ListenAddress a;
        REQUIRE(parse_listen_address(c.text, &a));
        CHECK(a.address.ss_family == c.family);
        CHECK(a.address_size == (c.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
        CHECK(host_of(a) == c.host);
        CHECK(port_of(a) == c.port);
        CHECK(a.text == c.text);
    }
}

TEST_CASE("parse_listen_address rejects malformed addresses and ports", "[config]") {
    for (const char* text : {"", "192.0.2.1", "192.0.2.1:", ":53", "192.0.2.1:abc", "192.0.2.1:+53", "192.0.2.1:-1",
                             "192.0.2.1:65536", "192.0.2.1:99999", "192.0.2.1:123456", "256.0.0.1:53",
                             "localhost:53", "2001:db8::1:53", "[2001:db8::1]53", "[2001:db8::1]", "[2001:db8::1]:",
                             "[::1:53", "[nonsense]:53", "192.0.2.1:53 "}) {
        CAPTURE(text);
        ListenAddress a;
        CHECK_FALSE(parse_listen_address(text, &a));
    }
}

TEST_CASE("load_server_config fills in defaults", "[config]") {
    TempDir dir;
    const Loaded r = load(dir, kMinimal);
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    const auto& c = *r.config;
    CHECK(c.path == r.path);
    REQUIRE(c.udp.size() == 1);
    CHECK(port_of(c.udp[0]) == 5300);
    CHECK(c.tcp.empty());
    CHECK(c.workers == std::max(1u, std::thread::hardware_concurrency()));
    CHECK(c.udp_max_payload == 1232);
    CHECK(c.tcp_idle_timeout_ms == 10000);
    CHECK(c.tcp_max_connections_per_worker == 512);
    CHECK(c.tcp_max_pending_output_bytes == 256 * 1024);
    CHECK(c.identity.nsid.empty());
    CHECK(c.identity.version.empty());
    CHECK(c.identity.is_chaos_enabled);
    CHECK_FALSE(c.identity.hostname.empty());  // the machine's name
    CHECK(c.identity.id_server == c.identity.hostname);
}

TEST_CASE("zone paths are resolved against the config file's directory", "[config]") {
    TempDir dir;
    const Loaded r = load(dir,
                          "zones = [\"zones\", \"../shared/./x.toml\", \"/abs/zone.toml\"]\n"
                          "[listen]\ntcp = [\"[::1]:53\"]\n",
                          "etc/meridian/meridian.toml");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    REQUIRE(r.config->zones.size() == 3);
    CHECK(r.config->zones[0].path == dir.path() / "etc/meridian/zones");
    CHECK(r.config->zones[1].path == dir.path() / "etc/shared/x.toml");
    CHECK(r.config->zones[2].path == "/abs/zone.toml");
    CHECK(r.config->zones[1].where.line == 1);
    CHECK(r.config->zones[1].where.column == 19);  // each entry keeps its position for later errors
}

TEST_CASE("the configuration example in docs/CONFIG.md loads with the values it shows", "[config]") {
    std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/docs/CONFIG.md");
    REQUIRE(in);
    std::stringstream doc;
    doc << in.rdbuf();
    const std::string text = doc.str();
    const std::size_t start = text.find("```toml\n# server config\n");
    REQUIRE(start != std::string::npos);
    const std::size_t body = start + std::string("```toml\n").size();
    const std::string example = text.substr(body, text.find("```", body) - body);

    TempDir dir;
    const Loaded r = load(dir, example);
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    const auto& c = *r.config;
    CHECK(c.udp.size() == 2);
    CHECK(c.tcp.size() == 2);
    CHECK(c.udp_max_payload == 1232);
    CHECK(c.tcp_max_pending_output_bytes == 262144);
    CHECK(c.identity.nsid == "ns1-fra");
    CHECK(c.identity.hostname == "ns1-fra.example.net");
    CHECK(c.identity.id_server == "ns1-fra");
    CHECK(c.identity.version == "Meridian");
    CHECK(c.identity.is_chaos_enabled);
}

TEST_CASE("load_server_config reads every setting", "[config]") {
    TempDir dir;
    const Loaded r = load(dir,
                          "zones = [\"z\"]\n"
                          "[listen]\n"
                          "udp = [\"127.0.0.1:53\", \"[::1]:53\"]\n"
                          "tcp = [\"0.0.0.0:5353\"]\n"
                          "[server]\n"
                          "workers = 3\n"
                          "udp_max_payload = 4096\n"
                          "tcp_idle_timeout_ms = 2500\n"
                          "tcp_max_connections_per_worker = 7\n"
                          "tcp_max_pending_output_bytes = 70000\n"
                          "[identity]\n"
                          "nsid = \"node-a\"\n"
                          "hostname = \"host-a\"\n"
                          "version = \"Meridian test\"\n"
                          "chaos = false\n");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    const auto& c = *r.config;
    CHECK(c.udp.size() == 2);
    REQUIRE(c.tcp.size() == 1);
    CHECK(port_of(c.tcp[0]) == 5353);
    CHECK(c.workers == 3);
    CHECK(c.udp_max_payload == 4096);
    CHECK(c.tcp_idle_timeout_ms == 2500);
    CHECK(c.tcp_max_connections_per_worker == 7);
    CHECK(c.tcp_max_pending_output_bytes == 70000);
    CHECK(c.identity.nsid == "node-a");
    CHECK(c.identity.hostname == "host-a");
    CHECK(c.identity.id_server == "host-a");  // defaults to the hostname
    CHECK(c.identity.version == "Meridian test");
    CHECK_FALSE(c.identity.is_chaos_enabled);
}

TEST_CASE("load_server_config reports unknown keys with a did-you-mean", "[config]") {
    TempDir dir;
    SECTION("at the root") {
        check_single_error(load(dir, std::string(kMinimal.substr(0, 18)) + "zone = [\"x\"]\n" +
                                         std::string(kMinimal.substr(18))),
                           2, 1, "unknown key \"zone\" in server config (did you mean \"zones\"?)");
    }
    SECTION("in [server]") {
        check_single_error(load(dir, std::string(kMinimal) + "[server]\nworker = 2\n"), 5, 1,
                           "unknown key \"worker\" in [server] (did you mean \"workers\"?)");
    }
    SECTION("in [listen]") {
        check_single_error(load(dir, std::string(kMinimal) + "tpc = [\"127.0.0.1:53\"]\n"), 4, 1,
                           "unknown key \"tpc\" in [listen] (did you mean \"tcp\"?)");
    }
    SECTION("a misspelt table") {
        check_single_error(load(dir, std::string(kMinimal) + "[identiy]\nnsid = \"x\"\n"), 4, 2,
                           "unknown key \"identiy\" in server config (did you mean \"identity\"?)");
    }
}

TEST_CASE("load_server_config reports bad values at their position", "[config]") {
    TempDir dir;
    struct Case {
        const char* what;
        std::string content;
        uint32_t line;
        uint32_t column;
        const char* keyword;
    };
    const std::string base(kMinimal);  // 3 lines
    const std::vector<Case> cases = {
        {"negative workers", base + "[server]\nworkers = -1\n", 5, 11, "between 0 and 256"},
        {"udp_max_payload below 512", base + "[server]\nudp_max_payload = 511\n", 5, 19, "between 512 and 65535"},
        {"udp_max_payload above 65535", base + "[server]\nudp_max_payload = 65536\n", 5, 19, "between 512 and 65535"},
        {"a string where a number belongs", base + "[server]\nworkers = \"2\"\n", 5, 11, "must be an integer"},
        {"chaos not a boolean", base + "[identity]\nchaos = \"yes\"\n", 5, 9, "must be true or false"},
        {"a listen address that is not an array", "zones = [\"z\"]\n[listen]\nudp = \"127.0.0.1:53\"\ntcp = [\"127.0.0.1:53\"]\n", 3, 7,
         "must be an array of strings"},
        {"a malformed listen address", "zones = [\"z\"]\n[listen]\nudp = [\"127.0.0.1:53\", \"nonsense\"]\n", 3, 24,
         "is not ADDRESS:PORT"},
        {"nothing to listen on", "zones = [\"z\"]\n", 1, 1, "nothing to listen on"},
        {"no zones", "[listen]\nudp = [\"127.0.0.1:53\"]\n", 1, 1, "missing \"zones\""},
        {"an nsid longer than 128 bytes", base + "[identity]\nnsid = \"" + std::string(129, 'n') + "\"\n", 5, 8,
         "nsid is longer than 128 bytes"},
    };
    for (const Case& c : cases) {
        SECTION(c.what) { check_single_error(load(dir, c.content), c.line, c.column, c.keyword); }
    }
}

TEST_CASE("an nsid of exactly 128 bytes is accepted", "[config]") {
    TempDir dir;
    const Loaded r = load(dir, std::string(kMinimal) + "[identity]\nnsid = \"" + std::string(128, 'n') + "\"\n");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    CHECK(r.config->identity.nsid.size() == 128);
}

TEST_CASE("load_server_config reports TOML syntax errors and unreadable files", "[config]") {
    TempDir dir;
    SECTION("syntax") {
        const Loaded r = load(dir, "zones = [\"z\"\n[listen]\n");
        INFO(r.diagnostics.format_all());
        CHECK_FALSE(r.config.has_value());
        REQUIRE(r.diagnostics.items().size() == 1);
        CHECK(r.diagnostics.items()[0].where.file == r.path);
        CHECK(r.diagnostics.items()[0].where.line == 2);  // where "[listen]" follows the unclosed array
        CHECK(r.diagnostics.items()[0].where.column == 1);
    }
    SECTION("missing file") {
        Diagnostics diagnostics;
        const std::string path = (dir.path() / "absent.toml").string();
        CHECK_FALSE(load_server_config(path, &diagnostics).has_value());
        REQUIRE(diagnostics.items().size() == 1);
        CHECK(diagnostics.items()[0].where.file == path);
        CHECK(contains(diagnostics.items()[0].message, "cannot read config"));
    }
}

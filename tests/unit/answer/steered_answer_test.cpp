// Tests for steered answers in answer/answer: the example zone (zones/geo.example.com.toml)
// answered for clients placed by ECS or by the packet source, with facts from the test database
// (geoip/test-geo.csv). Queries are encoded and responses decoded by ldns; the ECS option of the
// response is read from its raw bytes.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "answer/answer.hpp"
#include "common/ldns.hpp"
#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/wire.hpp"
#include "geo/database.hpp"
#include "test_support.hpp"

using meridian::answer::answer_query;
using meridian::answer::ClientInfo;
using meridian::answer::Snapshot;
using meridian::test::rdf_text;
using meridian::test::TempDir;

namespace {

constexpr const char* kApp = "app.geo.example.com.";

// Region addresses of the example zone.
constexpr const char* kUsEast4 = "198.51.100.10";
constexpr const char* kUsWest4 = "198.51.100.20";
constexpr const char* kEuWest4 = "192.0.2.110";
constexpr const char* kEuCentral4 = "192.0.2.120";
constexpr const char* kApSoutheast4 = "203.0.113.10";
constexpr const char* kApNortheast4 = "203.0.113.20";

std::shared_ptr<const meridian::geo::GeoDatabases> test_geo() {
    std::string error;
    std::shared_ptr<const meridian::geo::Database> db = meridian::geo::Database::open(MERIDIAN_TEST_MMDB, {}, &error);
    INFO(error);
    REQUIRE(db != nullptr);
    auto databases = std::make_shared<meridian::geo::GeoDatabases>();
    databases->add(db);
    return databases;
}

// A snapshot of the zones in `zones_path`, through the server's loader, with the test database.
std::unique_ptr<Snapshot> load_snapshot(const std::string& zones_path) {
    TempDir dir;
    const auto path = dir.write("meridian.toml", "zones = [\"" + zones_path + "\"]\n[listen]\nudp = [\"127.0.0.1:53\"]\n");
    meridian::Diagnostics diagnostics;
    const auto server_config = meridian::config::load_server_config(path.string(), &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(server_config.has_value());
    auto snapshot = meridian::config::load_snapshot(*server_config, &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(snapshot != nullptr);
    snapshot->geo = test_geo();
    return snapshot;
}

const Snapshot& example() {
    static const std::unique_ptr<Snapshot> snapshot = load_snapshot(std::string(MERIDIAN_SOURCE_DIR) + "/zones");
    return *snapshot;
}

// The example zone with `ecs = false`: clients are always located by the packet source.
const Snapshot& example_without_ecs() {
    static TempDir dir;
    static const std::unique_ptr<Snapshot> snapshot = [] {
        std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/zones/geo.example.com.toml");
        std::stringstream text;
        text << in.rdbuf();
        REQUIRE(!text.str().empty());
        dir.write("zones/geo.example.com.toml", "ecs = false\n" + text.str());
        return load_snapshot((dir.path() / "zones").string());
    }();
    return *snapshot;
}

struct Subnet {
    uint16_t family = 0;  // 0: no ECS option
    uint8_t source = 0;
    std::vector<uint8_t> address;  // ceil(source / 8) bytes
};

// "81.2.69.0/24" → family 1, source 24, 3 address bytes.
Subnet subnet(const char* text) {
    const auto n = meridian::geo::parse_network(text, /*is_strict=*/true);
    REQUIRE(n.has_value());
    Subnet s;
    s.family = n->address.family == 4 ? 1 : 2;
    s.source = n->prefix_length;
    s.address.assign(n->address.bytes.begin(), n->address.bytes.begin() + (s.source + 7) / 8);
    return s;
}

std::vector<uint8_t> make_query(const std::string& qname, ldns_rr_type qtype, const Subnet& ecs = {},
                                bool with_edns = true) {
    ldns_rdf* name = ldns_dname_new_frm_str(qname.c_str());
    REQUIRE(name != nullptr);
    meridian::ldns::PacketPtr pkt(ldns_pkt_query_new(name, qtype, LDNS_RR_CLASS_IN, LDNS_RD));
    REQUIRE(pkt);
    ldns_pkt_set_id(pkt.get(), 0x5151);
    if (with_edns || ecs.family != 0) {
        ldns_pkt_set_edns_udp_size(pkt.get(), 1232);
        if (ecs.family != 0) {
            std::vector<uint8_t> option = {0, 8, 0, static_cast<uint8_t>(4 + ecs.address.size()),
                                           0, static_cast<uint8_t>(ecs.family), ecs.source, 0};
            option.insert(option.end(), ecs.address.begin(), ecs.address.end());
            ldns_pkt_set_edns_data(pkt.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, option.size(), option.data()));
        }
    }
    uint8_t* data = nullptr;
    std::size_t size = 0;
    REQUIRE(ldns_pkt2wire(&data, pkt.get(), &size) == LDNS_STATUS_OK);
    std::vector<uint8_t> bytes(data, data + size);
    std::free(data);
    return bytes;
}

// The ECS option of a response, read from the OPT's raw rdata.
struct EcsEcho {
    bool is_present = false;
    uint16_t family = 0;
    uint8_t source = 0;
    uint8_t scope = 0;
    std::vector<uint8_t> address;
};

struct Response {
    std::vector<uint8_t> bytes;
    meridian::ldns::PacketPtr pkt;

    std::size_t answers() const { return ldns_pkt_ancount(pkt.get()); }
    const ldns_rr* answer(std::size_t i) const { return ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), i); }
    ldns_pkt_rcode rcode() const { return ldns_pkt_get_rcode(pkt.get()); }

    // The addresses (or CNAME target) of the answer section, sorted.
    std::vector<std::string> rdatas() const {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < answers(); ++i) out.push_back(rdf_text(ldns_rr_rdf(answer(i), 0)));
        std::sort(out.begin(), out.end());
        return out;
    }

    EcsEcho ecs() const {
        EcsEcho echo;
        const ldns_rdf* data = ldns_pkt_edns_data(pkt.get());
        if (data == nullptr) return echo;
        const uint8_t* p = ldns_rdf_data(data);
        const std::size_t size = ldns_rdf_size(data);
        for (std::size_t pos = 0; pos + 4 <= size;) {
            const uint16_t code = meridian::dns::read_u16(p + pos);
            const uint16_t length = meridian::dns::read_u16(p + pos + 2);
            REQUIRE(pos + 4 + length <= size);
            if (code == 8) {
                REQUIRE(length >= 4);
                echo.is_present = true;
                echo.family = meridian::dns::read_u16(p + pos + 4);
                echo.source = p[pos + 6];
                echo.scope = p[pos + 7];
                echo.address.assign(p + pos + 8, p + pos + 4 + length);
            }
            pos += 4u + length;
        }
        return echo;
    }
};

// The packet's source address for ClientInfo.
struct Source {
    sockaddr_storage storage{};

    explicit Source(const char* text) {
        const auto a = meridian::geo::parse_address(text);
        REQUIRE(a.has_value());
        meridian::geo::to_sockaddr(*a, &storage);
    }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

Response ask(const Snapshot& snapshot, const std::vector<uint8_t>& query, const sockaddr* source = nullptr) {
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    ClientInfo client;
    client.source = source;
    const std::size_t size = answer_query(snapshot, client, query, buffer);
    buffer.resize(size);
    REQUIRE(size >= 12);
    Response r{buffer, meridian::test::decode(buffer)};
    REQUIRE(r.pkt);
    return r;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("steered answers follow the client's ECS subnet to its continent's regions", "[answer]") {
    struct Case {
        const char* subnet;
        ldns_rr_type qtype;
        std::set<std::string> allowed;  // the answer is one of these
        uint8_t scope;
    };
    // Scopes: each earlier CIDR route (127.0.0.2/32, 127.0.0.3/32) needs the bits up to the first
    // that differs; the continent routes need the database network (test-geo.csv).
    const Case cases[] = {
        {"81.2.69.0/24", LDNS_RR_TYPE_A, {kEuWest4, kEuCentral4}, 24},        // GB: EU route, weighted
        {"8.8.8.0/24", LDNS_RR_TYPE_A, {kUsEast4, kUsWest4}, 16},            // US: NA route
        {"24.48.0.0/16", LDNS_RR_TYPE_A, {kUsEast4, kUsWest4}, 16},          // CA: NA route
        {"1.0.16.0/24", LDNS_RR_TYPE_A, {kApSoutheast4, kApNortheast4}, 20},  // JP: AS route
        {"103.0.0.0/24", LDNS_RR_TYPE_A, {kApSoutheast4, kApNortheast4}, 16},  // SG
        {"200.0.0.0/24", LDNS_RR_TYPE_A, {kUsEast4}, 16},       // BR: nearest → N. Virginia
        {"181.0.0.0/24", LDNS_RR_TYPE_A, {kUsEast4}, 16},       // AR: nearest → N. Virginia
        {"102.0.0.0/24", LDNS_RR_TYPE_A, {kEuCentral4}, 16},    // NG: nearest → Frankfurt
        {"203.0.113.0/24", LDNS_RR_TYPE_A, {kApSoutheast4}, 24},  // AU: nearest → Singapore
        {"49.224.0.0/16", LDNS_RR_TYPE_A, {kApSoutheast4}, 16},   // NZ: nearest → Singapore
        {"2001:db8:200::/48", LDNS_RR_TYPE_AAAA, {"2001:db8:3::10", "2001:db8:4::10"}, 40},  // DE
        {"2001:db8:100::/48", LDNS_RR_TYPE_AAAA, {"2001:db8:1::10", "2001:db8:2::10"}, 40},  // US
        {"2001:db8:300::/48", LDNS_RR_TYPE_AAAA, {"2001:db8:5::10", "2001:db8:6::10"}, 40},  // JP
        {"2001:db8:500::/48", LDNS_RR_TYPE_AAAA, {"2001:db8:5::10"}, 40},  // AU: nearest → Singapore
        {"2001:db8:400::/48", LDNS_RR_TYPE_A, {kUsEast4}, 40},  // BR over IPv6, asking for A
        {"81.2.69.0/24", LDNS_RR_TYPE_AAAA, {"2001:db8:3::10", "2001:db8:4::10"}, 24},
    };
    for (const Case& c : cases) {
        CAPTURE(c.subnet, c.qtype);
        const Subnet s = subnet(c.subnet);
        const Response r = ask(example(), make_query(kApp, c.qtype, s));
        CHECK(r.rcode() == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        REQUIRE(r.answers() == 1);
        const ldns_rr* rr = r.answer(0);
        CHECK(ldns_rr_get_type(rr) == c.qtype);
        CHECK(rdf_text(ldns_rr_owner(rr)) == kApp);
        CHECK(ldns_rr_ttl(rr) == 30);  // [names.app] ttl
        CHECK(c.allowed.count(r.rdatas()[0]) == 1);
        // The ECS option is echoed: family, source and address as sent, and the decision's scope.
        const EcsEcho echo = r.ecs();
        REQUIRE(echo.is_present);
        CHECK(echo.family == s.family);
        CHECK(echo.source == s.source);
        CHECK(echo.address == s.address);
        CHECK(echo.scope == c.scope);
    }
}

TEST_CASE("the weighted EU route sends about three in four clients to eu-west-1", "[answer]") {
    // Each answer uses the worker's generator; here one seeded generator for 4000 queries, and
    // the 3:1 weights of the example zone's EU route within ±3 points (σ ≈ 0.7 points).
    meridian::Random random(20261127);
    ClientInfo client;
    client.random = &random;
    const auto query = make_query(kApp, LDNS_RR_TYPE_A, subnet("81.2.69.0/24"));
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    int west = 0, central = 0;
    for (int i = 0; i < 4000; ++i) {
        const std::size_t size = answer_query(example(), client, query, buffer);
        const auto pkt = meridian::test::decode(buffer.data(), size);
        REQUIRE(pkt);
        REQUIRE(ldns_pkt_ancount(pkt.get()) == 1);
        const std::string a = rdf_text(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0), 0));
        if (a == kEuWest4) ++west;
        else if (a == kEuCentral4) ++central;
    }
    CHECK(west + central == 4000);
    CHECK(west / 4000.0 == Approx(0.75).margin(0.03));
}

TEST_CASE("without ECS the packet source locates the client", "[answer]") {
    struct Case {
        const char* source;
        ldns_rr_type qtype;
        const char* expected;
    };
    const Case cases[] = {
        {"127.0.0.2", LDNS_RR_TYPE_A, kEuWest4},           // the loopback-eu CIDR route
        {"127.0.0.3", LDNS_RR_TYPE_A, kUsEast4},           // the loopback-us CIDR route
        {"127.0.0.2", LDNS_RR_TYPE_AAAA, "2001:db8:3::10"},
        {"127.0.0.3", LDNS_RR_TYPE_AAAA, "2001:db8:1::10"},
        {"127.0.0.4", LDNS_RR_TYPE_A, nullptr},            // Tokyo: the AS route, either region
        {"203.0.113.9", LDNS_RR_TYPE_A, kApSoutheast4},    // Sydney: nearest
        {"::ffff:127.0.0.2", LDNS_RR_TYPE_A, kEuWest4},   // a v4-mapped source is the IPv4 client
    };
    for (const Case& c : cases) {
        CAPTURE(c.source, c.qtype);
        const Source source(c.source);
        for (const bool with_edns : {false, true}) {
            CAPTURE(with_edns);
            const Response r = ask(example(), make_query(kApp, c.qtype, {}, with_edns), source.get());
            REQUIRE(r.answers() == 1);
            if (c.expected != nullptr) CHECK(r.rdatas() == Strings{c.expected});
            else CHECK((r.rdatas() == Strings{kApSoutheast4} || r.rdatas() == Strings{kApNortheast4}));
            CHECK_FALSE(r.ecs().is_present);  // no ECS asked, none answered
        }
    }
    SECTION("a v4-mapped packet source really arrives as sockaddr_in6") {
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        REQUIRE(inet_pton(AF_INET6, "::ffff:127.0.0.3", &v6.sin6_addr) == 1);
        const Response r =
            ask(example(), make_query(kApp, LDNS_RR_TYPE_A), reinterpret_cast<const sockaddr*>(&v6));
        CHECK(r.rdatas() == Strings{kUsEast4});
    }
    SECTION("no source and no ECS: the default route, nearest without a location → route order") {
        const Response r = ask(example(), make_query(kApp, LDNS_RR_TYPE_A));
        CHECK(r.rdatas() == Strings{kUsEast4});
    }
}

TEST_CASE("ECS with source prefix 0: the packet source decides and the scope is 0", "[answer]") {
    const Source london("127.0.0.2");
    for (const uint16_t family : {uint16_t{1}, uint16_t{2}}) {
        CAPTURE(family);
        Subnet s;
        s.family = family;
        s.source = 0;
        const Response r = ask(example(), make_query(kApp, LDNS_RR_TYPE_A, s), london.get());
        CHECK(r.rdatas() == Strings{kEuWest4});
        const EcsEcho echo = r.ecs();
        REQUIRE(echo.is_present);
        CHECK(echo.family == family);
        CHECK(echo.source == 0);
        CHECK(echo.scope == 0);
        CHECK(echo.address.empty());
    }
}

TEST_CASE("ECS wins over the packet source", "[answer]") {
    const Source london("127.0.0.2");
    const Response r = ask(example(), make_query(kApp, LDNS_RR_TYPE_A, subnet("203.0.113.0/24")), london.get());
    CHECK(r.rdatas() == Strings{kApSoutheast4});
    CHECK(r.ecs().scope == 24);
    SECTION("an ECS /32 inside a CIDR route: that route, scope 32") {
        const Response s = ask(example(), make_query(kApp, LDNS_RR_TYPE_A, subnet("127.0.0.3/32")), london.get());
        CHECK(s.rdatas() == Strings{kUsEast4});
        CHECK(s.ecs().scope == 32);
    }
    SECTION("an ECS /24 around a CIDR route's /32: the route is not taken, the scope says why") {
        // 127.0.0.0/24 does not match 127.0.0.2/32 (the bits past 24 are zero); keeping clear
        // of it needs 31 bits, more than the source's 24 (RFC 7871 §7.2.1 allows that).
        const Response s = ask(example(), make_query(kApp, LDNS_RR_TYPE_A, subnet("127.0.0.0/24")), london.get());
        REQUIRE(s.answers() == 1);
        CHECK(s.ecs().scope == 31);
    }
}

TEST_CASE("static names echo ECS with scope 0", "[answer]") {
    for (const char* name : {"www.geo.example.com.", "nope.geo.example.com.", "txtonly.geo.example.com."}) {
        CAPTURE(name);
        const Subnet s = subnet("81.2.69.0/24");
        const Response r = ask(example(), make_query(name, LDNS_RR_TYPE_A, s));
        const EcsEcho echo = r.ecs();
        REQUIRE(echo.is_present);
        CHECK(echo.family == 1);
        CHECK(echo.source == 24);
        CHECK(echo.address == s.address);
        CHECK(echo.scope == 0);  // the answer is the same for every client
    }
    SECTION("a steered name asked for another type is static too") {
        const Response r = ask(example(), make_query(kApp, LDNS_RR_TYPE_TXT, subnet("81.2.69.0/24")));
        CHECK(r.answers() == 0);
        CHECK(r.ecs().scope == 0);
    }
}

TEST_CASE("a zone with ecs = false answers by the packet source and echoes scope 0", "[answer]") {
    const Source london("127.0.0.2");
    const Source san_francisco("127.0.0.3");
    struct Case {
        const char* subnet;
        const Source* source;
        const char* expected;
    };
    const Case cases[] = {
        {"203.0.113.0/24", &london, kEuWest4},        // ECS says Sydney; the source says London
        {"81.2.69.0/24", &san_francisco, kUsEast4},
        {"2001:db8:500::/48", &london, kEuWest4},
    };
    for (const Case& c : cases) {
        CAPTURE(c.subnet);
        const Subnet s = subnet(c.subnet);
        const Response r = ask(example_without_ecs(), make_query(kApp, LDNS_RR_TYPE_A, s), c.source->get());
        CHECK(r.rdatas() == Strings{c.expected});
        const EcsEcho echo = r.ecs();
        REQUIRE(echo.is_present);
        CHECK(echo.family == s.family);
        CHECK(echo.source == s.source);
        CHECK(echo.address == s.address);
        CHECK(echo.scope == 0);
    }
}

TEST_CASE("a malformed ECS option is answered FORMERR", "[answer]") {
    Subnet bad = subnet("81.2.69.0/24");
    bad.address.push_back(0);  // four address bytes for a /24
    const Response r = ask(example(), make_query(kApp, LDNS_RR_TYPE_A, bad));
    CHECK(r.rcode() == LDNS_RCODE_FORMERR);
    CHECK(r.answers() == 0);
}

TEST_CASE("steered answers allocate nothing once warmed up, with and without ECS", "[answer]") {
    const Snapshot& snapshot = example();
    const Source london("127.0.0.2");
    const Source tokyo("127.0.0.4");
    const Source nowhere("10.9.8.7");
    struct Case {
        const char* what;
        std::vector<uint8_t> query;
        const sockaddr* source;
    };
    const std::vector<Case> cases = {
        {"ECS GB: weighted EU route", make_query(kApp, LDNS_RR_TYPE_A, subnet("81.2.69.0/24")), nullptr},
        {"ECS US: NA route", make_query(kApp, LDNS_RR_TYPE_A, subnet("8.8.8.0/24")), nullptr},
        {"ECS AU over IPv6: nearest", make_query(kApp, LDNS_RR_TYPE_AAAA, subnet("2001:db8:500::/48")), nullptr},
        {"ECS BR: nearest", make_query(kApp, LDNS_RR_TYPE_A, subnet("200.0.0.0/24")), nullptr},
        {"ECS in no database", make_query(kApp, LDNS_RR_TYPE_A, subnet("127.0.0.0/24")), nullptr},
        {"ECS GB, ANY", make_query(kApp, LDNS_RR_TYPE_ANY, subnet("81.2.69.0/24")), nullptr},
        {"source 127.0.0.2: the first CIDR route", make_query(kApp, LDNS_RR_TYPE_A), london.get()},
        {"source Tokyo, no EDNS: AS route", make_query(kApp, LDNS_RR_TYPE_AAAA, {}, false), tokyo.get()},
        {"source in no database: default nearest", make_query(kApp, LDNS_RR_TYPE_A), nowhere.get()},
    };
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    meridian::Random random(1);
    meridian::answer::Outcome outcome;
    auto answer = [&](const Case& c) {
        ClientInfo client;
        client.source = c.source;
        client.random = &random;
        client.outcome = &outcome;
        client.wants_location = true;  // as for a sampled query: the extra lookup allocates nothing either
        return answer_query(snapshot, client, c.query, buffer);
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CHECK(answer(c) > 12);  // warm-up; every case produces an answer
    }
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const std::size_t before = meridian::test::allocation_count();
        for (int round = 0; round < 10; ++round) answer(c);
        const std::size_t allocations = meridian::test::allocation_count() - before;
        CHECK(allocations == 0);
    }

    SECTION("explain's trace is the exception: it allocates its lines") {
        meridian::steer::Trace trace;
        ClientInfo client;
        client.trace = &trace;
        const std::size_t start = meridian::test::allocation_count();
        answer_query(snapshot, client, cases[0].query, buffer);
        CHECK(meridian::test::allocation_count() > start);
        CHECK_FALSE(trace.lines.empty());
    }
}

TEST_CASE("a steered answer's outcome carries the client's country when located, or when asked", "[answer]") {
    const auto located = [](const std::vector<uint8_t>& query, const sockaddr* source, bool wants) {
        std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
        meridian::answer::Outcome outcome;
        ClientInfo client;
        client.source = source;
        client.outcome = &outcome;
        client.wants_location = wants;
        REQUIRE(answer_query(example(), client, query, buffer) >= 12);
        REQUIRE(outcome.steered_name >= 0);
        return outcome;
    };
    // 127.0.0.2 matches app's first route by CIDR: the decision never looks the client up …
    const Source london("127.0.0.2");
    const auto plain = located(make_query(kApp, LDNS_RR_TYPE_A), london.get(), false);
    CHECK_FALSE(plain.is_located);
    CHECK(plain.country.empty());
    // … unless the worker asks (a sampled query): then it is GB (test-geo.csv).
    const auto asked = located(make_query(kApp, LDNS_RR_TYPE_A), london.get(), true);
    CHECK(asked.is_located);
    CHECK(asked.country.view() == "GB");
    // A client the decision located anyway (BR, by the nearest route) carries it without asking.
    const auto brazil = located(make_query(kApp, LDNS_RR_TYPE_A, subnet("200.0.0.0/24")), london.get(), false);
    CHECK(brazil.is_located);
    CHECK(brazil.country.view() == "BR");
}

namespace {

// A zone whose "pool" region is probed address by address (per_address), with a fallback.
const char* const kMemberZone = R"(origin = "m.example."
records = """
@   3600 IN NS ns1
ns1 3600 IN A  192.0.2.53
"""
[soa]
primary = "ns1.m.example."
contact = "hostmaster.m.example."
serial = 1
[checks.web]
kind = "tcp"
port = 80
per_address = true
min_healthy = 2
[regions.pool]
addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1"]
check = "web"
[regions.backup]
addresses = ["198.51.100.9", "2001:db8::9"]
[names.app]
ttl = 60
pruned_ttl = 10
[[names.app.route]]
to = ["pool", "backup"]
strategy = "failover"
)";

struct MemberZone {
    TempDir dir;
    std::unique_ptr<Snapshot> snapshot;
    MemberZone() {
        dir.write("zones/m.example.toml", kMemberZone);
        snapshot = load_snapshot((dir.path() / "zones").string());
    }
    meridian::health::HealthBoard& board() { return snapshot->zones.zones()[0].runtime->health(); }
    const meridian::steer::Region& pool() { return snapshot->zones.zones()[0].zone().policy().regions[0]; }
    void member(std::size_t index, meridian::health::State state,
                meridian::health::Override override = meridian::health::Override::none) {
        meridian::health::RegionHealth h;
        h.state = state;
        h.override = override;
        board().write(pool().first_member + index, h);
    }
    void region(const meridian::health::RegionHealth& h) { board().write(0, h); }
};

uint32_t first_ttl(const Response& r) { return ldns_rr_ttl(r.answer(0)); }

}  // namespace

TEST_CASE("member health: answers carry the healthy addresses of a per-address region", "[answer][members]") {
    MemberZone z;
    const auto& pool = z.pool();
    REQUIRE(pool.has_member_health);
    REQUIRE(pool.members.size() == 4);
    CHECK(pool.first_member == 2);  // after the two regions' own slots
    CHECK(z.board().size() == 6);
    const auto query = make_query("app.m.example.", LDNS_RR_TYPE_A);
    const Source client("127.0.0.9");
    using meridian::health::State;

    SECTION("every member healthy: every address, the name's TTL") {
        const Response r = ask(*z.snapshot, query, client.get());
        CHECK(r.rdatas() == Strings{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
        CHECK(first_ttl(r) == 60);
    }
    SECTION("one member down: the others, and the pruned TTL once the region says a member is out") {
        z.member(1, State::unhealthy);
        meridian::health::RegionHealth region;
        region.is_ipv4_pruned = true;
        z.region(region);
        const Response r = ask(*z.snapshot, query, client.get());
        CHECK(r.rdatas() == Strings{"192.0.2.1", "192.0.2.3"});
        CHECK(first_ttl(r) == 10);
    }
    SECTION("degraded members wait while a healthy one remains; drained and forced-down ones never answer") {
        z.member(0, State::degraded);
        z.member(1, State::healthy, meridian::health::Override::drain);
        z.member(2, State::healthy);
        CHECK(ask(*z.snapshot, query, client.get()).rdatas() == Strings{"192.0.2.3"});
        z.member(2, State::healthy, meridian::health::Override::force_down);
        CHECK(ask(*z.snapshot, query, client.get()).rdatas() == Strings{"192.0.2.1"});
    }
    SECTION("no A member can answer: the region is passed over for A, still answers AAAA") {
        for (std::size_t i = 0; i < 3; ++i) z.member(i, State::unhealthy);
        meridian::health::RegionHealth region;
        region.lacks_ipv4 = true;
        region.is_ipv4_pruned = true;
        z.region(region);
        const Response a = ask(*z.snapshot, query, client.get());
        CHECK(a.rdatas() == Strings{"198.51.100.9"});  // the route's next region
        CHECK(first_ttl(a) == 10);
        const Response aaaa = ask(*z.snapshot, make_query("app.m.example.", LDNS_RR_TYPE_AAAA), client.get());
        CHECK(aaaa.rdatas() == Strings{"2001:db8::1"});
    }
    SECTION("every candidate out: failing open, a region answers with all its addresses") {
        for (std::size_t i = 0; i < 3; ++i) z.member(i, State::unhealthy);
        meridian::health::RegionHealth down;
        down.state = State::unhealthy;
        z.region(down);
        z.board().write(1, down);
        CHECK(ask(*z.snapshot, query, client.get()).rdatas() == Strings{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
    }
}

TEST_CASE("member health: answers with members left out allocate nothing", "[answer][members]") {
    MemberZone z;
    z.member(1, meridian::health::State::unhealthy);
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    const auto query = make_query("app.m.example.", LDNS_RR_TYPE_A);
    const Source client("127.0.0.9");
    ClientInfo info;
    info.source = client.get();
    REQUIRE(answer_query(*z.snapshot, info, query, buffer) > 12);
    const std::size_t before = meridian::test::allocation_count();
    for (int i = 0; i < 10; ++i) answer_query(*z.snapshot, info, query, buffer);
    CHECK(meridian::test::allocation_count() == before);
}

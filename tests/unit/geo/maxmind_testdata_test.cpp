// Cross-checks geo::Database against MaxMind's own test databases (github.com/maxmind/MaxMind-DB,
// test-data/), written by MaxMind's writer rather than by mmdb-build. Expected values are those of
// GeoIP2-City-Test.json, the source of GeoIP2-City-Test.mmdb; each network used is also looked for
// in that file, so a change of the data shows up as a failure rather than as a wrong expectation.
// Built as its own binary (geo_testdata_tests) only when the data directory exists.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "geo/database.hpp"
#include "geo/geo_databases.hpp"
#include "geo/mmdb_oracle.hpp"

using meridian::geo::Database;
using meridian::geo::Facts;

namespace {

const std::string kDir = GEOIP_TESTDATA_DIR;

std::shared_ptr<const Database> open_database(const std::string& name) {
    std::string error;
    std::shared_ptr<const Database> db = Database::open(kDir + "/" + name, {}, &error);  // GeoIP2 field paths
    INFO(error);
    REQUIRE(db != nullptr);
    return db;
}

const std::string& city_json() {
    static const std::string text = [] {
        std::ifstream in(kDir + "/GeoIP2-City-Test.json");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }();
    return text;
}

struct Lookup {
    Facts facts;
    unsigned prefix;
};

Lookup look_up(const Database& db, const char* text) {
    const auto address = meridian::geo::parse_address(text);
    REQUIRE(address.has_value());
    Lookup r{};
    r.prefix = db.lookup(*address, &r.facts);
    return r;
}

}  // namespace

TEST_CASE("GeoIP2-City-Test: facts and prefixes match the JSON source", "[geo]") {
    const auto db = open_database("GeoIP2-City-Test.mmdb");
    CHECK(std::string(db->database_type()) == "GeoIP2-City");
    CHECK(db->is_ipv6());
    REQUIRE_FALSE(city_json().empty());
    struct Case {
        const char* address;
        const char* json_network;  // the key in GeoIP2-City-Test.json
        const char* continent;
        const char* country;
        const char* subdivision;
        double latitude;
        double longitude;
        unsigned prefix;  // in the address's family: IPv4 0–32
    };
    const Case cases[] = {
        {"81.2.69.160", "\"::81.2.69.160/123\"", "EU", "GB", "ENG", 51.5142, -0.0931, 27},
        {"81.2.69.191", "\"::81.2.69.160/123\"", "EU", "GB", "ENG", 51.5142, -0.0931, 27},
        {"81.2.69.142", "\"::81.2.69.142/127\"", "EU", "GB", "ENG", 51.5142, -0.0931, 31},
        {"81.2.69.144", "\"::81.2.69.144/124\"", "EU", "GB", "ENG", 51.5142, -0.0931, 28},
        {"2001:218::", "\"2001:218::/32\"", "AS", "JP", "", 35.68536, 139.75309, 32},
        {"2001:218:ffff::1", "\"2001:218::/32\"", "AS", "JP", "", 35.68536, 139.75309, 32},
        {"216.160.83.56", "\"::216.160.83.56/125\"", "NA", "US", "WA", 47.2513, -122.3149, 29},
        {"89.160.20.112", "\"::89.160.20.112/124\"", "EU", "SE", "E", 58.4167, 15.6167, 28},
        {"89.160.20.128", "\"::89.160.20.128/121\"", "EU", "SE", "E", 58.4167, 15.6167, 25},
        {"67.43.156.1", "\"::67.43.156.0/120\"", "AS", "BT", "", 27.5, 90.5, 24},
        {"175.16.199.1", "\"::175.16.199.0/120\"", "AS", "CN", "22", 43.88, 125.3228, 24},
        {"2.125.160.216", "\"::2.125.160.216/125\"", "EU", "GB", "ENG", 51.75, -1.25, 29},
        {"214.78.120.5", "\"214.78.120.0/22\"", "NA", "US", "CA", 32.7405, -117.0935, 22},
        {"2001:480:10::1", "\"2001:480:10::/48\"", "NA", "US", "CA", 32.7203, -117.1552, 48},
        {"2a02:d3c0::1", "\"2a02:d3c0::/29\"", "EU", "GB", "", 54.75844, -2.69531, 29},
    };
    for (const Case& c : cases) {
        CAPTURE(c.address, c.json_network);
        CHECK(city_json().find(c.json_network) != std::string::npos);
        const Lookup r = look_up(*db, c.address);
        CHECK(r.facts.is_found);
        CHECK(r.prefix == c.prefix);
        CHECK(r.facts.continent.view() == c.continent);
        CHECK(r.facts.country.view() == c.country);
        CHECK(r.facts.subdivision.view() == c.subdivision);
        REQUIRE(r.facts.has_location);
        CHECK(r.facts.latitude == Approx(c.latitude).margin(1e-6));
        CHECK(r.facts.longitude == Approx(c.longitude).margin(1e-6));
        CHECK(r.facts.asn == 0);  // a City database carries no ASN
    }
    SECTION("a record with a continent but no country") {
        CHECK(city_json().find("\"2a02:d500::/29\"") != std::string::npos);
        const Lookup r = look_up(*db, "2a02:d500::1");
        CHECK(r.facts.is_found);
        CHECK(r.facts.continent.view() == "EU");
        CHECK(r.facts.country.empty());
        CHECK(r.prefix == 29);
    }
    SECTION("an address not in the database") {
        const Lookup r = look_up(*db, "10.0.0.1");
        CHECK_FALSE(r.facts.is_found);
        CHECK(r.prefix <= 32);
    }
}

TEST_CASE("GeoIP2-Country-Test: the country, and the capital standing in for coordinates", "[geo]") {
    const auto db = open_database("GeoIP2-Country-Test.mmdb");
    const Lookup r = look_up(*db, "81.2.69.160");
    CHECK(r.facts.continent.view() == "EU");
    CHECK(r.facts.country.view() == "GB");
    CHECK_FALSE(r.facts.has_location);  // a Country database has no location
    CHECK(look_up(*db, "2001:218::1").facts.country.view() == "JP");
    CHECK(look_up(*db, "216.160.83.56").facts.country.view() == "US");

    meridian::geo::GeoDatabases databases;
    databases.add(db);
    const Facts f = databases.lookup(*meridian::geo::parse_address("81.2.69.160"));
    REQUIRE(f.has_location);
    CHECK(f.is_location_from_country);
    CHECK(f.latitude == Approx(51.51).margin(0.01));  // London, the capital
}

TEST_CASE("GeoLite2-ASN-Test: the autonomous system number", "[geo]") {
    const auto db = open_database("GeoLite2-ASN-Test.mmdb");
    struct Case {
        const char* address;
        uint32_t asn;
    };
    for (const Case c : {Case{"1.128.0.0", 1221}, Case{"1.159.255.255", 1221}, Case{"12.81.92.1", 7018},
                         Case{"2600:6000::1", 237}}) {
        CAPTURE(c.address);
        const Lookup r = look_up(*db, c.address);
        CHECK(r.facts.is_found);
        CHECK(r.facts.asn == c.asn);
        CHECK(r.facts.country.empty());
    }
    SECTION("1.128.0.0/11: the prefix in IPv4 bits, and its neighbours are outside") {
        CHECK(look_up(*db, "1.128.0.0").prefix == 11);
        CHECK_FALSE(look_up(*db, "1.127.255.255").facts.is_found);
        CHECK_FALSE(look_up(*db, "1.160.0.0").facts.is_found);
    }
    SECTION("City then ASN: facts from both, the longest prefix") {
        meridian::geo::GeoDatabases databases;
        databases.add(open_database("GeoIP2-City-Test.mmdb"));
        databases.add(db);
        // 1.128.0.0/11 is in no City network; 81.2.69.160 is in no ASN network.
        const Facts f = databases.lookup(*meridian::geo::parse_address("81.2.69.160"));
        CHECK(f.country.view() == "GB");
        CHECK(f.asn == 0);
        CHECK(f.prefix_length >= 27);
        const Facts g = databases.lookup(*meridian::geo::parse_address("1.128.0.1"));
        CHECK(g.asn == 1221);
        CHECK(g.prefix_length >= 11);
    }
}

TEST_CASE("MaxMind's files: the compiled table answers as libmaxminddb, IPv4 aliases included", "[geo]") {
    // Their IPv6 trees alias ::ffff:0:0/96 and 2002::/16 to the IPv4 tree; the probes look up
    // every IPv4 address in those forms too.
    const std::vector<uint32_t> ipv4 = {0x01020304, 0x0202030F, 0x51024500, 0x5102459F, 0x5102A0FF, 0x59A0140F,
                                        0x43000000, 0xAF106800, 0xD9410000, 0xDA00FFFF, 0x4A7D0000, 0x01010101, 0x01010104, 0x01010120};
    for (const char* name : {"GeoIP2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb", "GeoLite2-ASN-Test.mmdb",
                             "GeoLite2-City-Test.mmdb", "MaxMind-DB-test-mixed-24.mmdb"}) {
        CAPTURE(name);
        const auto db = open_database(name);
        meridian::test::check_against_libmaxminddb(*db, meridian::test::probe_addresses(ipv4, 20000));
    }
}

TEST_CASE("MaxMind's broken search tree is refused when the file is opened", "[geo]") {
    std::string error;
    const std::string path = kDir + "/MaxMind-DB-test-broken-search-tree-24.mmdb";
    CHECK(Database::open(path, {}, &error) == nullptr);
    INFO(error);
    CHECK(error.rfind(path + ": ", 0) == 0);
}

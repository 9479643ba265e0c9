// Tests for geo/database, geo/geo_databases, geo/continents and geo/country_locations: lookups in
// MaxMind DB files built by the project's own mmdb-build from readable CSV (geoip/test-geo.csv and
// small files written by the tests), field paths, and the country tables that fill gaps.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "geo/continents.hpp"
#include "geo/country_locations.hpp"
#include "geo/database.hpp"
#include "geo/geo_databases.hpp"
#include "geo/mmdb_oracle.hpp"
#include "test_support.hpp"

using meridian::geo::Database;
using meridian::geo::Facts;
using meridian::geo::FieldPaths;
using meridian::geo::GeoDatabases;
using meridian::geo::IpAddress;
using meridian::test::TempDir;

namespace {

constexpr const char* kCsvHeader = "network,continent,country,subdivision,asn,as_org,latitude,longitude\n";

std::shared_ptr<const Database> open_database(const std::string& path, FieldPaths fields = {}) {
    std::string error;
    std::shared_ptr<const Database> db = Database::open(path, std::move(fields), &error);
    INFO(error);
    REQUIRE(db != nullptr);
    return db;
}

// The database built from geoip/test-geo.csv, opened once with the default GeoIP2 field paths.
std::shared_ptr<const Database> test_database() {
    static const std::shared_ptr<const Database> db = open_database(MERIDIAN_TEST_MMDB);
    return db;
}

// Builds `name`.mmdb in `dir` from CSV rows (after the header) with the project's mmdb-build.
std::string build_database(const TempDir& dir, const std::string& name, const std::string& rows) {
    const auto csv = dir.write(name + ".csv", std::string(kCsvHeader) + rows);
    const std::string mmdb = (dir.path() / (name + ".mmdb")).string();
    const std::string log = (dir.path() / (name + ".log")).string();
    const std::string command = std::string("'") + MMDB_BUILD + "' --input '" + csv.string() + "' --output '" + mmdb +
                                "' >'" + log + "' 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(log);
    const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(command << "\n" << output);
    REQUIRE(status == 0);
    return mmdb;
}

IpAddress ip(const char* text) {
    const auto a = meridian::geo::parse_address(text);
    REQUIRE(a.has_value());
    return *a;
}

struct Lookup {
    Facts facts;
    uint8_t prefix;
};

Lookup look_up(const Database& db, const char* address) {
    Lookup r{};
    r.prefix = db.lookup(ip(address), &r.facts);
    return r;
}

}  // namespace

TEST_CASE("the test database is an IPv6 tree of the GeoIP2 City layout", "[geo]") {
    const auto db = test_database();
    CHECK(db->path() == MERIDIAN_TEST_MMDB);
    CHECK(db->is_ipv6());
    CHECK(std::string(db->database_type()) == "Meridian-Geo");
}

TEST_CASE("IPv4 lookups give every fact of the record and the prefix in IPv4 bits", "[geo]") {
    struct Case {
        const char* address;
        const char* continent;
        const char* country;
        const char* subdivision;
        uint32_t asn;
        double latitude;
        double longitude;
        unsigned prefix;  // 0–32: the database's /24 is 24 here, not the 120 of its IPv6 tree
    };
    const Case cases[] = {
        {"127.0.0.2", "EU", "GB", "ENG", 64500, 51.5074, -0.1278, 32},
        {"127.0.0.3", "NA", "US", "CA", 64501, 37.7749, -122.4194, 32},
        {"127.0.0.4", "AS", "JP", "13", 64502, 35.6762, 139.6503, 32},
        {"192.0.2.1", "EU", "DE", "BE", 64496, 52.5200, 13.4050, 24},
        {"192.0.2.255", "EU", "DE", "BE", 64496, 52.5200, 13.4050, 24},
        {"81.2.69.160", "EU", "GB", "ENG", 20712, 51.5142, -0.0931, 24},
        {"8.8.8.8", "NA", "US", "CA", 15169, 37.4220, -122.0841, 16},
        {"1.0.16.1", "AS", "JP", "13", 0, 35.6762, 139.6503, 20},
        {"1.0.31.255", "AS", "JP", "13", 0, 35.6762, 139.6503, 20},
        {"1.1.1.1", "OC", "AU", "NSW", 13335, -33.8688, 151.2093, 24},
        {"200.0.255.1", "SA", "BR", "SP", 0, -23.5505, -46.6333, 16},
        {"41.0.0.1", "AF", "ZA", "GP", 0, -26.2041, 28.0473, 16},
        {"103.0.0.1", "AS", "SG", "", 0, 1.3521, 103.8198, 16},
    };
    for (const Case& c : cases) {
        CAPTURE(c.address);
        const Lookup r = look_up(*test_database(), c.address);
        CHECK(r.prefix == c.prefix);
        CHECK(r.facts.is_found);
        CHECK(r.facts.continent.view() == c.continent);
        CHECK(r.facts.country.view() == c.country);
        CHECK(r.facts.subdivision.view() == c.subdivision);
        CHECK(r.facts.asn == c.asn);
        CHECK(r.facts.has_location);
        CHECK_FALSE(r.facts.is_location_from_country);
        CHECK(r.facts.latitude == Approx(c.latitude).margin(1e-9));
        CHECK(r.facts.longitude == Approx(c.longitude).margin(1e-9));
        // Database::lookup reports the prefix by return value; Facts::prefix_length is GeoDatabases'.
        CHECK(r.facts.prefix_length == 0);
    }
}

TEST_CASE("IPv6 lookups give the record's facts and the IPv6 prefix", "[geo]") {
    struct Case {
        const char* address;
        const char* continent;
        const char* country;
        const char* subdivision;
        double latitude;
        unsigned prefix;
    };
    const Case cases[] = {
        {"2001:db8:100::1", "NA", "US", "CA", 37.7749, 40},
        {"2001:db8:1ff:ffff::1", "NA", "US", "CA", 37.7749, 40},
        {"2001:db8:200::1", "EU", "DE", "HE", 50.1109, 40},
        {"2001:db8:300::1", "AS", "JP", "13", 35.6762, 40},
        {"2001:db8:400::1", "SA", "BR", "SP", -23.5505, 40},
        {"2001:db8:500::1", "OC", "AU", "NSW", -33.8688, 40},
        {"2001:db8:600::1", "AF", "ZA", "GP", -26.2041, 40},
        {"2a02:c7f:1234::1", "EU", "GB", "ENG", 51.5074, 32},
        {"::1", "EU", "GB", "ENG", 51.5074, 128},
    };
    for (const Case& c : cases) {
        CAPTURE(c.address);
        const Lookup r = look_up(*test_database(), c.address);
        CHECK(r.prefix == c.prefix);
        CHECK(r.facts.is_found);
        CHECK(r.facts.continent.view() == c.continent);
        CHECK(r.facts.country.view() == c.country);
        CHECK(r.facts.subdivision.view() == c.subdivision);
        CHECK(r.facts.has_location);
        CHECK(r.facts.latitude == Approx(c.latitude).margin(1e-9));
    }
    SECTION("::1 carries the ASN too") {
        CHECK(look_up(*test_database(), "::1").facts.asn == 64500);
    }
}

TEST_CASE("an address the database does not hold is not found, with the prefix of the empty block", "[geo]") {
    // The prefix is the block of addresses that share the "not found": every address in it gets
    // the same (empty) facts, which is what the ECS scope must say.
    struct Case {
        const char* address;
        unsigned prefix;
        const char* also_in_block;  // another address of the same empty block
    };
    const Case cases[] = {
        {"127.0.0.1", 31, "127.0.0.0"},     // 127.0.0.2/32 and .3/32 are its neighbours
        {"127.0.0.5", 32, "127.0.0.5"},     // 127.0.0.4/32 shares 31 bits
        {"127.0.0.8", 29, "127.0.0.15"},    // 127.0.0.0/29 holds .2–.4
        {"192.0.3.1", 24, "192.0.3.255"},   // beside 192.0.2.0/24
        {"8.9.0.1", 16, "8.9.255.255"},     // beside 8.8.0.0/16
        {"2001:db8:700::1", 40, "2001:db8:7ff:ffff::1"},  // beside 2001:db8:600::/40
    };
    for (const Case& c : cases) {
        CAPTURE(c.address);
        const Lookup r = look_up(*test_database(), c.address);
        CHECK_FALSE(r.facts.is_found);
        CHECK(r.facts.continent.empty());
        CHECK(r.facts.country.empty());
        CHECK(r.facts.asn == 0);
        CHECK_FALSE(r.facts.has_location);
        CHECK(r.prefix == c.prefix);
        const Lookup other = look_up(*test_database(), c.also_in_block);
        CHECK_FALSE(other.facts.is_found);
        CHECK(other.prefix == c.prefix);
    }
}

TEST_CASE("a record with a country but no location leaves the location unknown in Database::lookup", "[geo]") {
    const Lookup r = look_up(*test_database(), "185.0.1.2");
    CHECK(r.facts.is_found);
    CHECK(r.facts.continent.view() == "EU");
    CHECK(r.facts.country.view() == "NL");
    CHECK(r.facts.subdivision.empty());
    CHECK_FALSE(r.facts.has_location);
    CHECK(r.prefix == 16);
}

TEST_CASE("Database::lookup fills only the facts still unknown", "[geo]") {
    Facts facts;
    facts.country.assign("FR");
    facts.asn = 7;
    facts.has_location = true;
    facts.latitude = 1;
    facts.longitude = 2;
    test_database()->lookup(ip("127.0.0.2"), &facts);
    CHECK(facts.country.view() == "FR");
    CHECK(facts.asn == 7);
    CHECK(facts.latitude == 1);
    CHECK(facts.longitude == 2);
    CHECK(facts.continent.view() == "EU");  // was unknown: taken from the record
    CHECK(facts.subdivision.view() == "ENG");
}

TEST_CASE("FieldPaths::parse splits dotted paths", "[geo]") {
    CHECK(FieldPaths::parse("country.iso_code") == std::vector<std::string>{"country", "iso_code"});
    CHECK(FieldPaths::parse("subdivisions.0.iso_code") == std::vector<std::string>{"subdivisions", "0", "iso_code"});
    CHECK(FieldPaths::parse("country_code") == std::vector<std::string>{"country_code"});
    CHECK(FieldPaths::parse("").empty());
}

TEST_CASE("custom field paths: alternatives are tried in order, an empty list disables a fact", "[geo]") {
    SECTION("the first path is missing from the record, the second has data") {
        FieldPaths fields;
        fields.country = {{"country_code"}, {"country", "iso_code"}};
        fields.continent = {{"continent", "name"}, {"continent", "code"}};
        fields.asn = {{"asn"}, {"autonomous_system_number"}};
        const auto db = open_database(MERIDIAN_TEST_MMDB, fields);
        const Lookup r = look_up(*db, "8.8.8.8");
        CHECK(r.facts.country.view() == "US");
        CHECK(r.facts.continent.view() == "NA");
        CHECK(r.facts.asn == 15169);
    }
    SECTION("an empty path inside a list is skipped") {
        FieldPaths fields;
        fields.subdivision = {{}, FieldPaths::parse("subdivisions.0.iso_code")};
        const Lookup r = look_up(*open_database(MERIDIAN_TEST_MMDB, fields), "8.8.8.8");
        CHECK(r.facts.subdivision.view() == "CA");
    }
    SECTION("a path to a value of the wrong type gives nothing") {
        FieldPaths fields;
        fields.asn = {{"autonomous_system_organization"}};  // a string, not a number
        fields.latitude = {{"continent", "code"}};
        const Lookup r = look_up(*open_database(MERIDIAN_TEST_MMDB, fields), "8.8.8.8");
        CHECK(r.facts.asn == 0);
        CHECK_FALSE(r.facts.has_location);
        CHECK(r.facts.country.view() == "US");
    }
    SECTION("empty lists: the database does not carry those facts") {
        FieldPaths fields;
        fields.asn = {};
        fields.subdivision = {};
        fields.latitude = {};
        const Lookup r = look_up(*open_database(MERIDIAN_TEST_MMDB, fields), "127.0.0.2");
        CHECK(r.facts.is_found);
        CHECK(r.facts.asn == 0);
        CHECK(r.facts.subdivision.empty());
        CHECK_FALSE(r.facts.has_location);  // a latitude without a longitude is no location
        CHECK(r.facts.country.view() == "GB");
        CHECK(r.prefix == 32);
    }
    SECTION("no country path: no country, and the continent still comes from the record") {
        FieldPaths fields;
        fields.country = {};
        const Lookup r = look_up(*open_database(MERIDIAN_TEST_MMDB, fields), "127.0.0.3");
        CHECK(r.facts.country.empty());
        CHECK(r.facts.continent.view() == "NA");
    }
}

TEST_CASE("a database without continents gets the continent from the country", "[geo]") {
    TempDir dir;
    const auto db = open_database(build_database(dir, "countries",
                                                 "198.18.0.0/24,,JP,,,,,\n"
                                                 "198.18.1.0/24,,AF,,,,,\n"
                                                 "198.18.3.0/24,,BR,,,,,\n"
                                                 "198.18.4.0/24,,ZZ,,,,,\n"
                                                 "198.18.5.0/24,NA,GB,,,,,\n"
                                                 "198.18.6.0/24,,,,64511,,,\n"));
    struct Case {
        const char* address;
        const char* country;
        const char* continent;
    };
    const Case cases[] = {
        {"198.18.0.1", "JP", "AS"},
        {"198.18.1.1", "AF", "AS"},  // Afghanistan is in Asia
        {"198.18.3.1", "BR", "SA"},
        {"198.18.4.1", "ZZ", ""},    // an unknown country gives no continent
        {"198.18.5.1", "GB", "NA"},  // the database's own continent is kept, however odd
        {"198.18.6.1", "", ""},      // no country: nothing to derive from
    };
    for (const Case& c : cases) {
        CAPTURE(c.address);
        const Lookup r = look_up(*db, c.address);
        CHECK(r.facts.is_found);
        CHECK(r.prefix == 24);
        CHECK(r.facts.country.view() == c.country);
        CHECK(r.facts.continent.view() == c.continent);
    }
    SECTION("also through GeoDatabases, with the capital for the location") {
        GeoDatabases databases;
        databases.add(db);
        const Facts f = databases.lookup(ip("198.18.0.1"));
        CHECK(f.continent.view() == "AS");
        CHECK(f.is_location_from_country);
        CHECK(f.latitude == Approx(35.68).margin(0.01));  // Tokyo
    }
}

TEST_CASE("continent_of_country follows MaxMind's assignments", "[geo]") {
    struct Case {
        const char* country;
        const char* continent;
    };
    const Case cases[] = {
        {"GB", "EU"}, {"AF", "AS"},  // Afghanistan, not Africa
        {"US", "NA"}, {"BR", "SA"}, {"AU", "OC"}, {"ZA", "AF"}, {"AQ", "AN"}, {"JP", "AS"},
        {"TR", "AS"}, {"RU", "EU"}, {"CY", "EU"}, {"MX", "NA"}, {"PA", "NA"}, {"EG", "AF"},
        {"NZ", "OC"}, {"AD", "EU"}, {"ZW", "AF"}, {"XK", "EU"},
        {"ZZ", ""}, {"", ""}, {"G", ""}, {"GBR", ""}, {"EU", ""},
    };
    for (const Case& c : cases) {
        CAPTURE(c.country);
        CHECK(meridian::geo::continent_of_country(c.country) == c.continent);
    }
}

TEST_CASE("every country with a continent also has a capital, and the reverse", "[geo]") {
    int known = 0;
    for (char a = 'A'; a <= 'Z'; ++a) {
        for (char b = 'A'; b <= 'Z'; ++b) {
            const std::string code{a, b};
            CAPTURE(code);
            const std::string_view continent = meridian::geo::continent_of_country(code);
            const meridian::geo::CountryLocation* place = meridian::geo::location_of_country(code);
            CHECK(continent.empty() == (place == nullptr));
            if (place == nullptr) continue;
            ++known;
            CHECK(place->latitude >= -90);
            CHECK(place->latitude <= 90);
            CHECK(place->longitude >= -180);
            CHECK(place->longitude <= 180);
        }
    }
    CHECK(known >= 249);  // ISO 3166-1 (249 codes) plus Kosovo
    SECTION("spot checks: the capital, to two decimals") {
        const auto* gb = meridian::geo::location_of_country("GB");
        REQUIRE(gb != nullptr);
        CHECK(gb->latitude == Approx(51.51).margin(0.01));
        CHECK(gb->longitude == Approx(-0.13).margin(0.01));
        const auto* au = meridian::geo::location_of_country("AU");
        REQUIRE(au != nullptr);
        CHECK(au->latitude == Approx(-35.28).margin(0.01));  // Canberra, not Sydney
        CHECK(meridian::geo::location_of_country("ZZ") == nullptr);
        CHECK(meridian::geo::location_of_country("") == nullptr);
    }
}

TEST_CASE("GeoDatabases: the country's capital stands in when no database has coordinates", "[geo]") {
    GeoDatabases databases;
    databases.add(test_database());
    SECTION("a record without a location: the capital, marked as such") {
        const Facts f = databases.lookup(ip("185.0.1.2"));
        CHECK(f.is_found);
        CHECK(f.country.view() == "NL");
        REQUIRE(f.has_location);
        CHECK(f.is_location_from_country);
        const auto* amsterdam = meridian::geo::location_of_country("NL");
        REQUIRE(amsterdam != nullptr);
        CHECK(f.latitude == amsterdam->latitude);
        CHECK(f.longitude == amsterdam->longitude);
        CHECK(f.prefix_length == 16);
    }
    SECTION("a record with a location keeps it") {
        const Facts f = databases.lookup(ip("81.2.69.1"));
        REQUIRE(f.has_location);
        CHECK_FALSE(f.is_location_from_country);
        CHECK(f.latitude == Approx(51.5142).margin(1e-9));
        CHECK(f.prefix_length == 24);
    }
    SECTION("an address in no database: no location, the empty block's prefix") {
        const Facts f = databases.lookup(ip("127.0.0.1"));
        CHECK_FALSE(f.is_found);
        CHECK_FALSE(f.has_location);
        CHECK_FALSE(f.is_location_from_country);
        CHECK(f.prefix_length == 31);
    }
    SECTION("no databases: nothing is known") {
        const GeoDatabases none;
        CHECK(none.empty());
        const Facts f = none.lookup(ip("81.2.69.1"));
        CHECK_FALSE(f.is_found);
        CHECK(f.prefix_length == 0);
        CHECK_FALSE(f.has_location);
    }
}

TEST_CASE("GeoDatabases: the first database that knows a fact gives it; the prefix is the longest", "[geo]") {
    TempDir dir;
    // Overlaps the test database's 5.145.0.0/16 (DE, HE, Frankfurt, no ASN) with a /24.
    const std::string second = build_database(dir, "second",
                                              "5.145.7.0/24,AS,JP,13,3320,Second,35.0,139.0\n"
                                              "10.0.0.0/8,OC,NZ,AUK,64999,Second,-36.8,174.7\n");
    GeoDatabases databases;
    databases.add(test_database());
    databases.add(open_database(second));
    REQUIRE(databases.databases().size() == 2);

    SECTION("both hold the address: the first's facts win, the second fills the ASN") {
        const Facts f = databases.lookup(ip("5.145.7.1"));
        CHECK(f.is_found);
        CHECK(f.continent.view() == "EU");
        CHECK(f.country.view() == "DE");
        CHECK(f.subdivision.view() == "HE");
        CHECK(f.latitude == Approx(50.1109).margin(1e-9));
        CHECK(f.asn == 3320);
        CHECK(f.prefix_length == 24);  // the second's /24 is longer than the first's /16
    }
    SECTION("only the first holds it: the prefix is still the longest either gave") {
        // The second has nothing in 5.145.8.0/21 (5.145.7.0 and 5.145.8.0 share 20 bits).
        const Facts f = databases.lookup(ip("5.145.8.1"));
        CHECK(f.country.view() == "DE");
        CHECK(f.asn == 0);
        CHECK(f.prefix_length == 21);
    }
    SECTION("only the second holds it") {
        const Facts f = databases.lookup(ip("10.1.2.3"));
        CHECK(f.is_found);
        CHECK(f.country.view() == "NZ");
        CHECK(f.asn == 64999);
        CHECK(f.prefix_length == 8);
    }
    SECTION("the other order: the second database's facts win") {
        GeoDatabases reversed;
        reversed.add(open_database(second));
        reversed.add(test_database());
        const Facts f = reversed.lookup(ip("5.145.7.1"));
        CHECK(f.continent.view() == "AS");
        CHECK(f.country.view() == "JP");
        CHECK(f.subdivision.view() == "13");
        CHECK(f.latitude == Approx(35.0).margin(1e-9));
        CHECK(f.asn == 3320);
        CHECK(f.prefix_length == 24);
    }
}

TEST_CASE("an IPv4 lookup in a database with no IPv4 data is not found with prefix 0", "[geo]") {
    TempDir dir;
    const auto db = open_database(build_database(dir, "v6only", "2001:db8::/32,EU,DE,,,,,\n"));
    const Lookup r = look_up(*db, "192.0.2.1");
    CHECK_FALSE(r.facts.is_found);
    CHECK(r.prefix == 0);  // the whole IPv4 space is empty: the tree ends above ::/96
    const Lookup v6 = look_up(*db, "2001:db8::1");
    CHECK(v6.facts.is_found);
    CHECK(v6.prefix == 32);
}

TEST_CASE("Database::open names the path when a file is missing or is not a MaxMind DB", "[geo]") {
    TempDir dir;
    SECTION("missing") {
        const std::string path = (dir.path() / "missing.mmdb").string();
        std::string error;
        CHECK(Database::open(path, {}, &error) == nullptr);
        INFO(error);
        CHECK(error.rfind(path + ": ", 0) == 0);
        CHECK(error.size() > path.size() + 2);
    }
    SECTION("garbage") {
        const std::string path = dir.write("garbage.mmdb", std::string(4096, 'x') + "not a database").string();
        std::string error;
        CHECK(Database::open(path, {}, &error) == nullptr);
        INFO(error);
        CHECK(error.rfind(path + ": ", 0) == 0);
        CHECK(error.size() > path.size() + 2);
    }
    SECTION("empty") {
        const std::string path = dir.write("empty.mmdb", "").string();
        std::string error;
        CHECK(Database::open(path, {}, &error) == nullptr);
        CHECK(error.rfind(path + ": ", 0) == 0);
    }
}

namespace {

// The first address of every network in geoip/test-geo.csv that is IPv4, and its last.
std::vector<uint32_t> test_csv_ipv4_bounds() {
    std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/geoip/test-geo.csv");
    std::vector<uint32_t> out;
    std::string line;
    while (std::getline(in, line)) {
        const std::string cidr = line.substr(0, line.find(','));
        const auto network = meridian::geo::parse_network(cidr, false);
        if (!network || network->address.family != 4) continue;
        const auto& b = network->address.bytes;
        const uint32_t first = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
        const uint32_t size = network->prefix_length == 0 ? 0 : (uint32_t{1} << (32 - network->prefix_length)) - 1;
        out.push_back(first);
        out.push_back(first + size);
    }
    return out;
}

}  // namespace

TEST_CASE("the compiled network table answers as libmaxminddb's own walk of the file", "[geo]") {
    const std::vector<uint32_t> bounds = test_csv_ipv4_bounds();
    REQUIRE(bounds.size() > 20);
    const auto db = test_database();
    CHECK(db->network_count() > bounds.size() / 2);
    CHECK(db->record_count() > 0);
    CHECK(db->record_count() <= db->network_count());
    meridian::test::check_against_libmaxminddb(*db, meridian::test::probe_addresses(bounds, 20000));
}

TEST_CASE("the network table keeps every network's own prefix and record, gaps included", "[geo]") {
    TempDir dir;
    // Networks of very different sizes side by side and apart: the tree splits the space
    // around them into many empty blocks, each a range of its own.
    const auto db = open_database(build_database(dir, "mixed",
                                                 "10.0.0.0/9,EU,DE,,1,,,\n10.128.0.0/24,NA,US,,2,,,\n"
                                                 "10.128.1.0/32,AS,JP,,3,,,\n10.200.0.0/16,OC,AU,,4,,,\n"
                                                 "2001:db8::/32,SA,BR,,5,,,\n2001:db9::/48,AF,ZA,,6,,,\n"));
    CHECK(look_up(*db, "10.127.255.255").facts.asn == 1);
    CHECK(look_up(*db, "10.127.255.255").prefix == 9);
    CHECK(look_up(*db, "10.128.0.255").facts.asn == 2);
    CHECK(look_up(*db, "10.128.1.0").prefix == 32);
    CHECK(look_up(*db, "10.128.1.0").facts.asn == 3);
    CHECK_FALSE(look_up(*db, "10.128.1.1").facts.is_found);
    CHECK(look_up(*db, "10.128.1.1").prefix == 32);
    CHECK(look_up(*db, "10.200.255.255").facts.asn == 4);
    CHECK(look_up(*db, "2001:db8:ffff::1").facts.asn == 5);
    CHECK(look_up(*db, "2001:db9::1").facts.asn == 6);
    CHECK(look_up(*db, "2001:db9::1").prefix == 48);
    CHECK_FALSE(look_up(*db, "2001:db9:1::1").facts.is_found);
    meridian::test::check_against_libmaxminddb(
        *db, meridian::test::probe_addresses({0x0A000000, 0x0A7FFFFF, 0x0A800000, 0x0A8000FF, 0x0A800100,
                                              0x0AC80000, 0x0AC8FFFF},
                                             5000));
}

TEST_CASE("Database::open refuses a file whose search tree points outside the file", "[geo]") {
    TempDir dir;
    std::ifstream in(MERIDIAN_TEST_MMDB, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::string file = bytes.str();
    REQUIRE(file.size() > 64);
    // Node 0 is the first bytes of the file: all ones makes both its records point far past
    // the data section, whatever the record size (24, 28 or 32 bits).
    for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<char>(0xFF);
    const std::string path = dir.write("broken-tree.mmdb", file).string();
    std::string error;
    CHECK(Database::open(path, {}, &error) == nullptr);
    INFO(error);
    CHECK(error.rfind(path + ": corrupt search tree: ", 0) == 0);
}

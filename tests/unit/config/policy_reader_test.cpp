// Tests for config/policy_reader (and the steered-name checks of zone loading): the steering
// tables of a zone file read into a steer::Policy, and every mistake reported as
// `file:line:column: message` at the value that caused it (docs/POLICY.md, "What is checked").
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "steer/policy.hpp"
#include "zone_test_support.hpp"

using meridian::test::check_single_error;
using meridian::test::has_error;
using meridian::test::kZoneHead;
using meridian::test::load_zone_text;
using meridian::test::LoadedZoneFile;
using meridian::test::wire;
using meridian::test::zone_with_regions;

namespace {

std::vector<std::string> region_names(const meridian::steer::Policy& policy) {
    std::vector<std::string> out;
    for (const auto& r : policy.regions) out.push_back(r.name);
    return out;
}

std::vector<std::string> target_names(const meridian::steer::Policy& policy, const meridian::steer::Route& route) {
    std::vector<std::string> out;
    for (const auto& t : route.targets) out.push_back(policy.regions[t.region].name);
    return out;
}

// One route of [names.app] on line 16 with `body` from line 17 on.
LoadedZoneFile one_route(const std::string& body) {
    return load_zone_text(zone_with_regions("[[names.app.route]]\n" + body));
}

using Strings = std::vector<std::string>;

}  // namespace

// ---- a policy that loads ------------------------------------------------------------------------

TEST_CASE("the example zone loads with its seven regions in file order", "[config]") {
    const LoadedZoneFile r = [] {
        meridian::test::LoadedZoneFile out;
        out.file = std::string(MERIDIAN_SOURCE_DIR) + "/zones/geo.example.com.toml";
        out.loaded = meridian::config::load_zone_file(out.file, &out.diagnostics);
        return out;
    }();
    INFO(r.diagnostics.format_all());
    REQUIRE(r.errors().empty());
    REQUIRE(r.zone() != nullptr);
    const meridian::steer::Policy& policy = r.zone()->policy();
    CHECK(region_names(policy) ==
          Strings{"us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1",
                  "local-pool"});
    CHECK(policy.use_ecs);
    const auto& us_east = policy.regions[0];
    CHECK(us_east.has_location);
    CHECK(us_east.latitude == Approx(39.0438));
    CHECK(us_east.longitude == Approx(-77.4874));
    REQUIRE(us_east.ipv4.size() == 1);
    CHECK(us_east.ipv4[0] == std::array<uint8_t, 4>{198, 51, 100, 10});
    REQUIRE(us_east.ipv6.size() == 1);
    CHECK(us_east.ipv6[0][15] == 0x10);
    CHECK(us_east.cname.empty());

    REQUIRE(policy.names.size() == 3);
    const meridian::steer::SteeredName& app = policy.names[0];
    CHECK(app.owner == wire("app.geo.example.com."));
    CHECK(app.ttl == 30);
    CHECK(app.answers == 1);
    REQUIRE(app.routes.size() == 6);
    CHECK(target_names(policy, app.routes[0]) == Strings{"eu-west-1"});
    CHECK(target_names(policy, app.routes[1]) == Strings{"us-east-1"});
    CHECK(target_names(policy, app.routes[2]) == Strings{"eu-west-1", "eu-central-1"});
    CHECK(app.routes[2].targets[0].weight == 3);
    CHECK(app.routes[2].targets[1].weight == 1);
    CHECK(app.routes[2].strategy == meridian::steer::Strategy::weighted);
    CHECK(app.routes[2].when.continents.size() == 1);
    // The last route: every region with a location, nearest first.
    CHECK(target_names(policy, app.routes[5]) ==
          Strings{"us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"});
    CHECK(app.routes[5].strategy == meridian::steer::Strategy::nearest);
    CHECK(app.routes[5].when.is_default());
    // The CIDR routes point at the named sets.
    REQUIRE(app.routes[0].when.cidr_sets.size() == 1);
    CHECK(policy.cidr_sets[app.routes[0].when.cidr_sets[0]].name == "loopback-eu");
    CHECK(app.routes[0].where.line > 0);
    // adaptive.geo.example.com: the name that learns, over the two US regions that shed load.
    const meridian::steer::SteeredName& adaptive = policy.names[1];
    CHECK(adaptive.owner == wire("adaptive.geo.example.com."));
    REQUIRE(adaptive.routes.size() == 1);
    CHECK(adaptive.routes[0].strategy == meridian::steer::Strategy::adaptive);
    CHECK(target_names(policy, adaptive.routes[0]) == Strings{"us-east-1", "us-west-1"});
    CHECK(adaptive.routes[0].band_percent == 50);
    CHECK(us_east.has_shed);
    CHECK(us_east.capacity == 2000);
    // lb.geo.example.com: the per-address region (each address probed on its own).
    const auto& pool = policy.regions[6];
    CHECK(pool.has_member_health);
    CHECK(pool.members.size() == 3);
    CHECK(r.zone()->checks().check_of(6)->per_address);
    CHECK(policy.names[2].owner == wire("lb.geo.example.com."));
}

TEST_CASE("a route without `to` takes every region in the order the file writes them", "[config]") {
    const std::string zone = std::string(kZoneHead) +
                             "[regions.zeta]\naddresses = [\"192.0.2.1\"]\nweight = 5\n"
                             "[regions.alpha]\naddresses = [\"192.0.2.2\"]\n"
                             "[regions.mid]\ncname = \"cdn.example.org.\"\n"
                             "[regions.beta]\naddresses = [\"2001:db8::2\"]\n"
                             "[[names.www.route]]\nwhen = { continent = \"EU\" }\nto = [\"mid\"]\n"
                             "[[names.www.route]]\nstrategy = \"failover\"\nweights = { alpha = 7 }\n";
    const LoadedZoneFile r = load_zone_text(zone);
    INFO(r.diagnostics.format_all());
    REQUIRE(r.zone() != nullptr);
    const meridian::steer::Policy& policy = r.zone()->policy();
    CHECK(region_names(policy) == Strings{"zeta", "alpha", "mid", "beta"});
    REQUIRE(policy.names.size() == 1);
    const auto& route = policy.names[0].routes.at(1);
    CHECK(target_names(policy, route) == Strings{"zeta", "alpha", "mid", "beta"});
    CHECK(route.strategy == meridian::steer::Strategy::failover);
    // Weights: the route's own, else the region's.
    REQUIRE(route.targets.size() == 4);
    CHECK(route.targets[0].weight == 5);
    CHECK(route.targets[1].weight == 7);
    CHECK(route.targets[2].weight == 1);
    CHECK(policy.regions[2].cname == wire("cdn.example.org."));
}

TEST_CASE("steered names keep their settings and default strategy", "[config]") {
    const LoadedZoneFile r = load_zone_text(zone_with_regions("[locations.dach]\n"
                                                              "countries = [\"DE\", \"AT\", \"CH\"]\n"
                                                              "asns = [3320]\n"
                                                              "[cidrs]\n"
                                                              "office = [\"203.0.113.0/24\", \"2001:db8:ffff::/48\"]\n"
                                                              "[names.\"@\"]\n"
                                                              "ttl = 15\n"
                                                              "answers = 2\n"
                                                              "strategy = \"sticky\"\n"
                                                              "[[names.\"@\".route]]\n"
                                                              "when = { location = \"dach\", cidr = [\"office\", \"10.0.0.0/8\"] }\n"
                                                              "to = \"a\"\n"
                                                              "[[names.\"@\".route]]\n"
                                                              "when = { subdivision = [\"US-CA\", \"JP-13\"], asn = [15169, 13335] }\n"
                                                              "to = [\"b\", \"c\"]\n"
                                                              "strategy = \"all\"\n"));
    INFO(r.diagnostics.format_all());
    REQUIRE(r.zone() != nullptr);
    const meridian::steer::Policy& policy = r.zone()->policy();
    REQUIRE(policy.names.size() == 1);
    const auto& apex = policy.names[0];
    CHECK(apex.owner == wire("example.net."));
    CHECK(apex.ttl == 15);
    CHECK(apex.answers == 2);
    REQUIRE(apex.routes.size() == 2);
    CHECK(apex.routes[0].strategy == meridian::steer::Strategy::sticky);
    CHECK(apex.routes[1].strategy == meridian::steer::Strategy::all);
    CHECK(target_names(policy, apex.routes[0]) == Strings{"a"});  // a single string is a list of one
    // The named set and the inline network (a set of its own).
    REQUIRE(apex.routes[0].when.cidr_sets.size() == 2);
    CHECK(policy.cidr_sets[apex.routes[0].when.cidr_sets[0]].name == "office");
    CHECK(policy.cidr_sets[apex.routes[0].when.cidr_sets[0]].networks.size() == 2);
    const auto& inline_set = policy.cidr_sets[apex.routes[0].when.cidr_sets[1]];
    REQUIRE(inline_set.networks.size() == 1);
    CHECK(meridian::geo::to_string(inline_set.networks[0]) == "10.0.0.0/8");
    REQUIRE(apex.routes[0].when.location_sets.size() == 1);
    const auto& dach = policy.location_sets[apex.routes[0].when.location_sets[0]];
    CHECK(dach.countries.size() == 3);
    CHECK(dach.asns == std::vector<uint32_t>{3320});
    const auto& second = apex.routes[1].when;
    REQUIRE(second.subdivisions.size() == 2);
    CHECK(second.subdivisions[1].country.view() == "JP");
    CHECK(second.subdivisions[1].code.view() == "13");
    CHECK(second.asns == std::vector<uint32_t>{15169, 13335});
}

TEST_CASE("ecs = false makes the zone locate clients by the packet source", "[config]") {
    const LoadedZoneFile on = load_zone_text(std::string(kZoneHead));
    REQUIRE(on.zone() != nullptr);
    CHECK(on.zone()->policy().use_ecs);
    const LoadedZoneFile off = load_zone_text("ecs = false\n" + std::string(kZoneHead));
    INFO(off.diagnostics.format_all());
    REQUIRE(off.zone() != nullptr);
    CHECK_FALSE(off.zone()->policy().use_ecs);
    const LoadedZoneFile bad = load_zone_text("ecs = \"no\"\n" + std::string(kZoneHead));
    check_single_error(bad, 1, 7, "\"ecs\" in zone must be true or false");
}

// ---- regions ------------------------------------------------------------------------------------

TEST_CASE("region mistakes are reported at the value", "[config]") {
    SECTION("no records") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[regions.empty]\n"      // 16
                                                                  "location = [1, 2]\n"));  // 17
        check_single_error(r, 16, 1, "region empty has no records");
    }
    SECTION("both addresses and a cname") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[regions.both]\n"                // 16
                                                                  "addresses = [\"192.0.2.1\"]\n"    // 17
                                                                  "cname = \"cdn.example.org.\"\n"));  // 18
        check_single_error(r, 18, 9, "region both has both addresses and a cname");
    }
    SECTION("a bad address") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[regions.bad]\n"                                // 16
                                                                  "addresses = [\"192.0.2.1\", \"192.0.2.300\"]\n"));  // 17
        check_single_error(r, 17, 27, "\"192.0.2.300\" is not an IPv4 or IPv6 address");
    }
    SECTION("a location out of range") {
        for (const char* location : {"[91.0, 0.0]", "[-90.5, 0]", "[0, 180.01]", "[0, -181]"}) {
            CAPTURE(location);
            const LoadedZoneFile r = load_zone_text(zone_with_regions(std::string("[regions.far]\n"          // 16
                                                                                  "addresses = [\"192.0.2.1\"]\n"  // 17
                                                                                  "location = ") +
                                                                      location + "\n"));  // 18
            check_single_error(r, 18, 12, "location out of range");
        }
    }
    SECTION("the edges of the range are fine") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[regions.edge]\n"
                                                                  "addresses = [\"192.0.2.1\"]\n"
                                                                  "location = [-90, 180]\n"));
        INFO(r.diagnostics.format_all());
        REQUIRE(r.zone() != nullptr);
        CHECK(r.zone()->policy().regions.back().has_location);
    }
    SECTION("a location that is not two numbers") {
        for (const char* location : {"[1.0]", "[1, 2, 3]", "\"51.5,-0.1\"", "[\"51.5\", \"-0.1\"]"}) {
            CAPTURE(location);
            const LoadedZoneFile r = load_zone_text(zone_with_regions(std::string("[regions.odd]\n"
                                                                                  "addresses = [\"192.0.2.1\"]\n"
                                                                                  "location = ") +
                                                                      location + "\n"));
            check_single_error(r, 18, 12, "location must be [latitude, longitude]");
        }
    }
    SECTION("weight and bias out of range") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[regions.heavy]\n"          // 16
                                                                  "addresses = [\"192.0.2.1\"]\n"  // 17
                                                                  "weight = 1000001\n"         // 18
                                                                  "bias = 100\n"));            // 19
        INFO(r.diagnostics.format_all());
        CHECK(r.errors().size() == 2);
        CHECK(has_error(r, 18, 10, "\"weight\" in [regions.heavy] must be between 0 and 1000000"));
        CHECK(has_error(r, 19, 8, "\"bias\" in [regions.heavy] must be between -99 and 99"));
    }
    SECTION("an unknown key, with a suggestion") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[regions.typo]\n"              // 16
                                                                  "addresses = [\"192.0.2.1\"]\n"  // 17
                                                                  "locaton = [1, 2]\n"));         // 18
        check_single_error(r, 18, 1, "unknown key \"locaton\" in [regions.typo] (did you mean \"location\"?)");
    }
}

// ---- routes -------------------------------------------------------------------------------------

TEST_CASE("unknown regions in a route are reported where they are named", "[config]") {
    SECTION("in to") {
        check_single_error(one_route("to = [\"a\", \"nowhere\"]\n"), 17, 12, "unknown region \"nowhere\"");
    }
    SECTION("in weights") {
        check_single_error(one_route("to = [\"a\", \"b\"]\n"                    // 17
                                     "weights = { a = 2, nowhere = 1 }\n"),   // 18
                           18, 20, "unknown region \"nowhere\" in weights");
    }
    SECTION("weights for a region the route does not send to") {
        check_single_error(one_route("to = [\"a\"]\n"              // 17
                                     "weights = { b = 2 }\n"),    // 18
                           18, 11, "weights name region \"b\", which is not in \"to\"");
    }
    SECTION("a weight out of range") {
        check_single_error(one_route("to = [\"a\"]\n"                  // 17
                                     "weights = { a = -1 }\n"),       // 18
                           18, 17, "a weight is an integer from 0 to 1000000");
    }
}

TEST_CASE("a bad strategy is reported at its value, for a route and for a name", "[config]") {
    SECTION("route") {
        check_single_error(one_route("strategy = \"fastest\"\n"), 17, 12, "unknown strategy \"fastest\"");
    }
    SECTION("name") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[names.app]\n"              // 16
                                                                  "strategy = \"random\"\n"    // 17
                                                                  "[[names.app.route]]\n"));   // 18
        check_single_error(r, 17, 12, "unknown strategy \"random\"");
    }
}

TEST_CASE("bad values in `when` are reported at the value", "[config]") {
    struct Case {
        const char* when;  // line 17
        uint32_t column;
        const char* message;
    };
    const Case cases[] = {
        {"when = { continent = \"XX\" }", 22, "\"XX\" is not a continent code"},
        {"when = { continent = \"EUR\" }", 22, "\"EUR\" is not a continent code"},
        {"when = { continent = [\"EU\", \"XX\"] }", 29, "\"XX\" is not a continent code"},
        {"when = { continent = 1 }", 22, "continent must be a string or an array of strings"},
        {"when = { country = \"USA\" }", 20, "\"USA\" is not an ISO 3166-1 alpha-2 country code"},
        {"when = { country = \"U1\" }", 20, "\"U1\" is not an ISO 3166-1 alpha-2 country code"},
        {"when = { subdivision = \"USCA\" }", 24, "\"USCA\" is not an ISO 3166-2 subdivision"},
        {"when = { subdivision = \"US-\" }", 24, "is not an ISO 3166-2 subdivision"},
        {"when = { subdivision = \"US-ABCD\" }", 24, "is not an ISO 3166-2 subdivision"},
        {"when = { asn = 0 }", 16, "an ASN must be an integer from 1 to 4294967295"},
        {"when = { asn = -5 }", 16, "an ASN must be an integer from 1 to 4294967295"},
        {"when = { asn = 4294967296 }", 16, "an ASN must be an integer from 1 to 4294967295"},
        {"when = { asn = \"15169\" }", 16, "an ASN must be an integer from 1 to 4294967295"},
        {"when = { asn = [15169, 0] }", 24, "an ASN must be an integer from 1 to 4294967295"},
        {"when = { cidr = \"office\" }", 17, "unknown CIDR set \"office\""},
        {"when = { cidr = \"192.0.2.1/24\" }", 17, "\"192.0.2.1/24\" is not a network"},
        {"when = { cidr = \"192.0.2.0/33\" }", 17, "is not a network"},
        {"when = { location = \"dach\" }", 21, "unknown location set \"dach\""},
        {"when = { contnent = \"EU\" }", 10, "unknown key \"contnent\" in when (did you mean \"continent\"?)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.when);
        check_single_error(one_route(std::string(c.when) + "\n"), 17, c.column, c.message);
    }
}

TEST_CASE("bad values in [cidrs] and [locations] are reported at the value", "[config]") {
    SECTION("a network with host bits in a named set") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[cidrs]\n"                                        // 16
                                                                  "office = [\"192.0.2.0/24\", \"10.0.0.1/8\"]\n"));  // 17
        check_single_error(r, 17, 27, "\"10.0.0.1/8\" is not a network");
    }
    SECTION("a bad country in a location set") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[locations.bad]\n"                 // 16
                                                                  "countries = [\"DE\", \"DEU\"]\n"));  // 17
        check_single_error(r, 17, 20, "\"DEU\" is not an ISO 3166-1 alpha-2 country code");
    }
    SECTION("a bad continent in a location set") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[locations.bad]\n"       // 16
                                                                  "continents = [\"XX\"]\n"));  // 17
        check_single_error(r, 17, 15, "\"XX\" is not a continent code");
    }
    SECTION("a bad ASN in a location set") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[locations.bad]\n"   // 16
                                                                  "asns = [0]\n"));     // 17
        check_single_error(r, 17, 9, "an ASN must be an integer");
    }
}

TEST_CASE("[names.x] without routes is an error at the name", "[config]") {
    const LoadedZoneFile r = load_zone_text(zone_with_regions("[names.app]\n"   // 16
                                                              "ttl = 30\n"));   // 17
    check_single_error(r, 16, 8, "steered name app has no [[names.app.route]]");
}

TEST_CASE("ttl and answers of a steered name are range-checked", "[config]") {
    const LoadedZoneFile r = load_zone_text(zone_with_regions("[names.app]\n"          // 16
                                                              "answers = 17\n"         // 17
                                                              "[[names.app.route]]\n"));  // 18
    check_single_error(r, 17, 11, "\"answers\" in [names.app] must be between 1 and 16, not 17");
    const LoadedZoneFile zero = load_zone_text(zone_with_regions("[names.app]\n"
                                                                 "answers = 0\n"
                                                                 "[[names.app.route]]\n"));
    check_single_error(zero, 17, 11, "must be between 1 and 16, not 0");
}

// ---- steered names in the zone --------------------------------------------------------------

TEST_CASE("a steered name may not hold static addresses or CNAMEs, nor lie outside the zone", "[config]") {
    auto zone = [](const std::string& record, const std::string& steering) {
        return "origin = \"example.net.\"\n"      // 1
               "records = \"\"\"\n"               // 2
               "@    3600 IN NS ns1\n"            // 3
               "ns1  3600 IN A  192.0.2.1\n" +    // 4
               record + "\n"                      // 5
               "\"\"\"\n"                         // 6
               "[soa]\n"                          // 7
               "primary = \"ns1.example.net.\"\n"  // 8
               "contact = \"hostmaster@example.net\"\n"  // 9
               "serial = 1\n"                     // 10
               "[regions.a]\n"                    // 11
               "addresses = [\"192.0.2.10\", \"2001:db8::10\"]\n"  // 12
               "[regions.cdn]\n"                  // 13
               "cname = \"cdn.example.org.\"\n" +  // 14
               steering;                          // 15…
    };
    SECTION("a static A record") {
        const LoadedZoneFile r = load_zone_text(zone("app  IN A 192.0.2.99", "[[names.app.route]]\nto = [\"a\"]\n"));
        check_single_error(r, 5, 1, "static A record at steered name app.example.net.");
    }
    SECTION("a static AAAA record") {
        const LoadedZoneFile r = load_zone_text(zone("app  IN AAAA 2001:db8::99", "[[names.app.route]]\nto = [\"a\"]\n"));
        check_single_error(r, 5, 1, "static AAAA record at steered name");
    }
    SECTION("a static CNAME") {
        const LoadedZoneFile r = load_zone_text(zone("app  IN CNAME ns1", "[[names.app.route]]\nto = [\"a\"]\n"));
        check_single_error(r, 5, 1, "static CNAME record at steered name");
    }
    SECTION("other static data beside an address-only name is fine") {
        const LoadedZoneFile r = load_zone_text(zone("app  IN TXT \"hello\"", "[[names.app.route]]\nto = [\"a\"]\n"));
        INFO(r.diagnostics.format_all());
        CHECK(r.errors().empty());
        CHECK(r.zone() != nullptr);
    }
    SECTION("other static data beside a name that can answer with a CNAME region") {
        const LoadedZoneFile r = load_zone_text(
            zone("app  IN TXT \"hello\"", "[[names.app.route]]\nwhen = { continent = \"EU\" }\nto = [\"cdn\"]\n"
                                          "[[names.app.route]]\nto = [\"a\"]\n"));
        check_single_error(r, 5, 1, "can answer with a CNAME region, so it cannot hold other data");
    }
    SECTION("a route without `to` includes a CNAME region too") {
        const LoadedZoneFile r = load_zone_text(zone("app  IN MX 10 ns1", "[[names.app.route]]\n"));
        check_single_error(r, 5, 1, "can answer with a CNAME region");
    }
    SECTION("outside the zone") {
        const LoadedZoneFile r = load_zone_text(zone("www  IN TXT \"x\"", "[[names.\"app.example.org.\".route]]\n"  // 15
                                                                          "to = [\"a\"]\n"));
        INFO(r.diagnostics.format_all());
        CHECK(r.zone() == nullptr);
        REQUIRE(r.errors().size() == 1);
        CHECK(r.errors()[0].where.line == 15);
        CHECK(r.errors()[0].message ==
              "steered name app.example.org. is outside the zone origin example.net.");
    }
    SECTION("defined twice, once relative and once absolute") {
        const LoadedZoneFile r = load_zone_text(zone("www  IN TXT \"x\"", "[[names.app.route]]\n"          // 15
                                                                          "to = [\"a\"]\n"                 // 16
                                                                          "[[names.\"APP.example.net.\".route]]\n"  // 17
                                                                          "to = [\"a\"]\n"));              // 18
        INFO(r.diagnostics.format_all());
        CHECK(r.zone() == nullptr);
        REQUIRE(r.errors().size() == 1);
        CHECK(r.errors()[0].where.line == 17);
        CHECK(meridian::test::text_contains(r.errors()[0].message, "is defined twice"));
    }
}

// ---- capacity, shed load, adaptive routes (docs/POLICY.md, "Steering that learns") ------------

TEST_CASE("capacity, shed watermarks and adaptive route settings are read", "[config]") {
    const LoadedZoneFile r = load_zone_text(zone_with_regions(
        "[checks.load]\nkind = \"http\"\npath = \"/load\"\nload_field = \"load\"\n"
        "[regions.big]\naddresses = [\"192.0.2.50\"]\ncheck = \"load\"\ncapacity = 5000\n"
        "shed = { low = 0.6, high = 0.9 }\n"
        "[names.app]\n"
        "[[names.app.route]]\nwhen = { continent = \"EU\" }\nto = [\"a\", \"b\"]\nstrategy = \"adaptive\"\n"
        "band = \"20ms\"\ntime_constant = \"1m\"\n"
        "[[names.app.route]]\nwhen = { continent = \"NA\" }\nto = [\"a\", \"b\", \"big\"]\n"
        "strategy = \"adaptive\"\nband = \"15%\"\n"
        "[[names.app.route]]\nto = \"big\"\nstrategy = \"nearest\"\n"));
    INFO(r.diagnostics.format_all());
    REQUIRE(r.zone() != nullptr);
    const meridian::steer::Policy& p = r.zone()->policy();
    const auto& big = p.regions[static_cast<std::size_t>(p.find_region("big"))];
    CHECK(big.capacity == 5000);
    CHECK(big.has_shed);
    CHECK(big.shed_low == 0.6);
    CHECK(big.shed_high == 0.9);
    CHECK(p.regions[0].capacity == 0);
    CHECK_FALSE(p.regions[0].has_shed);
    const auto& routes = p.names.at(0).routes;
    CHECK(routes[0].strategy == meridian::steer::Strategy::adaptive);
    CHECK(routes[0].band_ms == 20);
    CHECK(routes[0].band_percent == 0);
    CHECK(routes[0].time_constant_ms == 60000);
    CHECK(routes[1].band_ms == 0);
    CHECK(routes[1].band_percent == 15);
    CHECK(routes[1].time_constant_ms == 30000);
    // Every route target has its own slot in the feedback board, in order.
    CHECK(routes[0].first_slot == 0);
    CHECK(routes[1].first_slot == 2);
    CHECK(routes[2].first_slot == 5);
    CHECK(p.target_slots == 6);
}

TEST_CASE("capacity, shed and adaptive mistakes are reported at the value", "[config]") {
    SECTION("shed that is not two numbers, or not low < high") {
        for (const char* shed : {"{ low = 1 }", "{ low = \"a\", high = 2 }", "5", "{ low = 1, high = 2, x = 3 }"}) {
            CAPTURE(shed);
            const LoadedZoneFile r = load_zone_text(zone_with_regions(
                std::string("[checks.load]\nkind = \"http\"\npath = \"/load\"\nload_field = \"load\"\n"
                            "[regions.r]\naddresses = [\"192.0.2.50\"]\ncheck = \"load\"\nshed = ") + shed + "\n"));
            check_single_error(r, 23, 8, "shed must be { low = N, high = N }: numbers, in the unit of the reported load");
        }
        const LoadedZoneFile r = load_zone_text(zone_with_regions(
            "[checks.load]\nkind = \"http\"\npath = \"/load\"\nload_field = \"load\"\n"
            "[regions.r]\naddresses = [\"192.0.2.50\"]\ncheck = \"load\"\nshed = { low = 90, high = 60 }\n"));
        check_single_error(r, 23, 8, "shed needs 0 ≤ low < high");
    }
    SECTION("shed without a check that reports load") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions(
            "[regions.r]\naddresses = [\"192.0.2.50\"]\nshed = { low = 1, high = 2 }\n"));
        check_single_error(r, 18, 8, "shed needs a check that reports load (an http check with load_field, or a state file)");
    }
    SECTION("a capacity out of range") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions(
            "[regions.r]\naddresses = [\"192.0.2.50\"]\ncapacity = -1\n"));
        CHECK(has_error(r, 18, 12, "\"capacity\" in [regions.r] must be between 0 and 1000000000"));
    }
    SECTION("a band that is neither a latency nor a percentage") {
        for (const char* band : {"\"fast\"", "\"20\"", "\"11s\"", "\"1001%\"", "\"-5%\"", "\"%\""}) {
            CAPTURE(band);
            const LoadedZoneFile r = one_route(std::string("strategy = \"adaptive\"\nband = ") + band + "\n");
            check_single_error(r, 18, 8,
                               "band " + std::string(band) +
                                   " is neither a latency (\"20ms\", up to 10 s) nor a percentage (\"15%\", up to 1000 %)");
        }
    }
    SECTION("band and time_constant on a route that is not adaptive") {
        const LoadedZoneFile r = one_route("strategy = \"weighted\"\nband = \"10%\"\ntime_constant = \"5s\"\n");
        CHECK(has_error(r, 18, 8, "band applies to strategy \"adaptive\" only"));
        CHECK(has_error(r, 19, 17, "time_constant applies to strategy \"adaptive\" only"));
    }
}

// ---- per-address checks ---------------------------------------------------------------------------

TEST_CASE("per_address: every address of the region becomes a member with a board slot of its own", "[config][members]") {
    const LoadedZoneFile r = load_zone_text(zone_with_regions("[checks.web]\nkind = \"tcp\"\nport = 80\n"
                                                              "per_address = true\nmin_healthy = 0.5\n"
                                                              "[regions.pool]\n"
                                                              "addresses = [\"192.0.2.7\", \"2001:db8::7\", \"192.0.2.8\"]\n"
                                                              "check = \"web\"\n"
                                                              "[regions.plain]\naddresses = [\"192.0.2.9\"]\n"));
    INFO(r.diagnostics.format_all());
    REQUIRE(r.zone() != nullptr);
    const auto& policy = r.zone()->policy();
    const auto& check = r.zone()->checks().checks.at(0);
    CHECK(check.per_address);
    CHECK(check.min_healthy_fraction == Approx(0.5));
    const auto& pool = policy.regions.at(3);
    CHECK(pool.has_member_health);
    REQUIRE(pool.members.size() == 3);
    CHECK(meridian::geo::to_string(pool.member_address(0)) == "192.0.2.7");  // IPv4 first …
    CHECK(meridian::geo::to_string(pool.member_address(1)) == "192.0.2.8");
    CHECK(meridian::geo::to_string(pool.member_address(2)) == "2001:db8::7");  // … then IPv6
    CHECK(pool.first_member == policy.regions.size());
    CHECK_FALSE(policy.regions.at(4).has_member_health);
    CHECK(policy.board_slots == policy.regions.size() + 3);
    CHECK(policy.health_slots() == policy.regions.size() + 3);
}

TEST_CASE("per_address and min_healthy mistakes are reported at the value", "[config][members]") {
    SECTION("a check that probes no address") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[checks.f]\n"               // 16
                                                                  "kind = \"file\"\n"          // 17
                                                                  "file = \"s.json\"\n"        // 18
                                                                  "per_address = true\n"));    // 19
        check_single_error(r, 19, 15, "per_address needs a check that probes an address (tcp, http, https, dns), not file");
    }
    SECTION("an absolute url") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[checks.u]\n"                          // 16
                                                                  "kind = \"http\"\n"                     // 17
                                                                  "url = \"http://192.0.2.1/health\"\n"  // 18
                                                                  "per_address = true\n"));               // 19
        check_single_error(r, 19, 15, "per_address probes each address of the region");
    }
    SECTION("min_healthy without per_address") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[checks.t]\nkind = \"tcp\"\nport = 80\n"  // 16-18
                                                                  "min_healthy = 2\n"));                    // 19
        check_single_error(r, 19, 15, "min_healthy counts addresses probed one by one: it needs per_address = true");
    }
    SECTION("min_healthy out of range") {
        for (const char* value : {"0", "257", "1.0", "0.0", "-0.5", "\"50%\""}) {
            CAPTURE(value);
            const LoadedZoneFile r = load_zone_text(zone_with_regions(std::string("[checks.t]\nkind = \"tcp\"\nport = 80\n"
                                                                                  "per_address = true\nmin_healthy = ") +
                                                                      value + "\n"));  // 20
            check_single_error(r, 20, 15, "min_healthy is a count of addresses (1 … 256) or a share of them");
        }
    }
    SECTION("a CNAME region or a check_address with a per-address check") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[checks.t]\nkind = \"tcp\"\nport = 80\n"  // 16-18
                                                                  "per_address = true\n"                   // 19
                                                                  "[regions.cdn]\n"                        // 20
                                                                  "cname = \"cdn.example.org.\"\n"          // 21
                                                                  "check = \"t\"\n"                         // 22
                                                                  "[regions.web]\n"                        // 23
                                                                  "addresses = [\"192.0.2.5\"]\n"          // 24
                                                                  "check = \"t\"\n"                         // 25
                                                                  "check_address = \"192.0.2.6\"\n"));      // 26
        INFO(r.diagnostics.format_all());
        CHECK(r.errors().size() == 2);
        CHECK(has_error(r, 22, 9, "region cdn is a CNAME: a per_address check needs addresses"));
        CHECK(has_error(r, 26, 17, "region web probes each address (per_address): check_address has no place here"));
    }
}

// Tests for steer/policy_check: routes that can never answer and CIDRs claimed by routes with
// different regions, found when a zone file loads and reported at the later route's position.
#include <catch2/catch.hpp>

#include <string>

#include "zone_test_support.hpp"

using meridian::test::check_single_error;
using meridian::test::has_error;
using meridian::test::load_zone_text;
using meridian::test::LoadedZoneFile;
using meridian::test::zone_with_regions;

namespace {

// Two routes of [names.app]: route 1 on line 17, route 2 on line 20 (regions a, b, c are
// defined on lines 10–15, see zone_test_support.hpp).
LoadedZoneFile two_routes(const std::string& first_when, const std::string& first_to, const std::string& second_when,
                          const std::string& second_to) {
    return load_zone_text(zone_with_regions("[names.app]\n"              // 16
                                            "[[names.app.route]]\n"      // 17
                                            + first_when + "\n"          // 18
                                            + first_to + "\n"            // 19
                                            "[[names.app.route]]\n"      // 20
                                            + second_when + "\n"         // 21
                                            + second_to + "\n"));        // 22
}

}  // namespace

TEST_CASE("a route whose clients and regions an earlier route covers can never answer", "[steer]") {
    struct Case {
        const char* description;
        const char* first_when;
        const char* first_to;
        const char* second_when;
        const char* second_to;
    };
    const Case cases[] = {
        {"the same continent to a subset of the regions", "when = { continent = \"EU\" }", "to = [\"a\", \"b\"]",
         "when = { continent = \"EU\" }", "to = [\"b\"]"},
        {"the same continent to the same regions in another order", "when = { continent = \"EU\" }",
         "to = [\"a\", \"b\"]", "when = { continent = \"EU\" }", "to = [\"b\", \"a\"]"},
        {"a narrower list of continents", "when = { continent = [\"EU\", \"AS\"] }", "to = [\"a\", \"b\"]",
         "when = { continent = \"AS\" }", "to = [\"a\"]"},
        {"an extra condition only narrows", "when = { country = \"GB\" }", "to = [\"a\"]",
         "when = { country = \"GB\", asn = 64500 }", "to = [\"a\"]"},
        {"after a default route with the same regions", "# everyone", "to = [\"a\", \"b\"]",
         "when = { continent = \"EU\" }", "to = [\"a\", \"b\"]"},
        {"a default route after a default route", "# everyone", "# every region", "# everyone again",
         "# every region again"},
        {"a CIDR inside an earlier CIDR to the same region", "when = { cidr = \"10.0.0.0/8\" }", "to = [\"a\"]",
         "when = { cidr = \"10.1.0.0/16\" }", "to = [\"a\"]"},
        {"the same subdivision", "when = { subdivision = \"US-CA\" }", "to = [\"a\", \"c\"]",
         "when = { subdivision = \"us-ca\" }", "to = [\"c\"]"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.description);
        const LoadedZoneFile r = two_routes(c.first_when, c.first_to, c.second_when, c.second_to);
        check_single_error(r, 20, 1, "route 2 can never answer: route 1 (line 17)");
    }
}

TEST_CASE("later routes that can answer someone are accepted", "[steer]") {
    struct Case {
        const char* description;
        const char* first_when;
        const char* first_to;
        const char* second_when;
        const char* second_to;
    };
    const Case cases[] = {
        {"a region the earlier route does not offer", "when = { continent = \"EU\" }", "to = [\"a\"]",
         "when = { continent = \"EU\" }", "to = [\"a\", \"b\"]"},
        {"another continent", "when = { continent = \"EU\" }", "to = [\"a\"]", "when = { continent = \"NA\" }",
         "to = [\"a\"]"},
        {"a broader list of continents", "when = { continent = \"EU\" }", "to = [\"a\"]",
         "when = { continent = [\"EU\", \"NA\"] }", "to = [\"a\"]"},
        {"a default route after a specific one", "when = { country = \"GB\" }", "to = [\"a\"]", "# everyone",
         "to = [\"a\"]"},
        {"disjoint CIDRs to different regions", "when = { cidr = \"10.0.0.0/8\" }", "to = [\"a\"]",
         "when = { cidr = \"11.0.0.0/8\" }", "to = [\"b\"]"},
        {"IPv4 and IPv6 networks never overlap", "when = { cidr = \"0.0.0.0/0\" }", "to = [\"a\"]",
         "when = { cidr = \"2001:db8::/32\" }", "to = [\"c\"]"},
        {"a CIDR that reaches beyond the earlier one", "when = { cidr = \"10.1.0.0/16\" }", "to = [\"a\"]",
         "when = { cidr = [\"10.1.0.0/16\", \"172.16.0.0/12\"] }", "to = [\"a\"]"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.description);
        const LoadedZoneFile r = two_routes(c.first_when, c.first_to, c.second_when, c.second_to);
        INFO(r.diagnostics.format_all());
        CHECK(r.errors().empty());
        CHECK(r.zone() != nullptr);
    }
}

TEST_CASE("overlapping CIDRs of routes with different regions are reported with both networks", "[steer]") {
    SECTION("inline networks") {
        const LoadedZoneFile r = two_routes("when = { cidr = \"10.0.0.0/8\" }", "to = [\"a\"]",
                                            "when = { cidr = \"10.1.0.0/16\" }", "to = [\"b\"]");
        check_single_error(r, 20, 1, "CIDR 10.1.0.0/16 overlaps 10.0.0.0/8 of route 1 (line 17)");
    }
    SECTION("a more specific network first still overlaps") {
        const LoadedZoneFile r = two_routes("when = { cidr = \"192.0.2.128/25\" }", "to = [\"a\"]",
                                            "when = { cidr = \"192.0.2.0/24\" }", "to = [\"b\"]");
        check_single_error(r, 20, 1, "overlaps");
    }
    SECTION("a named set against an inline network") {
        const LoadedZoneFile r = load_zone_text(zone_with_regions("[cidrs]\n"                                  // 16
                                                                  "office = [\"2001:db8:ffff::/48\"]\n"         // 17
                                                                  "[[names.app.route]]\n"                       // 18
                                                                  "when = { cidr = \"office\" }\n"              // 19
                                                                  "to = [\"c\"]\n"                              // 20
                                                                  "[[names.app.route]]\n"                       // 21
                                                                  "when = { cidr = \"2001:db8:ffff:1::/64\" }\n"  // 22
                                                                  "to = [\"a\", \"c\"]\n"));                    // 23
        check_single_error(r, 21, 1, "CIDR 2001:db8:ffff:1::/64 overlaps 2001:db8:ffff::/48 of route 1 (line 18)");
    }
}

TEST_CASE("each steered name is checked on its own", "[steer]") {
    const LoadedZoneFile r = load_zone_text(zone_with_regions("[[names.app.route]]\n"           // 16
                                                              "when = { continent = \"EU\" }\n"  // 17
                                                              "to = [\"a\"]\n"                   // 18
                                                              "[[names.www.route]]\n"           // 19
                                                              "when = { continent = \"EU\" }\n"  // 20
                                                              "to = [\"a\"]\n"                   // 21
                                                              "[[names.www.route]]\n"           // 22
                                                              "when = { continent = \"EU\" }\n"  // 23
                                                              "to = [\"a\"]\n"));                // 24
    // app's route and www's first route are alike but belong to different names; only www's
    // second route is unreachable.
    check_single_error(r, 22, 1, "route 2 can never answer: route 1 (line 19)");
}

// Tests for ops/region_key: how a region is named ("zone/region"), how the admin API's zone text
// is normalised, and finding a region through the zone and region indexes.
#include <catch2/catch.hpp>

#include "ops/region_key.hpp"
#include "ops/ops_test_support.hpp"

using meridian::ops::find_region;
using meridian::ops::normalise_zone_name;
using meridian::ops::RegionKey;
using meridian::ops::RegionRef;
using meridian::test::snapshot_of;

TEST_CASE("a region key is written zone/region, the zone with its final dot", "[ops]") {
    CHECK(RegionKey{"geo.example.com.", "eu-west-1"}.to_string() == "geo.example.com./eu-west-1");
    CHECK(RegionKey::from_request("geo.example.com", "eu-west-1").to_string() == "geo.example.com./eu-west-1");
}

TEST_CASE("a zone named in a request is lower-cased and gets its final dot once", "[ops]") {
    CHECK(normalise_zone_name("GEO.Example.com") == "geo.example.com.");
    CHECK(normalise_zone_name("geo.example.com.") == "geo.example.com.");
    CHECK(normalise_zone_name("") == ".");
    const RegionKey key = RegionKey::from_request("Geo.Example.COM.", "EU-west-1");
    CHECK(key.zone == "geo.example.com.");
    CHECK(key.region == "EU-west-1");  // region names are the policy's, matched exactly
}

TEST_CASE("region keys are equal when zone and region are, and order by zone first", "[ops]") {
    CHECK(RegionKey{"a.", "x"} == RegionKey{"a.", "x"});
    CHECK(RegionKey{"a.", "x"} != RegionKey{"a.", "y"});
    CHECK(RegionKey{"a.", "z"} < RegionKey{"b.", "a"});
    CHECK(RegionKey{"a.", "a"} < RegionKey{"a.", "b"});
}

TEST_CASE("the key of a served region is its zone's origin as text and its policy name", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}});
    const auto& served = snapshot->zones.zones().at(0);
    CHECK(RegionKey::of(served, 1) == RegionKey{"example.net.", "b"});
}

TEST_CASE("find_region finds the zone by origin and the region by name, with its board slot", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b", "c"}}, {"example.org.", {"c", "d"}}});
    const RegionRef c_net = find_region(*snapshot, {"example.net.", "c"});
    REQUIRE(c_net);
    CHECK(c_net.served == &snapshot->zones.zones()[0]);
    CHECK(c_net.index == 2);
    const RegionRef c_org = find_region(*snapshot, {"example.org.", "c"});
    REQUIRE(c_org);
    CHECK(c_org.served == &snapshot->zones.zones()[1]);
    CHECK(c_org.index == 0);

    CHECK_FALSE(find_region(*snapshot, {"example.org.", "a"}));   // a region of another zone
    CHECK_FALSE(find_region(*snapshot, {"example.com.", "a"}));   // no such zone
    CHECK_FALSE(find_region(*snapshot, {"net.", "a"}));           // a parent is not the zone
    CHECK_FALSE(find_region(*snapshot, {"x.example.net.", "a"})); // nor is a name below it
    CHECK_FALSE(find_region(*snapshot, {"example..net.", "a"}));  // not a name at all
}

// Tests for config/member_document: the member document feeds publish and the push API takes,
// every way it can be wrong, and a zone given other members (config::with_members).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/member_document.hpp"
#include "zone_test_support.hpp"

using meridian::config::AddressFamily;
using meridian::config::check_members;
using meridian::config::member_document;
using meridian::config::MemberRules;
using meridian::config::parse_member_document;
using meridian::config::RegionMember;
using meridian::steer::MemberState;

namespace {

// The error parsing `text` gives, or "" when it parses.
std::string error_of(const std::string& text, const MemberRules& rules = {}) {
    std::vector<RegionMember> members;
    std::string error;
    if (parse_member_document(text, rules, &members, &error)) return "";
    CHECK(members.empty());  // nothing half-read
    return error;
}

}  // namespace

TEST_CASE("a member document gives every member's address, id, state, weight and load", "[config][members]") {
    std::vector<RegionMember> members;
    std::string error;
    REQUIRE(parse_member_document(R"({"version": 1, "members": [
        {"address": "198.51.100.11", "id": "i-0abc", "state": "drain", "weight": 0, "load": 0.5, "zone": "us-east-1a"},
        {"address": "2001:db8::11"}]})",
                                  {}, &members, &error));
    REQUIRE(members.size() == 2);
    CHECK(meridian::geo::to_string(members[0].address) == "198.51.100.11");
    CHECK(members[0].member.id == "i-0abc");
    CHECK(members[0].member.state == MemberState::drain);
    CHECK(members[0].member.weight == 0);
    CHECK(members[0].member.has_load);
    CHECK(members[0].member.load == Approx(0.5));
    CHECK(meridian::geo::to_string(members[1].address) == "2001:db8::11");
    CHECK(members[1].member.id.empty());
    CHECK(members[1].member.state == MemberState::up);  // the defaults
    CHECK(members[1].member.weight == 1);
    CHECK_FALSE(members[1].member.has_load);

    SECTION("written back, it reads the same") {
        std::vector<RegionMember> again;
        REQUIRE(parse_member_document(member_document(members), {}, &again, &error));
        CHECK(member_document(again) == member_document(members));
    }
}

TEST_CASE("a bad member document is refused whole, with what is wrong and where", "[config][members]") {
    CHECK(error_of("{") == "not JSON");
    CHECK(error_of("[]") == "a member document is an object: {\"members\": [...]}");
    CHECK(error_of("{}") == "\"members\" is required: an array of {\"address\": ...} objects");
    CHECK(error_of(R"({"members": {}})") == "\"members\" is required: an array of {\"address\": ...} objects");
    CHECK(error_of(R"({"version": 2, "members": []})") == "version 2 is not supported (this server reads version 1)");
    CHECK(error_of(R"({"members": ["192.0.2.1"]})") == "members[0]: a member is an object with an \"address\", not \"192.0.2.1\"");
    CHECK(error_of(R"({"members": [{"id": "x"}]})") == "members[0]: \"address\" is required (a string)");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1"}, {"address": "192.0.2.300"}]})") ==
          "members[1].address: \"192.0.2.300\" is not an IPv4 or IPv6 address");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "state": "sleeping"}]})") ==
          "members[0].state: \"sleeping\" is not one of up, down, drain");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "weight": 1001}]})") ==
          "members[0].weight: 1001 is not a whole number from 0 to 1000");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "weight": 1.5}]})") ==
          "members[0].weight: 1.5 is not a whole number from 0 to 1000");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "weight": -1}]})") ==
          "members[0].weight: -1 is not a whole number from 0 to 1000");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "load": -0.1}]})") == "members[0].load: -0.1 is not a number ≥ 0");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "load": "high"}]})") ==
          "members[0].load: \"high\" is not a number ≥ 0");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1", "id": ")" + std::string(129, 'x') + "\"}]}") ==
          "members[0].id: a string of at most 128 bytes");
    CHECK(error_of(R"({"members": [{"address": "192.0.2.1"}, {"address": "192.0.2.1"}]})") ==
          "members[1].address: 192.0.2.1 is listed twice");
    // Addresses are compared as addresses, not as text.
    CHECK(error_of(R"({"members": [{"address": "2001:db8::1"}, {"address": "2001:DB8:0::1"}]})") ==
          "members[1].address: 2001:db8::1 is listed twice");
}

TEST_CASE("a member document is held to the region's rules: emptiness, count and family", "[config][members]") {
    CHECK(error_of(R"({"members": []})") == "no members: refusing to empty the region (allow_empty = false)");
    CHECK(error_of(R"({"members": []})", {AddressFamily::any, 64, true}).empty());
    const std::string three = R"({"members": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}, {"address": "2001:db8::3"}]})";
    CHECK(error_of(three, {AddressFamily::any, 2, false}) == "3 members: more than the region's max_members (2)");
    CHECK(error_of(three, {AddressFamily::any, 3, false}).empty());
    CHECK(error_of(three, {AddressFamily::ipv4, 64, false}) ==
          "members[2].address: 2001:db8::3 is not ipv4 (the region's family)");
    CHECK(error_of(three, {AddressFamily::ipv6, 64, false}) ==
          "members[0].address: 192.0.2.1 is not ipv6 (the region's family)");

    SECTION("check_members holds a merged list to the same rules") {
        std::vector<RegionMember> members(2);
        members[0].address = *meridian::geo::parse_address("192.0.2.1");
        members[1].address = *meridian::geo::parse_address("192.0.2.1");
        std::string error;
        CHECK_FALSE(check_members(members, {}, &error));
        CHECK(error == "members[1].address: 192.0.2.1 is listed twice");
        CHECK_FALSE(check_members({}, {}, &error));
    }
}

TEST_CASE("with_members: a zone whose region takes other addresses, each with a health slot", "[config][members]") {
    const auto loaded = meridian::test::load_zone_text(meridian::test::zone_with_regions(
        "[checks.t]\nkind = \"tcp\"\nport = 80\n"
        "[regions.d]\naddresses = [\"192.0.2.40\"]\ncheck = \"t\"\n"
        "[names.app]\n[[names.app.route]]\nto = [\"d\", \"a\"]\n"));
    INFO(loaded.diagnostics.format_all());
    REQUIRE(loaded.zone() != nullptr);
    const meridian::zone::Zone& zone = *loaded.zone();
    std::vector<RegionMember> members;
    std::string error;
    REQUIRE(parse_member_document(R"({"members": [{"address": "2001:db8::9"}, {"address": "198.51.100.9", "state": "drain"},
                                                 {"address": "198.51.100.8"}]})",
                                  {}, &members, &error));
    std::vector<const std::vector<RegionMember>*> by_region(zone.policy().regions.size(), nullptr);
    by_region[3] = &members;
    const auto changed = meridian::config::with_members(zone, by_region);
    const auto& region = changed->policy().regions[3];
    REQUIRE(region.ipv4.size() == 2);
    REQUIRE(region.ipv6.size() == 1);
    CHECK(meridian::geo::to_string(region.member_address(0)) == "198.51.100.9");  // IPv4 first, in the order given
    CHECK(meridian::geo::to_string(region.member_address(1)) == "198.51.100.8");
    CHECK(meridian::geo::to_string(region.member_address(2)) == "2001:db8::9");
    CHECK(region.members[0].state == MemberState::drain);
    CHECK(region.has_member_health);
    CHECK(region.first_member == 4);
    CHECK(changed->policy().board_slots == 7);
    // The region's probe followed its new first address; the other regions are as they were.
    CHECK(changed->checks().regions[3].address == "198.51.100.9");
    CHECK(changed->policy().regions[0].ipv4 == zone.policy().regions[0].ipv4);
    CHECK_FALSE(changed->policy().regions[0].has_member_health);
    // The original is untouched, and the copy's records are found through its own index.
    CHECK(zone.policy().regions[3].ipv4.size() == 1);
    CHECK(zone.checks().regions[3].address == "192.0.2.40");
    const auto* apex = changed->find(zone.origin());
    REQUIRE(apex != nullptr);
    CHECK(changed->name_of(*apex) == zone.origin());
    CHECK(changed->find(zone.name_of(zone.apex())) != nullptr);
}

// Tests for ops/member_store: members set while serving, laid over the zones as their files
// compiled them, refused where a region cannot take them, and kept in a state file.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ops/member_store.hpp"
#include "zone_test_support.hpp"

using meridian::ops::MemberSource;
using meridian::ops::MemberStore;
using meridian::ops::RegionKey;

namespace {

const char* const kSteering =
    "[regions.fed]\naddresses = [\"192.0.2.50\"]\n[regions.fed.members]\nfeed = \"fed.json\"\nfamily = \"ipv4\"\n"
    "[regions.cdn]\ncname = \"cdn.example.org.\"\n"
    "[names.app]\n[[names.app.route]]\nto = [\"a\", \"fed\"]\n";

// The zone of zone_test_support with a fed and a CNAME region, as one loaded snapshot.
std::unique_ptr<meridian::answer::Snapshot> loaded_snapshot() {
    auto loaded = meridian::test::load_zone_text(meridian::test::zone_with_regions(kSteering));
    INFO(loaded.diagnostics.format_all());
    REQUIRE(loaded.zone() != nullptr);
    auto snapshot = std::make_unique<meridian::answer::Snapshot>();
    snapshot->zones.add(std::shared_ptr<const meridian::zone::Zone>(std::move(loaded.loaded.zone)));
    return snapshot;
}

std::vector<meridian::config::RegionMember> members(const std::string& json, bool allow_empty = false) {
    std::vector<meridian::config::RegionMember> out;
    std::string error;
    REQUIRE(meridian::config::parse_member_document(json, {meridian::config::AddressFamily::any, 256, allow_empty}, &out,
                                                    &error));
    return out;
}

std::vector<std::string> addresses(const meridian::answer::Snapshot& snapshot, std::size_t region) {
    const auto& r = snapshot.zones.zones()[0].zone().policy().regions[region];
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.members.size(); ++i) out.push_back(meridian::geo::to_string(r.member_address(i)));
    return out;
}

const RegionKey kA{"example.net.", "a"};

}  // namespace

TEST_CASE("member store: set, patch and reset change what the zone answers with, and nothing else", "[ops][members]") {
    meridian::test::TempDir dir;
    MemberStore store(dir.path() / "members.json");
    const auto loaded = loaded_snapshot();
    auto served = store.serve(*loaded, 1);
    CHECK(served->zones.zones()[0].model == loaded->zones.zones()[0].model);  // nothing set: the same zone
    REQUIRE(store.set(*served, kA, members(R"({"members": [{"address": "198.51.100.1"}, {"address": "198.51.100.2"}]})"),
                      MemberSource::push)
                .ok());
    served = store.rebuild(*served, "example.net.", 1);
    CHECK(addresses(*served, 0) == std::vector<std::string>{"198.51.100.1", "198.51.100.2"});
    CHECK(addresses(*served, 1) == std::vector<std::string>{"192.0.2.20"});  // region b as its file says
    CHECK(store.find(kA)->source == MemberSource::push);

    const auto patched = store.patch(*served, kA, members(R"({"members": [{"address": "198.51.100.3", "state": "drain"}]})"),
                                     {*meridian::geo::parse_address("198.51.100.1")});
    REQUIRE(patched.ok());
    served = store.rebuild(*served, "example.net.", 1);
    CHECK(addresses(*served, 0) == std::vector<std::string>{"198.51.100.2", "198.51.100.3"});
    CHECK(served->zones.zones()[0].zone().policy().regions[0].members[1].state == meridian::steer::MemberState::drain);

    REQUIRE(store.reset(*served, kA).ok());
    served = store.rebuild(*served, "example.net.", 1);
    CHECK(addresses(*served, 0) == std::vector<std::string>{"192.0.2.10"});
    CHECK(store.reset(*served, kA).status == 404);  // nothing set any more
}

TEST_CASE("member store: what a region cannot take is refused with its status and reason", "[ops][members]") {
    meridian::test::TempDir dir;
    MemberStore store(dir.path() / "members.json");
    const auto served = store.serve(*loaded_snapshot(), 1);
    const auto one = members(R"({"members": [{"address": "198.51.100.1"}]})");
    CHECK(store.set(*served, {"example.net.", "nope"}, one, MemberSource::push).status == 404);
    CHECK(store.set(*served, {"example.org.", "a"}, one, MemberSource::push).status == 404);
    const auto cname = store.set(*served, {"example.net.", "cdn"}, one, MemberSource::push);
    CHECK(cname.status == 409);
    CHECK(cname.error == "region example.net./cdn is a CNAME region: it has no addresses to replace");
    const auto fed = store.set(*served, {"example.net.", "fed"}, one, MemberSource::push);
    CHECK(fed.status == 409);
    CHECK(fed.error.find("takes its members from its feed") != std::string::npos);
    CHECK(store.set(*served, kA, members(R"({"members": []})", true), MemberSource::push).status == 400);
    const auto missing = store.patch(*served, kA, {}, {*meridian::geo::parse_address("203.0.113.1")});
    CHECK(missing.status == 404);
    CHECK(missing.error == "203.0.113.1 is not a member of region example.net./a");
    CHECK(store.entries().empty());
}

TEST_CASE("member store: a feed's document is taken when good and new, refused otherwise with the reason kept",
          "[ops][members]") {
    meridian::test::TempDir dir;
    MemberStore store(dir.path() / "members.json");
    const auto served = store.serve(*loaded_snapshot(), 1);
    const RegionKey fed{"example.net.", "fed"};
    bool is_changed = false;
    const std::string good = R"({"members": [{"address": "198.51.100.7"}]})";
    store.feed_read(*served, fed, "fed.json", &good, "", &is_changed);
    CHECK(is_changed);
    CHECK(store.find(fed)->source == MemberSource::feed);
    store.feed_read(*served, fed, "fed.json", &good, "", &is_changed);
    CHECK_FALSE(is_changed);  // the same members again
    CHECK(store.feed_status(fed)->not_modified == 1);

    const std::string v6 = R"({"members": [{"address": "2001:db8::7"}]})";
    store.feed_read(*served, fed, "fed.json", &v6, "", &is_changed);
    CHECK_FALSE(is_changed);
    CHECK(store.feed_status(fed)->error == "members[0].address: 2001:db8::7 is not ipv4 (the region's family)");
    store.feed_read(*served, fed, "fed.json", nullptr, "HTTP 500", &is_changed);
    CHECK(store.feed_status(fed)->error == "HTTP 500");
    CHECK(store.feed_status(fed)->rejected == 2);
    CHECK(meridian::geo::to_string(store.find(fed)->members[0].address) == "198.51.100.7");  // the last good ones
    store.feed_unchanged(fed, "fed.json");
    CHECK(store.feed_status(fed)->error.empty());
}

TEST_CASE("member store: what is set survives a restart through the state file; a broken file is ignored",
          "[ops][members]") {
    meridian::test::TempDir dir;
    const auto path = dir.path() / "members.json";
    {
        MemberStore store(path);
        const auto served = store.serve(*loaded_snapshot(), 1);
        REQUIRE(store.set(*served, kA, members(R"({"members": [{"address": "198.51.100.1", "id": "i-1", "weight": 0}]})"),
                          MemberSource::push)
                    .ok());
    }
    MemberStore again(path);
    again.load();
    const auto served = again.serve(*loaded_snapshot(), 1);
    CHECK(addresses(*served, 0) == std::vector<std::string>{"198.51.100.1"});
    REQUIRE(again.find(kA) != nullptr);
    CHECK(again.find(kA)->members[0].member.id == "i-1");
    CHECK(again.find(kA)->members[0].member.weight == 0);

    std::ofstream(path) << "{\"meridian_members\": 1, \"regions\": [{\"zone\": \"example.net.\"}]";
    MemberStore broken(path);
    broken.load();
    CHECK(broken.entries().empty());
    CHECK(addresses(*broken.serve(*loaded_snapshot(), 1), 0) == std::vector<std::string>{"192.0.2.10"});
}

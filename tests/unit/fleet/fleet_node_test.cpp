// Tests for the documents fleet mode keeps in etcd (fleet/fleet_node.hpp, ops/override_request.hpp):
// node entries, votes and fleet overrides written by one node and read by the others, and what a
// reader does with documents that are not theirs. The exchange itself runs against a real etcd
// in tests/system/test_fleet.py.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "fleet/fleet_node.hpp"
#include "ops/override_request.hpp"

using meridian::fleet::NodeEntry;
using meridian::fleet::vote_document;
using meridian::fleet::vote_state;
using meridian::health::State;
using nlohmann::json;

TEST_CASE("a node entry reads back as written; other documents are not entries", "[fleet]") {
    NodeEntry e;
    e.serials = {{"geo.example.com.", 2026120701u}, {"other.example.", 7u}};
    e.config_digest = "0123456789abcdef";
    e.last_vote = 1765000000;
    e.started = 1764990000;
    e.admin = "127.0.0.1:8021";
    const auto back = NodeEntry::from_json(e.to_json().dump());
    REQUIRE(back.has_value());
    CHECK(*back == e);
    CHECK_FALSE(NodeEntry::from_json("not json").has_value());
    CHECK_FALSE(NodeEntry::from_json("[1, 2]").has_value());
    // Fields of the wrong type are left at their defaults, serials out of range dropped.
    const auto odd = NodeEntry::from_json(R"({"serials": {"a.": -1, "b.": 4294967296, "c.": 5}, "admin": 3})");
    REQUIRE(odd.has_value());
    CHECK(odd->serials == std::map<std::string, uint32_t>{{"c.", 5u}});
    CHECK(odd->admin.empty());
}

TEST_CASE("a vote carries the verdict; only its state is read back", "[fleet]") {
    const meridian::probes::Verdict v{"http probe of 192.0.2.1", State::degraded, true, 42, 0.75, "slow"};
    const json doc = vote_document(v, "n1", 1765000000);
    CHECK(doc["node"] == "n1");
    CHECK(doc["state"] == "degraded");
    CHECK(doc["latency_ms"] == 42);
    CHECK(doc["success"] == 0.75);
    CHECK(doc["reason"] == "slow");
    CHECK(doc["at"] == 1765000000);
    CHECK(vote_state(doc.dump()) == State::degraded);
    const meridian::probes::Verdict unmeasured{"t", State::unhealthy, false, 0, 0, "refused"};
    CHECK(vote_document(unmeasured, "n2", 1)["latency_ms"].is_null());
    CHECK(vote_state(R"({"state": "healthy"})") == State::healthy);
    CHECK(vote_state(R"({"state": "unhealthy"})") == State::unhealthy);
    CHECK_FALSE(vote_state(R"({"state": "down"})").has_value());
    CHECK_FALSE(vote_state(R"({"state": 1})").has_value());
    CHECK_FALSE(vote_state("{").has_value());
    CHECK_FALSE(vote_state("").has_value());
}

TEST_CASE("a fleet override reads back as written, with who set it; bad documents are named", "[fleet]") {
    using meridian::ops::Override;
    using meridian::ops::SystemClock;
    Override o;
    o.action = meridian::health::Override::drain;
    o.reason = "maintenance";
    o.set_at = SystemClock::time_point(std::chrono::seconds(1765000000));
    o.expires = o.set_at + std::chrono::seconds(300);
    const meridian::ops::RegionKey key{"geo.example.com.", "eu-west-1"};
    const json doc = meridian::ops::fleet_override_document(key, o, "n1");
    CHECK(doc["by"] == "n1");
    CHECK(doc["expires_at"] == 1765000300);
    std::string error;
    const auto back = meridian::ops::read_fleet_override(doc, &error);
    REQUIRE(back.has_value());
    CHECK(back->action == o.action);
    CHECK(back->reason == "maintenance");
    CHECK(back->set_at == o.set_at);
    CHECK(back->expires == o.expires);
    CHECK(back->is_fleet);
    CHECK(back->by == "n1");

    const auto refused = [&](json d, const std::string& message) {
        std::string e;
        CHECK_FALSE(meridian::ops::read_fleet_override(d, &e).has_value());
        CHECK(e == message);
    };
    refused(json::array(), "not a JSON object");
    json bad = doc;
    bad["action"] = "sideways";
    refused(bad, "\"action\" must be \"up\", \"down\" or \"drain\"");
    bad = doc;
    bad.erase("set_at");
    refused(bad, "\"set_at\" must be a time in unix seconds");
    bad = doc;
    bad["expires_at"] = 1765000000;
    refused(bad, "\"expires_at\" must be a time after \"set_at\"");
    bad = doc;
    bad["expires_at"] = nullptr;
    const auto forever = meridian::ops::read_fleet_override(bad, &error);
    REQUIRE(forever.has_value());
    CHECK_FALSE(forever->is_expiring());
}

// Tests for ops/override_request: the body of PUT /regions/{zone}/{region}/override read into an
// Override (times counted from the request), every refusal with the message the API answers,
// and the replies to setting and clearing.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "ops/override_request.hpp"

using meridian::health::Override;
using meridian::ops::read_override_request;
using meridian::ops::SystemClock;
using nlohmann::json;

namespace {

const SystemClock::time_point kNow = SystemClock::time_point{} + std::chrono::seconds(1'800'000'000);

}  // namespace

TEST_CASE("an override request is read with its expiry counted from the request", "[ops]") {
    std::string error;
    const auto o = read_override_request(json{{"action", "drain"}, {"expires_in", 90}, {"reason", "kernel upgrade"}}, kNow, &error);
    INFO(error);
    REQUIRE(o.has_value());
    CHECK(o->action == Override::drain);
    CHECK(o->reason == "kernel upgrade");
    CHECK(o->set_at == kNow);
    CHECK(o->expires == kNow + std::chrono::seconds(90));
    CHECK(o->is_expiring());
}

TEST_CASE("up, down and drain are the actions; without expires_in an override never expires", "[ops]") {
    const std::pair<const char*, Override> rows[] = {{"up", Override::force_up}, {"down", Override::force_down}, {"drain", Override::drain}};
    for (const auto& [text, action] : rows) {
        CAPTURE(text);
        std::string error;
        const auto o = read_override_request(json{{"action", text}}, kNow, &error);
        REQUIRE(o.has_value());
        CHECK(o->action == action);
        CHECK_FALSE(o->is_expiring());
        CHECK(o->reason.empty());
    }
}

TEST_CASE("a bad override request is refused with the message the admin API answers", "[ops]") {
    struct Row {
        const char* what;
        json request;
        const char* message;
    };
    const std::string long_reason(501, 'x');
    const Row rows[] = {
        {"no action", json::object(), "\"action\" must be \"up\", \"down\" or \"drain\""},
        {"unknown action", {{"action", "sideways"}}, "\"action\" must be \"up\", \"down\" or \"drain\""},
        {"action not a string", {{"action", 1}}, "\"action\" must be \"up\", \"down\" or \"drain\""},
        {"zero seconds", {{"action", "down"}, {"expires_in", 0}}, "\"expires_in\" is a number of seconds from 1 to 31622400"},
        {"over a year", {{"action", "down"}, {"expires_in", 31622401}}, "\"expires_in\" is a number of seconds from 1 to 31622400"},
        {"fractional seconds", {{"action", "down"}, {"expires_in", 1.5}}, "\"expires_in\" is a number of seconds from 1 to 31622400"},
        {"seconds as text", {{"action", "down"}, {"expires_in", "60"}}, "\"expires_in\" is a number of seconds from 1 to 31622400"},
        {"reason not text", {{"action", "down"}, {"reason", 7}}, "\"reason\" is a string of at most 500 characters"},
        {"reason too long", {{"action", "down"}, {"reason", long_reason}}, "\"reason\" is a string of at most 500 characters"},
        {"unknown field", {{"action", "down"}, {"until", 5}}, "unknown field \"until\""},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        std::string error;
        CHECK_FALSE(read_override_request(row.request, kNow, &error).has_value());
        CHECK(error == row.message);
    }
    std::string error;
    CHECK(read_override_request(json{{"action", "down"}, {"expires_in", 31622400}, {"reason", std::string(500, 'x')}}, kNow, &error));
}

TEST_CASE("the replies to setting and clearing an override name the region and the action", "[ops]") {
    std::string error;
    const auto timed = read_override_request(json{{"action", "down"}, {"expires_in", 60}, {"reason", "r"}}, kNow, &error);
    REQUIRE(timed.has_value());
    const meridian::ops::RegionKey key{"geo.example.com.", "eu-west-1"};
    CHECK(meridian::ops::override_set_reply(key, *timed) ==
          json{{"zone", "geo.example.com."}, {"region", "eu-west-1"}, {"action", "down"}, {"reason", "r"}, {"expires_at", 1'800'000'060}});
    const auto forever = read_override_request(json{{"action", "up"}}, kNow, &error);
    REQUIRE(forever.has_value());
    CHECK(meridian::ops::override_set_reply(key, *forever)["expires_at"].is_null());
    CHECK(meridian::ops::override_cleared_reply(key) == json{{"zone", "geo.example.com."}, {"region", "eu-west-1"}, {"action", "none"}});
}

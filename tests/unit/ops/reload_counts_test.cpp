// Tests for ops/reload_counts: successes and failures counted, the last failure's errors kept
// until a reload succeeds, and the reply document of POST /reload and GET /check.
#include <catch2/catch.hpp>

#include "ops/reload_counts.hpp"

using meridian::ops::ReloadCounts;
using meridian::ops::ReloadResult;

TEST_CASE("a failed reload's errors stand until a reload succeeds", "[ops]") {
    ReloadCounts counts;
    counts.count(ReloadResult{false, 0, {"a.toml:1:1: bad", "a.toml:2:1: worse"}});
    counts.count(ReloadResult{false, 0, {"b.toml:3:5: bad"}});
    CHECK(counts.failed() == 2);
    CHECK(counts.succeeded() == 0);
    CHECK(counts.last_errors() == std::vector<std::string>{"b.toml:3:5: bad"});
    counts.count(ReloadResult{true, 3, {}});
    CHECK(counts.succeeded() == 1);
    CHECK(counts.failed() == 2);
    CHECK(counts.last_errors().empty());
}

TEST_CASE("the reload reply says ok, how many zones and the errors", "[ops]") {
    CHECK(meridian::ops::reload_reply(ReloadResult{true, 2, {}}) ==
          nlohmann::json{{"ok", true}, {"zones", 2}, {"errors", nlohmann::json::array()}});
    CHECK(meridian::ops::reload_reply(ReloadResult{false, 0, {"x:1:1: e"}}) ==
          nlohmann::json{{"ok", false}, {"zones", 0}, {"errors", {"x:1:1: e"}}});
}

// Tests for ops/override_store: operators' overrides written onto the regions' health board
// slots, cleared, expired at their time, and carried onto the boards of a reloaded snapshot
// (dropped when their region is gone).
#include <catch2/catch.hpp>

#include <chrono>

#include "ops/override_store.hpp"
#include "ops/ops_test_support.hpp"

using meridian::health::Override;
using meridian::ops::OverrideStore;
using meridian::ops::RegionKey;
using meridian::ops::SystemClock;
using meridian::test::snapshot_of;
using Cleared = meridian::ops::OverrideStore::Cleared;

namespace {

const SystemClock::time_point kNow = SystemClock::time_point{} + std::chrono::hours(24 * 365 * 50);

Override board_override(const meridian::answer::Snapshot& snapshot, std::size_t zone, std::size_t region) {
    return snapshot.zones.zones().at(zone).runtime->health().read(region).override;
}

meridian::ops::Override drain(std::chrono::seconds expires_in = std::chrono::seconds(0), std::string reason = "") {
    meridian::ops::Override o;
    o.action = Override::drain;
    o.reason = std::move(reason);
    o.set_at = kNow;
    if (expires_in.count() > 0) o.expires = kNow + expires_in;
    return o;
}

}  // namespace

TEST_CASE("an override is written onto its region's board slot and no other", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b", "c"}}, {"example.org.", {"b"}}});
    OverrideStore store;
    REQUIRE(store.set(*snapshot, {"example.net.", "b"}, drain()));
    CHECK(board_override(*snapshot, 0, 0) == Override::none);
    CHECK(board_override(*snapshot, 0, 1) == Override::drain);
    CHECK(board_override(*snapshot, 0, 2) == Override::none);
    CHECK(board_override(*snapshot, 1, 0) == Override::none);
    REQUIRE(store.find({"example.net.", "b"}) != nullptr);
    CHECK(store.find({"example.net.", "b"})->action == Override::drain);
    CHECK(store.find({"example.org.", "b"}) == nullptr);
}

TEST_CASE("an override keeps the rest of the region's health as it was", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a"}}});
    auto& board = snapshot->zones.zones()[0].runtime->health();
    meridian::health::RegionHealth h;
    h.state = meridian::health::State::degraded;
    h.latency_ms = 42;
    board.write(0, h);
    OverrideStore store;
    REQUIRE(store.set(*snapshot, {"example.net.", "a"}, drain()));
    CHECK(board.read(0).state == meridian::health::State::degraded);
    CHECK(board.read(0).latency_ms == 42);
    CHECK(board.read(0).override == Override::drain);
}

TEST_CASE("an override of an unknown zone or region is refused and not kept", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a"}}});
    OverrideStore store;
    CHECK_FALSE(store.set(*snapshot, {"example.net.", "z"}, drain()));
    CHECK_FALSE(store.set(*snapshot, {"example.org.", "a"}, drain()));
    CHECK(store.size() == 0);
}

TEST_CASE("setting an override again replaces the first", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a"}}});
    OverrideStore store;
    REQUIRE(store.set(*snapshot, {"example.net.", "a"}, drain(std::chrono::seconds(60), "first")));
    meridian::ops::Override down;
    down.action = Override::force_down;
    REQUIRE(store.set(*snapshot, {"example.net.", "a"}, down));
    CHECK(store.size() == 1);
    CHECK(store.find({"example.net.", "a"})->action == Override::force_down);
    CHECK(store.find({"example.net.", "a"})->reason.empty());
    CHECK_FALSE(store.find({"example.net.", "a"})->is_expiring());
    CHECK(board_override(*snapshot, 0, 0) == Override::force_down);
}

TEST_CASE("clearing an override resets the board; clearing again finds none", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b"}}});
    OverrideStore store;
    REQUIRE(store.set(*snapshot, {"example.net.", "b"}, drain()));
    CHECK(store.clear(*snapshot, {"example.net.", "b"}) == Cleared::cleared);
    CHECK(board_override(*snapshot, 0, 1) == Override::none);
    CHECK(store.find({"example.net.", "b"}) == nullptr);
    CHECK(store.clear(*snapshot, {"example.net.", "b"}) == Cleared::no_override);
    CHECK(store.clear(*snapshot, {"example.net.", "z"}) == Cleared::no_region);
}

TEST_CASE("overrides expire at their time, not before; one without an expiry stays", "[ops]") {
    const auto snapshot = snapshot_of({{"example.net.", {"a", "b", "c"}}});
    OverrideStore store;
    REQUIRE(store.set(*snapshot, {"example.net.", "a"}, drain(std::chrono::seconds(10))));
    REQUIRE(store.set(*snapshot, {"example.net.", "b"}, drain(std::chrono::seconds(20))));
    REQUIRE(store.set(*snapshot, {"example.net.", "c"}, drain()));

    CHECK(store.expire(*snapshot, kNow + std::chrono::seconds(9)).empty());
    CHECK(board_override(*snapshot, 0, 0) == Override::drain);

    CHECK(store.expire(*snapshot, kNow + std::chrono::seconds(10)) == std::vector<RegionKey>{{"example.net.", "a"}});
    CHECK(board_override(*snapshot, 0, 0) == Override::none);
    CHECK(board_override(*snapshot, 0, 1) == Override::drain);
    CHECK(store.find({"example.net.", "a"}) == nullptr);

    CHECK(store.expire(*snapshot, kNow + std::chrono::hours(24 * 400)) == std::vector<RegionKey>{{"example.net.", "b"}});
    CHECK(board_override(*snapshot, 0, 2) == Override::drain);
    CHECK(store.size() == 1);
}

TEST_CASE("an override survives a reload onto the new boards and is dropped when its region is gone", "[ops]") {
    const auto before = snapshot_of({{"example.net.", {"a", "b", "c"}}, {"example.org.", {"x"}}});
    OverrideStore store;
    REQUIRE(store.set(*before, {"example.net.", "b"}, drain(std::chrono::seconds(60), "maintenance")));
    REQUIRE(store.set(*before, {"example.org.", "x"}, drain()));

    // Reloaded: b moved to slot 0 of fresh boards, x is gone with its zone.
    const auto after = snapshot_of({{"example.net.", {"b", "c"}}});
    CHECK(board_override(*after, 0, 0) == Override::none);
    CHECK(store.apply(*after) == std::vector<RegionKey>{{"example.org.", "x"}});
    CHECK(board_override(*after, 0, 0) == Override::drain);
    CHECK(board_override(*after, 0, 1) == Override::none);
    REQUIRE(store.find({"example.net.", "b"}) != nullptr);
    CHECK(store.find({"example.net.", "b"})->reason == "maintenance");
    CHECK(store.find({"example.org.", "x"}) == nullptr);

    // Reloaded again without b: dropped, and nothing is written for it.
    const auto without_b = snapshot_of({{"example.net.", {"a", "c"}}});
    CHECK(store.apply(*without_b) == std::vector<RegionKey>{{"example.net.", "b"}});
    CHECK(store.size() == 0);
    CHECK(board_override(*without_b, 0, 0) == Override::none);
    CHECK(board_override(*without_b, 0, 1) == Override::none);
}

TEST_CASE("action names and epoch seconds are what the admin API writes", "[ops]") {
    using meridian::ops::action_name;
    CHECK(std::string(action_name(Override::force_up)) == "up");
    CHECK(std::string(action_name(Override::force_down)) == "down");
    CHECK(std::string(action_name(Override::drain)) == "drain");
    CHECK(std::string(action_name(Override::none)) == "none");
    CHECK(meridian::ops::epoch_seconds(SystemClock::time_point{} + std::chrono::milliseconds(1999)) == 1);
}

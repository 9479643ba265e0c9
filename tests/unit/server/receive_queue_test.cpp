// Tests for server/receive_queue: when a UDP socket's receive queue is cut down for overload and
// when it gets its deep buffer back, fed with synthetic reads and times (no clock, no socket).
#include <catch2/catch.hpp>

#include <vector>

#include "server/receive_queue.hpp"

using meridian::server::ReceiveQueueGovernor;
using meridian::server::ReceiveQueueSizes;
using Resize = ReceiveQueueGovernor::Resize;

namespace {

constexpr ReceiveQueueSizes kSizes{4 << 20, 106496, 50};

// Feeds `reads` reads spread evenly over [from_ms, to_ms); every `dry_every`-th one ran the
// queue dry (0: none did). Returns the resizes asked for, in order.
std::vector<Resize> feed(ReceiveQueueGovernor* governor, uint64_t from_ms, uint64_t to_ms, unsigned reads,
                         unsigned dry_every) {
    std::vector<Resize> out;
    for (unsigned i = 0; i < reads; ++i) {
        const uint64_t now = from_ms + (to_ms - from_ms) * i / reads;
        const bool dry = dry_every != 0 && i % dry_every == dry_every - 1;
        const Resize r = governor->observe(dry, now);
        if (r != Resize::none) out.push_back(r);
    }
    return out;
}

}  // namespace

TEST_CASE("a queue that keeps running dry is never cut down", "[server]") {
    ReceiveQueueGovernor governor(kSizes);
    CHECK(feed(&governor, 0, 10000, 100000, 2).empty());  // half the reads find it dry
    CHECK_FALSE(governor.is_overloaded());
}

TEST_CASE("a burst that drains within the interval is absorbed, not cut down", "[server]") {
    ReceiveQueueGovernor governor(kSizes);
    CHECK(feed(&governor, 0, 49, 1000, 0).empty());  // 49 ms of backlog after a pause ...
    CHECK(governor.observe(true, 49) == Resize::none);  // ... then dry
    CHECK(feed(&governor, 50, 99, 1000, 0).empty());  // a second burst starts its own count
    CHECK_FALSE(governor.is_overloaded());
}

TEST_CASE("a queue that stays non-empty for a whole interval is cut down once", "[server]") {
    ReceiveQueueGovernor governor(kSizes);
    const auto resizes = feed(&governor, 0, 1000, 20000, 0);
    REQUIRE(resizes.size() == 1);
    CHECK(resizes[0] == Resize::to_overload);
    CHECK(governor.is_overloaded());
    // It went down as soon as 50 ms had passed, not later.
    ReceiveQueueGovernor again(kSizes);
    CHECK(feed(&again, 0, 50, 100, 0).empty());
    CHECK(again.observe(false, 50) == Resize::to_overload);
}

TEST_CASE("under overload a dry read now and then does not bring the deep queue back", "[server]") {
    ReceiveQueueGovernor governor(kSizes);
    REQUIRE(feed(&governor, 0, 60, 1000, 0) == std::vector<Resize>{Resize::to_overload});
    // The sender's pauses empty the shallow queue on one read in ten: still overload.
    CHECK(feed(&governor, 60, 5000, 50000, 10).empty());
    CHECK(governor.is_overloaded());
}

TEST_CASE("the deep queue comes back after an interval in which most reads ran dry", "[server]") {
    ReceiveQueueGovernor governor(kSizes);
    REQUIRE(feed(&governor, 0, 60, 1000, 0) == std::vector<Resize>{Resize::to_overload});
    CHECK(feed(&governor, 60, 200, 1000, 0).empty());
    const auto resizes = feed(&governor, 200, 400, 1000, 1);  // the flood is over: every read dry
    REQUIRE(resizes.size() == 1);
    CHECK(resizes[0] == Resize::to_burst);
    CHECK_FALSE(governor.is_overloaded());
    // And a new flood is noticed afresh.
    CHECK(feed(&governor, 400, 500, 1000, 0) == std::vector<Resize>{Resize::to_overload});
}

TEST_CASE("no burst size or no interval: the socket is left alone", "[server]") {
    for (const ReceiveQueueSizes sizes : {ReceiveQueueSizes{0, 106496, 50}, ReceiveQueueSizes{4 << 20, 106496, 0}}) {
        ReceiveQueueGovernor governor(sizes);
        CHECK(feed(&governor, 0, 10000, 10000, 0).empty());
        CHECK_FALSE(governor.is_overloaded());
    }
}

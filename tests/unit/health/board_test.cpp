// Tests for health/state's HealthBoard: each region's health packed into one 64-bit word that
// workers read without locks. Every field survives the round trip at its limits; the fields
// wider than their bits are capped, never wrapped into a neighbour.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "health/health_test_support.hpp"
#include "health/state.hpp"

using meridian::health::HealthBoard;
using meridian::health::Override;
using meridian::health::RegionHealth;
using meridian::health::State;

namespace {

constexpr uint32_t kLatencyMax = (1u << 20) - 1;
constexpr uint32_t kLoadMax = (1u << 24) - 1;

void check_equal(const RegionHealth& got, const RegionHealth& want) {
    CHECK(got.state == want.state);
    CHECK(got.has_measurement == want.has_measurement);
    CHECK(got.latency_ms == want.latency_ms);
    CHECK(got.success_permille == want.success_permille);
    CHECK(got.has_load == want.has_load);
    CHECK(got.load_centi == want.load_centi);
    CHECK(got.override == want.override);
    CHECK(got.is_ipv4_pruned == want.is_ipv4_pruned);
    CHECK(got.is_ipv6_pruned == want.is_ipv6_pruned);
    CHECK(got.lacks_ipv4 == want.lacks_ipv4);
    CHECK(got.lacks_ipv6 == want.lacks_ipv6);
}

RegionHealth written_then_read(const RegionHealth& h) {
    HealthBoard board(3);
    board.write(1, h);
    return board.read(1);
}

}  // namespace

TEST_CASE("a new board reads every slot as healthy, unmeasured, 100 % success, no load, no override", "[health]") {
    const HealthBoard board(5);
    CHECK(board.size() == 5);
    for (std::size_t slot = 0; slot < board.size(); ++slot) {
        CAPTURE(slot);
        check_equal(board.read(slot), RegionHealth{});
        CHECK(board.read(slot).success_permille == 1000);
    }
}

TEST_CASE("every state and every override survives the round trip with every other field set", "[health]") {
    for (const State state : {State::healthy, State::degraded, State::unhealthy}) {
        for (const Override override : {Override::none, Override::force_up, Override::force_down, Override::drain}) {
            for (const bool flags : {false, true}) {
                CAPTURE(static_cast<int>(state), static_cast<int>(override), flags);
                RegionHealth h;
                h.state = state;
                h.override = override;
                h.has_measurement = flags;
                h.has_load = !flags;
                h.latency_ms = flags ? kLatencyMax : 0;
                h.success_permille = flags ? 1000 : 0;
                h.load_centi = flags ? 0 : kLoadMax;
                h.is_ipv4_pruned = flags;
                h.is_ipv6_pruned = !flags;
                h.lacks_ipv4 = !flags;
                h.lacks_ipv6 = flags;
                check_equal(written_then_read(h), h);
            }
        }
    }
}

TEST_CASE("latency keeps 20 bits: values up to 2^20 − 1 round-trip, larger ones read as 2^20 − 1", "[health]") {
    struct Row {
        uint32_t written;
        uint32_t read;
    };
    for (const Row row : {Row{0, 0}, Row{1, 1}, Row{250, 250}, Row{kLatencyMax - 1, kLatencyMax - 1},
                          Row{kLatencyMax, kLatencyMax}, Row{kLatencyMax + 1, kLatencyMax}, Row{0xFFFFFFFFu, kLatencyMax}}) {
        CAPTURE(row.written);
        RegionHealth h;
        h.has_measurement = true;
        h.latency_ms = row.written;
        h.success_permille = 777;
        h.load_centi = 12345;
        h.has_load = true;
        RegionHealth want = h;
        want.latency_ms = row.read;
        check_equal(written_then_read(h), want);  // the neighbours are untouched
    }
}

TEST_CASE("load keeps 24 bits: values up to 2^24 − 1 round-trip, larger ones read as 2^24 − 1", "[health]") {
    struct Row {
        uint32_t written;
        uint32_t read;
    };
    for (const Row row : {Row{0, 0}, Row{1, 1}, Row{150, 150}, Row{kLoadMax - 1, kLoadMax - 1}, Row{kLoadMax, kLoadMax},
                          Row{kLoadMax + 1, kLoadMax}, Row{0xFFFFFFFFu, kLoadMax}}) {
        CAPTURE(row.written);
        RegionHealth h;
        h.has_load = true;
        h.load_centi = row.written;
        h.latency_ms = kLatencyMax;
        h.state = State::unhealthy;
        h.override = Override::drain;
        RegionHealth want = h;
        want.load_centi = row.read;
        check_equal(written_then_read(h), want);
    }
}

TEST_CASE("success keeps 0 … 1000 permille; larger values read as 1000", "[health]") {
    struct Row {
        uint16_t written;
        uint16_t read;
    };
    for (const Row row : {Row{0, 0}, Row{1, 1}, Row{500, 500}, Row{999, 999}, Row{1000, 1000}, Row{1001, 1000},
                          Row{1023, 1000}, Row{1024, 1000}, Row{65535, 1000}}) {
        CAPTURE(row.written);
        RegionHealth h;
        h.success_permille = row.written;
        h.latency_ms = 3;
        h.has_measurement = true;
        RegionHealth want = h;
        want.success_permille = row.read;
        check_equal(written_then_read(h), want);
    }
}

TEST_CASE("writing one slot leaves the others as they were", "[health]") {
    HealthBoard board(3);
    RegionHealth down;
    down.state = State::unhealthy;
    down.override = Override::force_down;
    down.latency_ms = kLatencyMax;
    down.load_centi = kLoadMax;
    down.has_load = true;
    board.write(0, down);
    RegionHealth slow;
    slow.state = State::degraded;
    slow.latency_ms = 150;
    slow.has_measurement = true;
    board.write(2, slow);
    check_equal(board.read(0), down);
    check_equal(board.read(1), RegionHealth{});
    check_equal(board.read(2), slow);
    board.write(0, RegionHealth{});
    check_equal(board.read(0), RegionHealth{});
    check_equal(board.read(2), slow);
}

TEST_CASE("the member bits are independent of each other and of the fields below them", "[health]") {
    for (unsigned bits = 0; bits < 16; ++bits) {
        CAPTURE(bits);
        RegionHealth h;
        h.state = State::unhealthy;
        h.load_centi = kLoadMax;
        h.has_load = true;
        h.is_ipv4_pruned = (bits & 1u) != 0;
        h.is_ipv6_pruned = (bits & 8u) != 0;
        h.lacks_ipv4 = (bits & 2u) != 0;
        h.lacks_ipv6 = (bits & 4u) != 0;
        check_equal(written_then_read(h), h);
    }
}

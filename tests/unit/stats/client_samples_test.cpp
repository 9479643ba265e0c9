// Tests for the sampled answers' rings: the packing, draining in order, a lapped ring's losses,
// and a zone without steered names keeping nothing.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "stats/client_samples.hpp"

using meridian::stats::ClientSample;
using meridian::stats::ClientSamples;
using meridian::stats::pack;
using meridian::stats::unpack;

TEST_CASE("a client sample packs into one word and back; what does not fit is refused", "[stats]") {
    for (const ClientSample s : {ClientSample{0, -1, {0, 0}, 0}, ClientSample{1048575, 254, {'Z', 'Z'}, 65535},
                                 ClientSample{12, 3, {'B', 'R'}, 7}}) {
        const auto word = pack(s);
        REQUIRE(word);
        const auto back = unpack(*word);
        REQUIRE(back);
        CHECK(*back == s);
    }
    CHECK_FALSE(pack({1048576, 0, {'B', 'R'}, 0}));
    CHECK_FALSE(pack({0, 255, {'B', 'R'}, 0}));
    CHECK_FALSE(pack({0, -2, {'B', 'R'}, 0}));
    CHECK_FALSE(pack({0, 0, {'B', 'R'}, 65536}));
    CHECK_FALSE(pack({0, 0, {'b', 'r'}, 0}));
    CHECK_FALSE(pack({0, 0, {'B', 0}, 0}));
    CHECK_FALSE(unpack(0));  // a slot never written
}

TEST_CASE("samples are drained once each, per worker in order; a lapped ring keeps its newest", "[stats]") {
    ClientSamples samples(2, true);
    samples.record(0, {1, 0, {'B', 'R'}, 2});
    samples.record(1, {2, 1, {'U', 'S'}, 3});
    samples.record(0, {3, 0, {'A', 'R'}, 4});
    std::vector<ClientSample> out;
    uint64_t lost = 0;
    samples.drain(&out, &lost);
    REQUIRE(out.size() == 3);
    CHECK(out[0].name == 1);
    CHECK(out[1].name == 3);
    CHECK(out[2].name == 2);
    CHECK(lost == 0);
    out.clear();
    samples.drain(&out, &lost);
    CHECK(out.empty());

    const std::size_t n = ClientSamples::kRingSize + 100;
    for (uint32_t i = 0; i < n; ++i) samples.record(1, {i, 0, {'B', 'R'}, 0});
    samples.drain(&out, &lost);
    REQUIRE(out.size() == ClientSamples::kRingSize);
    CHECK(out.front().name == 100);
    CHECK(out.back().name == n - 1);
    CHECK(lost == 100);
}

TEST_CASE("a zone without steered names keeps no rings; a worker out of range records nothing", "[stats]") {
    ClientSamples none(4, false);
    CHECK_FALSE(none.is_enabled());
    none.record(0, {1, 0, {'B', 'R'}, 0});
    std::vector<ClientSample> out;
    none.drain(&out);
    CHECK(out.empty());
    ClientSamples one(1, true);
    one.record(5, {1, 0, {'B', 'R'}, 0});
    one.drain(&out);
    CHECK(out.empty());
}

TEST_CASE("workers record while the control loop drains: every sample is whole, drained or counted lost", "[stats]") {
    constexpr uint32_t kPerWorker = 200000;
    ClientSamples samples(2, true);
    std::atomic<int> running{2};
    auto writer = [&](unsigned worker) {
        for (uint32_t i = 0; i < kPerWorker; ++i) samples.record(worker, {i % 1000, 1, {'B', 'R'}, worker});
        running.fetch_sub(1);
    };
    std::thread a(writer, 0), b(writer, 1);
    std::vector<ClientSample> out;
    uint64_t lost = 0, drained = 0;
    bool is_whole = true;
    while (running.load() > 0) {
        out.clear();
        samples.drain(&out, &lost);
        drained += out.size();
        for (const ClientSample& s : out) is_whole = is_whole && s.route == 1 && s.country[0] == 'B' && s.region < 2;
    }
    a.join();
    b.join();
    out.clear();
    samples.drain(&out, &lost);
    drained += out.size();
    CHECK(is_whole);
    CHECK(drained + lost == 2 * kPerWorker);
}

// Tests for what decide() does with a feedback board (steer/feedback.hpp): capacity and shed-load
// factors spill a share of a region's answers to the next-best candidate (ordered strategies) or
// scale its weight (weighted ones), nothing changes while every factor is whole or every one is 0,
// adaptive routes use the published weights, and the trace shows each factor. The board is written
// directly; adapt::Controller's tests cover how the factors are learned.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "common/random.hpp"
#include "dns/wire.hpp"
#include "health/state.hpp"
#include "steer/decide.hpp"
#include "steer/feedback.hpp"
#include "steer/policy.hpp"

using meridian::Random;
using meridian::steer::ClientAddress;
using meridian::steer::Decision;
using meridian::steer::FeedbackBoard;
using meridian::steer::kNoWeight;
using meridian::steer::Policy;
using meridian::steer::Region;
using meridian::steer::RegionFeedback;
using meridian::steer::Route;
using meridian::steer::SteeredName;
using meridian::steer::Strategy;
using meridian::steer::Trace;

namespace {

constexpr int kDraws = 20000;

struct Fixture {
    Policy policy;
    SteeredName name;

    explicit Fixture(Strategy strategy, const std::vector<uint32_t>& weights = {1, 1, 1}) {
        Route route;
        route.strategy = strategy;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            Region r;
            r.name = std::string(1, static_cast<char>('a' + i));
            r.ipv4.push_back({192, 0, 2, static_cast<uint8_t>(i + 1)});
            policy.regions.push_back(std::move(r));
            route.targets.push_back({static_cast<uint32_t>(i), weights[i]});
        }
        route.first_slot = 0;
        policy.target_slots = static_cast<uint32_t>(weights.size());
        name.routes.push_back(std::move(route));
        board = std::make_unique<FeedbackBoard>(policy.regions.size(), policy.target_slots);
    }

    void factors(uint32_t region, uint16_t capacity, uint16_t load) {
        RegionFeedback f;
        f.capacity_factor = capacity;
        f.load_factor = load;
        board->set_region(region, f);
    }

    // How often each region came first over kDraws decisions.
    std::map<std::string, int> firsts(bool with_board = true) const {
        Random random(7);
        ClientAddress client;
        client.address = *meridian::geo::parse_address("192.0.2.77");
        client.source_prefix = 32;
        std::map<std::string, int> counts;
        for (int i = 0; i < kDraws; ++i) {
            const Decision d = meridian::steer::decide(policy, {nullptr, with_board ? board.get() : nullptr}, name,
                                                       meridian::dns::rrtype::A, client, nullptr, &random, nullptr);
            REQUIRE(d.count >= 1);
            ++counts[policy.regions[d.regions[0]].name];
        }
        return counts;
    }

    Trace trace() const {
        Random random(7);
        ClientAddress client;
        client.address = *meridian::geo::parse_address("192.0.2.77");
        client.source_prefix = 32;
        Trace t;
        meridian::steer::decide(policy, {nullptr, board.get()}, name, meridian::dns::rrtype::A, client, nullptr,
                                &random, &t);
        return t;
    }

    std::unique_ptr<FeedbackBoard> board;
};

double share(const std::map<std::string, int>& counts, const std::string& region) {
    const auto it = counts.find(region);
    return it == counts.end() ? 0.0 : static_cast<double>(it->second) / kDraws;
}

bool has_line(const Trace& trace, const std::string& part) {
    for (const std::string& line : trace.lines) {
        if (line.find(part) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("the feedback board packs every field into one word and reads it back", "[steer]") {
    FeedbackBoard board(2, 3);
    CHECK(board.region(0).capacity_factor == 1000);
    CHECK(board.region(0).load_factor == 1000);
    CHECK_FALSE(board.region(0).has_latency);
    CHECK(board.weight(2) == kNoWeight);
    RegionFeedback f;
    f.capacity_factor = 640;
    f.load_factor = 1;
    f.has_latency = true;
    f.latency_tenths_ms = 4000000000u;
    board.set_region(1, f);
    const RegionFeedback back = board.region(1);
    CHECK(back.capacity_factor == 640);
    CHECK(back.load_factor == 1);
    CHECK(back.has_latency);
    CHECK(back.latency_tenths_ms == 4000000000u);
    CHECK(back.admission() == 0);  // 640 × 1 / 1000 rounds down
    board.set_weight(1, 250000);
    CHECK(board.weight(1) == 250000);
    CHECK(board.region(0).capacity_factor == 1000);  // its neighbour untouched
}

TEST_CASE("with every factor whole, a failover route answers as without a board", "[steer]") {
    const Fixture f(Strategy::failover);
    CHECK(share(f.firsts(), "a") == 1.0);
    CHECK(share(f.firsts(false), "a") == 1.0);
}

TEST_CASE("a region at 70 % admission passes 30 % of its answers to the next in the ranking", "[steer]") {
    Fixture f(Strategy::failover);
    f.factors(0, 700, 1000);
    const auto counts = f.firsts();
    CHECK(share(counts, "a") == Approx(0.70).margin(0.015));
    CHECK(share(counts, "b") == Approx(0.30).margin(0.015));
    CHECK(share(counts, "c") == 0.0);
    CHECK_FALSE(has_line(f.trace(), "capacity factor"));  // the factor lines are for regions with a capacity
}

TEST_CASE("capacity and load factors multiply, and the spill cascades down the ranking", "[steer]") {
    Fixture f(Strategy::failover);
    f.factors(0, 500, 1000);  // a takes half
    f.factors(1, 1000, 500);  // b takes half of what reaches it
    const auto counts = f.firsts();
    CHECK(share(counts, "a") == Approx(0.50).margin(0.015));
    CHECK(share(counts, "b") == Approx(0.25).margin(0.015));
    CHECK(share(counts, "c") == Approx(0.25).margin(0.015));
}

TEST_CASE("a region at factor 0 gets nothing while another takes answers", "[steer]") {
    Fixture f(Strategy::failover);
    f.factors(0, 1000, 0);
    CHECK(share(f.firsts(), "b") == 1.0);
}

TEST_CASE("when every candidate is at factor 0 the ranking stands (geography decides)", "[steer]") {
    Fixture f(Strategy::failover);
    for (uint32_t i = 0; i < 3; ++i) f.factors(i, 0, 1000);
    CHECK(share(f.firsts(), "a") == 1.0);
    CHECK(has_line(f.trace(), "every candidate is over capacity or shedding: the ranking stands"));
}

TEST_CASE("weighted routes scale each weight by its region's admission", "[steer]") {
    Fixture f(Strategy::weighted, {1, 1, 2});
    f.factors(2, 1000, 500);  // c: weight 2 × 0.5 = 1
    const auto counts = f.firsts();
    for (const char* region : {"a", "b", "c"}) CHECK(share(counts, region) == Approx(1.0 / 3).margin(0.015));
    CHECK(has_line(f.trace(), "weights scaled by each region's capacity and load factors"));
}

TEST_CASE("weighted routes whose every region is at factor 0 keep their weights", "[steer]") {
    Fixture f(Strategy::weighted, {3, 1});
    f.factors(0, 0, 1000);
    f.factors(1, 1000, 0);
    const auto counts = f.firsts();
    CHECK(share(counts, "a") == Approx(0.75).margin(0.015));
}

TEST_CASE("an adaptive route uses the published weights, and the configured ones until then", "[steer]") {
    Fixture f(Strategy::adaptive, {1, 1, 1});
    auto counts = f.firsts();
    for (const char* region : {"a", "b", "c"}) CHECK(share(counts, region) == Approx(1.0 / 3).margin(0.015));
    CHECK(has_line(f.trace(), "effective weight 1 (configured)"));
    f.board->set_weight(0, 600000);
    f.board->set_weight(1, 400000);
    f.board->set_weight(2, 0);
    counts = f.firsts();
    CHECK(share(counts, "a") == Approx(0.6).margin(0.015));
    CHECK(share(counts, "b") == Approx(0.4).margin(0.015));
    CHECK(share(counts, "c") == 0.0);
    RegionFeedback learned;
    learned.has_latency = true;
    learned.latency_tenths_ms = 234;
    f.board->set_region(0, learned);
    CHECK(has_line(f.trace(),
                   "  a: latency EWMA 23.4 ms, capacity factor 1.00, load factor 1.00, effective weight 60.0 %"));
}

TEST_CASE("a region with a capacity shows its factors in the trace", "[steer]") {
    Fixture f(Strategy::failover);
    f.policy.regions[0].capacity = 100;
    f.factors(0, 250, 1000);
    CHECK(has_line(f.trace(), "  a: latency EWMA none yet, capacity factor 0.25, load factor 1.00"));
}

TEST_CASE("spill and learned weights allocate nothing on the query path", "[steer]") {
    for (const Strategy strategy : {Strategy::failover, Strategy::weighted, Strategy::adaptive, Strategy::all}) {
        CAPTURE(meridian::steer::to_string(strategy));
        Fixture f(strategy, {2, 1, 1});
        f.factors(0, 400, 900);  // a spills most of its answers
        f.factors(1, 1000, 0);   // b sheds everything
        f.board->set_weight(0, 500000);
        f.board->set_weight(1, 250000);
        f.board->set_weight(2, 250000);
        Random random(3);
        ClientAddress client;
        client.address = *meridian::geo::parse_address("192.0.2.77");
        client.source_prefix = 32;
        const auto once = [&] {
            return meridian::steer::decide(f.policy, {nullptr, f.board.get()}, f.name, meridian::dns::rrtype::A,
                                           client, nullptr, &random, nullptr);
        };
        once();  // warm up
        const std::size_t before = meridian::test::allocation_count();
        for (int i = 0; i < 1000; ++i) REQUIRE(once().count >= 1);
        CHECK(meridian::test::allocation_count() - before == 0);
    }
}

// ---- strategy cost ---------------------------------------------------------------------------

namespace {

// Three CDNs: a costs 0.02/GB at 0.5 GB per answer (0.01 per answer), b 0.008 per answer, c a rank of 5.
Fixture cost_fixture() {
    Fixture f(Strategy::cost);
    auto& a = f.policy.regions[0];
    a.has_cost = true;
    a.cost = 0.02;
    a.cost_unit = meridian::steer::CostUnit::gb;
    a.gb_per_answer = 0.5;
    auto& b = f.policy.regions[1];
    b.has_cost = true;
    b.cost = 0.008;
    b.cost_unit = meridian::steer::CostUnit::answer;
    auto& c = f.policy.regions[2];
    c.has_cost = true;
    c.cost = 5;
    return f;
}

}  // namespace

TEST_CASE("cost: the cheapest candidate per answer answers, whatever the order written", "[steer][cost]") {
    Fixture f = cost_fixture();
    CHECK(f.policy.regions[0].cost_per_answer() == Approx(0.01));
    CHECK(f.policy.regions[0].volume_per_answer() == Approx(0.5));
    CHECK(f.firsts() == std::map<std::string, int>{{"b", kDraws}});
}

TEST_CASE("cost: a region whose commit is used up goes after those with room, still by price", "[steer][cost]") {
    Fixture f = cost_fixture();
    RegionFeedback used;
    used.is_commit_used = true;
    f.board->set_region(1, used);
    CHECK(f.firsts() == std::map<std::string, int>{{"a", kDraws}});
    f.board->set_region(0, used);
    CHECK(f.firsts() == std::map<std::string, int>{{"c", kDraws}});
    f.board->set_region(2, used);
    CHECK(f.firsts() == std::map<std::string, int>{{"b", kDraws}});  // every commit used: price again
}

TEST_CASE("cost: a cheap region over its capacity spills the surplus to the next cheapest", "[steer][cost]") {
    Fixture f = cost_fixture();
    f.factors(1, 750, 1000);  // b takes three answers in four
    const auto firsts = f.firsts();
    CHECK(firsts.at("b") == Approx(0.75 * kDraws).margin(0.02 * kDraws));
    CHECK(firsts.at("a") == Approx(0.25 * kDraws).margin(0.02 * kDraws));
    CHECK(firsts.count("c") == 0);
}

TEST_CASE("cost: the trace shows each candidate's cost per answer and a used-up commit", "[steer][cost]") {
    Fixture f = cost_fixture();
    RegionFeedback used;
    used.is_commit_used = true;
    f.board->set_region(1, used);
    Trace trace;
    Random random(1);
    ClientAddress client;
    client.address = *meridian::geo::parse_address("192.0.2.77");
    client.source_prefix = 32;
    meridian::steer::decide(f.policy, {nullptr, f.board.get()}, f.name, meridian::dns::rrtype::A, client, nullptr,
                            &random, &trace);
    const auto has = [&](const std::string& text) {
        return std::any_of(trace.lines.begin(), trace.lines.end(),
                           [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    CHECK(has("cost of a: 0.01 per answer"));
    CHECK(has("cost of b: 0.008 per answer, commit used up: after the others"));
    CHECK(has("cost of c: 5 per answer"));
}

TEST_CASE("cost: the commit bit survives the board's round trip beside the other fields", "[steer][cost]") {
    FeedbackBoard board(1, 0);
    RegionFeedback f;
    f.capacity_factor = 1000;
    f.load_factor = 3;
    f.has_latency = true;
    f.latency_tenths_ms = 0xFFFFFFFFu;
    f.is_commit_used = true;
    board.set_region(0, f);
    const RegionFeedback back = board.region(0);
    CHECK(back.is_commit_used);
    CHECK(back.latency_tenths_ms == 0xFFFFFFFFu);
    CHECK(back.load_factor == 3);
    f.is_commit_used = false;
    board.set_region(0, f);
    CHECK_FALSE(board.region(0).is_commit_used);
}

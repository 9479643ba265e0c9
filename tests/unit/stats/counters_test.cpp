// Tests for stats/counters: query types and rcodes folded into buckets with their names, per-zone
// counters sharded by worker and summed on read, and steered answers per name, route (with a slot
// for fail-policy answers) and region.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dns/wire.hpp"
#include "stats/counters.hpp"

using meridian::stats::kMaxWorkers;
using meridian::stats::kQtypes;
using meridian::stats::kRcodes;
using meridian::stats::name_of;
using meridian::stats::QtypeBucket;
using meridian::stats::qtype_bucket;
using meridian::stats::RcodeBucket;
using meridian::stats::rcode_bucket;
using meridian::stats::SteerStats;
using meridian::stats::ZoneStats;
namespace rrtype = meridian::dns::rrtype;
namespace rcode = meridian::dns::rcode;

TEST_CASE("qtype_bucket: the common types have their own bucket and name, every other type is \"other\"", "[stats]") {
    struct Row {
        uint16_t qtype;
        QtypeBucket bucket;
        std::string_view name;
    };
    const Row rows[] = {
        {rrtype::A, QtypeBucket::A, "A"},
        {rrtype::AAAA, QtypeBucket::AAAA, "AAAA"},
        {rrtype::CNAME, QtypeBucket::CNAME, "CNAME"},
        {rrtype::MX, QtypeBucket::MX, "MX"},
        {rrtype::TXT, QtypeBucket::TXT, "TXT"},
        {rrtype::NS, QtypeBucket::NS, "NS"},
        {rrtype::SOA, QtypeBucket::SOA, "SOA"},
        {rrtype::SRV, QtypeBucket::SRV, "SRV"},
        {rrtype::PTR, QtypeBucket::PTR, "PTR"},
        {rrtype::CAA, QtypeBucket::CAA, "CAA"},
        {rrtype::HTTPS, QtypeBucket::HTTPS, "HTTPS"},
        {rrtype::SVCB, QtypeBucket::SVCB, "SVCB"},
        {rrtype::ANY, QtypeBucket::ANY, "ANY"},
        {0, QtypeBucket::OTHER, "other"},
        {rrtype::HINFO, QtypeBucket::OTHER, "other"},
        {rrtype::DS, QtypeBucket::OTHER, "other"},
        {rrtype::AXFR, QtypeBucket::OTHER, "other"},
        {rrtype::OPT, QtypeBucket::OTHER, "other"},
        {99, QtypeBucket::OTHER, "other"},
        {65535, QtypeBucket::OTHER, "other"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.qtype);
        CHECK(qtype_bucket(row.qtype) == row.bucket);
        CHECK(name_of(qtype_bucket(row.qtype)) == row.name);
    }
}

TEST_CASE("rcode_bucket: the rcodes an authoritative server sends have their own bucket, the rest \"other\"",
          "[stats]") {
    struct Row {
        uint16_t rcode;
        RcodeBucket bucket;
        std::string_view name;
    };
    const Row rows[] = {
        {rcode::NOERROR, RcodeBucket::NOERROR, "NOERROR"},   {rcode::NXDOMAIN, RcodeBucket::NXDOMAIN, "NXDOMAIN"},
        {rcode::REFUSED, RcodeBucket::REFUSED, "REFUSED"},   {rcode::FORMERR, RcodeBucket::FORMERR, "FORMERR"},
        {rcode::SERVFAIL, RcodeBucket::SERVFAIL, "SERVFAIL"}, {rcode::NOTIMP, RcodeBucket::NOTIMP, "NOTIMP"},
        {rcode::BADVERS, RcodeBucket::BADVERS, "BADVERS"},   {6, RcodeBucket::OTHER, "other"},
        {9, RcodeBucket::OTHER, "other"},                    {15, RcodeBucket::OTHER, "other"},
        {17, RcodeBucket::OTHER, "other"},                   {4095, RcodeBucket::OTHER, "other"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.rcode);
        CHECK(rcode_bucket(row.rcode) == row.bucket);
        CHECK(name_of(rcode_bucket(row.rcode)) == row.name);
    }
}

TEST_CASE("every bucket has a distinct, non-empty name", "[stats]") {
    std::set<std::string_view> qtype_names;
    for (std::size_t i = 0; i < kQtypes; ++i) {
        const std::string_view n = name_of(static_cast<QtypeBucket>(i));
        CHECK_FALSE(n.empty());
        qtype_names.insert(n);
    }
    CHECK(qtype_names.size() == kQtypes);
    std::set<std::string_view> rcode_names;
    for (std::size_t i = 0; i < kRcodes; ++i) {
        const std::string_view n = name_of(static_cast<RcodeBucket>(i));
        CHECK_FALSE(n.empty());
        rcode_names.insert(n);
    }
    CHECK(rcode_names.size() == kRcodes);
}

TEST_CASE("ZoneStats: each worker counts in its own shard and the totals sum every shard", "[stats]") {
    auto stats = std::make_unique<ZoneStats>(kMaxWorkers);
    CHECK(stats->qtype_total(QtypeBucket::A) == 0);
    CHECK(stats->rcode_total(RcodeBucket::NOERROR) == 0);

    stats->shard(0).by_qtype[static_cast<std::size_t>(QtypeBucket::A)].add();
    stats->shard(1).by_qtype[static_cast<std::size_t>(QtypeBucket::A)].add(4);
    stats->shard(kMaxWorkers - 1).by_qtype[static_cast<std::size_t>(QtypeBucket::A)].add(10);
    stats->shard(2).by_qtype[static_cast<std::size_t>(QtypeBucket::AAAA)].add(7);
    stats->shard(3).by_rcode[static_cast<std::size_t>(RcodeBucket::NXDOMAIN)].add(2);
    CHECK(stats->qtype_total(QtypeBucket::A) == 15);
    CHECK(stats->qtype_total(QtypeBucket::AAAA) == 7);
    CHECK(stats->qtype_total(QtypeBucket::MX) == 0);
    CHECK(stats->rcode_total(RcodeBucket::NXDOMAIN) == 2);
    CHECK(stats->rcode_total(RcodeBucket::NOERROR) == 0);
    CHECK(&stats->shard(1) != &stats->shard(2));
    // Every worker the config allows has a shard of its own: none is shared (sharing lost counts).
    std::set<const ZoneStats::Shard*> shards;
    for (unsigned w = 0; w < kMaxWorkers; ++w) shards.insert(&stats->shard(w));
    CHECK(shards.size() == kMaxWorkers);
    CHECK(ZoneStats(kMaxWorkers + 10).workers() == kMaxWorkers);
}

TEST_CASE("ZoneStats: workers on their own threads, counted once each, add up exactly", "[stats]") {
    constexpr unsigned kThreads = 8;
    auto stats = std::make_unique<ZoneStats>(kThreads);
    constexpr int kQueries = 20000;
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < kThreads; ++w) {
        workers.emplace_back([&stats, w] {
            ZoneStats::Shard& shard = stats->shard(w);
            for (int i = 0; i < kQueries; ++i) {
                shard.by_qtype[static_cast<std::size_t>(i % 2 == 0 ? QtypeBucket::A : QtypeBucket::AAAA)].add();
                shard.by_rcode[static_cast<std::size_t>(RcodeBucket::NOERROR)].add();
            }
        });
    }
    for (std::thread& t : workers) t.join();
    CHECK(stats->qtype_total(QtypeBucket::A) == kThreads * kQueries / 2);
    CHECK(stats->qtype_total(QtypeBucket::AAAA) == kThreads * kQueries / 2);
    CHECK(stats->rcode_total(RcodeBucket::NOERROR) == kThreads * kQueries);
}

TEST_CASE("SteerStats counts answers per name and route, fail-policy answers in route -1, and per region",
          "[stats]") {
    // Name 0 has 2 routes, name 1 none (only fail-policy answers), name 2 has 3; 4 regions.
    SteerStats stats({2, 0, 3}, 4);
    const uint32_t r0_r2[] = {0, 2};
    const uint32_t r1[] = {1};
    const uint32_t r3[] = {3};

    stats.count(0, 0, r0_r2, 2);
    stats.count(0, 1, r1, 1);
    stats.count(0, 1, r1, 1);
    stats.count(0, -1, nullptr, 0);  // fail closed: no region
    stats.count(1, -1, r3, 1);       // fail to a region
    stats.count(2, 2, r0_r2, 2);
    stats.count(2, 0, r3, 1);

    struct Row {
        std::size_t name;
        int route;
        uint64_t answers;
    };
    for (const Row row : {Row{0, 0, 1}, Row{0, 1, 2}, Row{0, -1, 1}, Row{1, -1, 1}, Row{2, 0, 1}, Row{2, 1, 0},
                          Row{2, 2, 1}, Row{2, -1, 0}}) {
        CAPTURE(row.name, row.route);
        CHECK(stats.route_answers(row.name, row.route) == row.answers);
    }
    CHECK(stats.region_answers(0) == 2);
    CHECK(stats.region_answers(1) == 2);
    CHECK(stats.region_answers(2) == 2);
    CHECK(stats.region_answers(3) == 2);
}

TEST_CASE("SteerStats ignores names and regions out of range", "[stats]") {
    SteerStats stats({1, 1}, 2);
    const uint32_t regions[] = {0, 1};
    const uint32_t out_of_range[] = {2, 1000};

    stats.count(2, 0, regions, 2);
    stats.count(1000, -1, regions, 2);
    CHECK(stats.route_answers(2, 0) == 0);
    CHECK(stats.route_answers(1000, -1) == 0);
    CHECK(stats.route_answers(0, 0) == 0);
    CHECK(stats.route_answers(1, 0) == 0);
    CHECK(stats.route_answers(1, -1) == 0);
    CHECK(stats.region_answers(0) == 0);  // an ignored name counts no region either
    CHECK(stats.region_answers(1) == 0);

    stats.count(1, 0, out_of_range, 2);
    CHECK(stats.route_answers(1, 0) == 1);
    CHECK(stats.region_answers(0) == 0);
    CHECK(stats.region_answers(1) == 0);
}

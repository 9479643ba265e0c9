// tools/bench: the query set of a run, read from a file or generated, each query with what a
// right answer looks like.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "wire.hpp"

namespace bench {

// IPv4 networks of a Meridian geo CSV (geoip/test-geo.csv) with their continent.
class GeoTable {
public:
    bool load(const std::string& path, std::string* error);
    // The continent of the longest network holding the address, "" when none does.
    std::string continent_of(uint32_t address) const;
    struct Row {
        uint32_t network = 0;
        unsigned prefix = 0;
        std::string continent;
    };
    const std::vector<Row>& rows() const { return rows_; }

private:
    std::vector<Row> rows_;
};

// Which address a steered name answers for a continent: "EU=192.0.2.110,NA=...,*=...".
struct SteerMap {
    std::vector<std::pair<std::string, uint32_t>> by_continent;
    uint32_t fallback = 0;
    bool parse(const std::string& text, std::string* error);
    uint32_t pick(const std::string& continent) const;
};

// What a right answer looks like. rcode < 0: any. The answer's A records must be non-empty and
// all in a_any_of when that is set; by_source: the one address the steer map gives for the
// continent of the query's source address. signed_answer (DO queries): the answer carries
// RRSIGs: one covering A in the answer section when A records are expected, else one in the
// authority section (the denial's); no_a: the answer section holds no A record (a denial, be
// it NXDOMAIN or the NOERROR of compact or minimally covering denial).
struct Expectation {
    int rcode = -1;
    bool by_source = false;
    std::vector<uint32_t> a_any_of;
    bool signed_answer = false;
    bool no_a = false;

    bool operator==(const Expectation&) const = default;
};

struct Template {
    uint32_t offset = 0;  // into QuerySet::pool
    uint16_t size = 0;
    uint16_t question_end = 0;
    int8_t rcode = -1;    // the expected rcode (cheap check while timing), -1: any
    bool dnssec = false;  // DO set: answers without an RRSIG are counted while timing
    uint32_t expectation = 0;
    std::string text;  // "name type [subnet]" for messages and query files
};

class QuerySet {
public:
    bool add(const QuerySpec& spec, Expectation expect, std::string* error);
    std::span<const uint8_t> bytes(std::size_t i) const { return {pool_.data() + items_[i].offset, items_[i].size}; }
    const Template& at(std::size_t i) const { return items_[i]; }
    const Expectation& expectation(std::size_t i) const { return expectations_[items_[i].expectation]; }
    std::size_t size() const { return items_.size(); }
    std::size_t max_size() const { return max_size_; }

private:
    std::vector<uint8_t> pool_;
    std::vector<Template> items_;
    std::vector<Expectation> expectations_;
    std::size_t max_size_ = 0;
};

struct GenOptions {
    std::string zone = "bench.example.com";
    uint32_t static_a = 0xc000020a;  // 192.0.2.10
    SteerMap steer;
    const GeoTable* geo = nullptr;
    unsigned nx_names = 100000;
    unsigned subnets_per_network = 16;
    uint64_t seed = 1;  // of the nxdomain names: another seed, other names
    bool edns = true;
};

// Workloads: "static" (www A), "ecs" (app A with ECS subnets of every continent in the geo
// CSV, plus a few it does not hold), "noecs" (app A; the source address decides), "nxdomain"
// (distinct random names under the zone). "signed-" before any of them: the same queries with
// DO set, whose answers must be signed (signed-nxdomain: any rcode, no A, an RRSIG in the
// authority section). Several may be joined with '+'.
bool generate_queries(const std::string& kind, const GenOptions& options, QuerySet* out, std::string* error);

// One query a line: `name type [ecs-subnet] [noedns] [do] [rcode=RCODE] [a=ADDR,ADDR...|a=@source]`
// (`do`: DO set, the answer must be signed).
bool load_query_file(const std::string& path, const SteerMap& steer, bool edns, QuerySet* out, std::string* error);

}  // namespace bench

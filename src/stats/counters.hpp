// Query counters, cheap enough for the query path: each worker writes only its own shard (a
// relaxed load and store, no locked instruction), readers sum the shards. Steered-answer
// counters are shared per name and use relaxed atomic adds.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace meridian::stats {

// Worker threads a server may run: the config's upper bound for `workers` (config::kSchema), so
// every worker has a shard of its own in every ZoneStats.
inline constexpr std::size_t kMaxWorkers = 256;

// A counter with one writer thread.
class Counter {
public:
    void add(uint64_t n = 1) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

enum class QtypeBucket : uint8_t { A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, CAA, HTTPS, SVCB, ANY, OTHER, COUNT };
enum class RcodeBucket : uint8_t { NOERROR, NXDOMAIN, REFUSED, FORMERR, SERVFAIL, NOTIMP, BADVERS, OTHER, COUNT };

QtypeBucket qtype_bucket(uint16_t qtype) noexcept;
RcodeBucket rcode_bucket(uint16_t rcode) noexcept;
std::string_view name_of(QtypeBucket bucket) noexcept;
std::string_view name_of(RcodeBucket bucket) noexcept;

inline constexpr std::size_t kQtypes = static_cast<std::size_t>(QtypeBucket::COUNT);
inline constexpr std::size_t kRcodes = static_cast<std::size_t>(RcodeBucket::COUNT);

// Per zone, one shard per worker: a shard has one writer, so its counters need no locked add.
class ZoneStats {
public:
    struct alignas(64) Shard {
        std::array<Counter, kQtypes> by_qtype;
        std::array<Counter, kRcodes> by_rcode;
    };
    // `workers`: 1 … kMaxWorkers, the server's worker count.
    explicit ZoneStats(std::size_t workers);

    std::size_t workers() const noexcept { return workers_; }
    // `worker` < workers(): two workers never share a shard (a shared one would lose counts).
    Shard& shard(unsigned worker) noexcept {
        assert(worker < workers_);
        return shards_[worker];
    }
    uint64_t qtype_total(QtypeBucket b) const noexcept;
    uint64_t rcode_total(RcodeBucket b) const noexcept;

private:
    std::size_t workers_;
    std::unique_ptr<Shard[]> shards_;
};

// Per zone policy: answers per steered name and route, per region.
class SteerStats {
public:
    // `routes_per_name[i]`: how many routes name i has; one more slot counts fail-policy answers.
    SteerStats(const std::vector<std::size_t>& routes_per_name, std::size_t regions);

    void count(std::size_t name, int route, const uint32_t* regions, std::size_t region_count) noexcept;
    uint64_t route_answers(std::size_t name, int route) const noexcept;  // route -1: fail policy
    uint64_t region_answers(std::size_t region) const noexcept {
        return regions_[region].load(std::memory_order_relaxed);
    }

private:
    std::vector<std::size_t> first_slot_;  // per name, into routes_
    std::vector<std::size_t> route_count_;
    std::unique_ptr<std::atomic<uint64_t>[]> routes_;
    std::unique_ptr<std::atomic<uint64_t>[]> regions_;
    std::size_t region_count_;
};

// Server-wide counters of one worker.
struct alignas(64) WorkerStats {
    std::array<Counter, 2> queries;  // by transport: 0 udp, 1 tcp
    std::array<std::array<Counter, kRcodes>, 2> rcodes;
    Counter dropped;        // no answer at all (runts, QR=1)
    Counter malformed;      // FORMERR
    Counter truncated;      // TC=1 sent
    Counter ecs;            // steered answers located by ECS …
    Counter source;         // … or by the packet source
    Counter send_failed;    // replies the socket would not take
    Counter rrl_dropped;    // responses rate limiting withheld …
    Counter rrl_slipped;    // … or sent truncated
    Counter tcp_refused;    // connections closed at once: over a connection cap
    Counter udp_overloads;  // times a UDP receive queue stayed full long enough to be shrunk
};

}  // namespace meridian::stats

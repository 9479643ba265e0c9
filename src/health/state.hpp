// The health of a region as answers see it, and the packed form workers read without locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace meridian::health {

enum class State : uint8_t { healthy = 0, degraded = 1, unhealthy = 2 };

const char* to_string(State state) noexcept;

// What an operator forced on a region through the admin API (a later issue); none by default.
enum class Override : uint8_t { none = 0, force_up = 1, force_down = 2, drain = 3 };

struct RegionHealth {
    State state = State::healthy;
    bool has_measurement = false;  // latency and success come from real probes
    uint32_t latency_ms = 0;       // mean over the window, successful probes only
    uint16_t success_permille = 1000;
    bool has_load = false;
    uint32_t load_centi = 0;  // reported load × 100 (least_loaded)
    Override override = Override::none;
    // Regions whose addresses are judged one by one (members): written by the health monitor
    // into the region's slot, so that a decision reads one word per candidate.
    bool is_ipv4_pruned = false;  // an IPv4 address was left out for its health or its source's word
    bool is_ipv6_pruned = false;  // … an IPv6 address
    bool lacks_ipv4 = false;      // no IPv4 member can be answered (the region cannot answer A)
    bool lacks_ipv6 = false;      // … nor AAAA

    // Answers of this family leave an address out.
    bool is_member_pruned(bool is_ipv6) const noexcept { return is_ipv6 ? is_ipv6_pruned : is_ipv4_pruned; }
};

// How fit a member (one address of a region) is to be answered: 0 answerable, 1 held back while
// an answerable one remains (degraded, a standby), 2 left out (unhealthy, drained, forced down).
// Answers and the health monitor's aggregation judge members by this one rule.
unsigned member_tier(const RegionHealth& h) noexcept;

// One slot per region of a zone: written by the control thread after each probe, read by workers
// with one relaxed atomic load (a torn read is impossible: the whole state is one 64-bit word).
class HealthBoard {
public:
    explicit HealthBoard(std::size_t slots);

    std::size_t size() const noexcept { return size_; }
    RegionHealth read(std::size_t slot) const noexcept;
    void write(std::size_t slot, const RegionHealth& health) noexcept;

private:
    std::size_t size_;
    std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

}  // namespace meridian::health

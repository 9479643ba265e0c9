#include "health/state.hpp"

namespace meridian::health {

const char* to_string(State state) noexcept {
    switch (state) {
    case State::healthy: return "healthy";
    case State::degraded: return "degraded";
    case State::unhealthy: return "unhealthy";
    }
    return "?";
}

unsigned member_tier(const RegionHealth& h) noexcept {
    if (h.override == Override::force_up) return 0;
    if (h.override != Override::none || h.state == State::unhealthy) return 2;
    return h.state == State::healthy ? 0 : 1;
}

namespace {

// Layout of a slot, low bits first: state 2, has_measurement 1, override 2, has_load 1,
// success_permille 10, latency_ms 20, load_centi 24, is_ipv4_pruned 1, lacks_ipv4 1,
// lacks_ipv6 1, is_ipv6_pruned 1 = 64 bits.
constexpr uint64_t kLatencyMax = (1u << 20) - 1;
constexpr uint64_t kLoadMax = (1u << 24) - 1;

uint64_t pack(const RegionHealth& h) noexcept {
    const uint64_t latency = h.latency_ms < kLatencyMax ? h.latency_ms : kLatencyMax;
    const uint64_t load = h.load_centi < kLoadMax ? h.load_centi : kLoadMax;
    const uint64_t success = h.success_permille <= 1000 ? h.success_permille : 1000;
    return uint64_t{static_cast<uint8_t>(h.state)} | (uint64_t{h.has_measurement} << 2) |
           (uint64_t{static_cast<uint8_t>(h.override)} << 3) | (uint64_t{h.has_load} << 5) | (success << 6) |
           (latency << 16) | (load << 36) | (uint64_t{h.is_ipv4_pruned} << 60) | (uint64_t{h.lacks_ipv4} << 61) |
           (uint64_t{h.lacks_ipv6} << 62) | (uint64_t{h.is_ipv6_pruned} << 63);
}

RegionHealth unpack(uint64_t word) noexcept {
    RegionHealth h;
    h.state = static_cast<State>(word & 3u);
    h.has_measurement = ((word >> 2) & 1u) != 0;
    h.override = static_cast<Override>((word >> 3) & 3u);
    h.has_load = ((word >> 5) & 1u) != 0;
    h.success_permille = static_cast<uint16_t>((word >> 6) & 0x3FFu);
    h.latency_ms = static_cast<uint32_t>((word >> 16) & kLatencyMax);
    h.load_centi = static_cast<uint32_t>((word >> 36) & kLoadMax);
    h.is_ipv4_pruned = ((word >> 60) & 1u) != 0;
    h.is_ipv6_pruned = ((word >> 63) & 1u) != 0;
    h.lacks_ipv4 = ((word >> 61) & 1u) != 0;
    h.lacks_ipv6 = ((word >> 62) & 1u) != 0;
    return h;
}

}  // namespace

HealthBoard::HealthBoard(std::size_t slots) : size_(slots), slots_(std::make_unique<std::atomic<uint64_t>[]>(slots)) {
    for (std::size_t i = 0; i < slots; ++i) slots_[i].store(pack(RegionHealth{}), std::memory_order_relaxed);
}

RegionHealth HealthBoard::read(std::size_t slot) const noexcept {
    return unpack(slots_[slot].load(std::memory_order_relaxed));
}

void HealthBoard::write(std::size_t slot, const RegionHealth& health) noexcept {
    slots_[slot].store(pack(health), std::memory_order_relaxed);
}

}  // namespace meridian::health

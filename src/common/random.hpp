// A small, fast generator for weighted choices: one per worker thread, seeded once, so the query
// path neither locks nor allocates. Tests seed it to be deterministic.
#pragma once

#include <cstdint>

namespace meridian {

class Random {
public:
    explicit Random(uint64_t seed) noexcept : state_(seed != 0 ? seed : 0x9E3779B97F4A7C15ull) {}

    // xorshift64* (Vigna): good enough statistics for traffic shares, one multiply per draw.
    uint64_t next() noexcept {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1Dull;
    }
    // Uniform in [0, bound).
    uint64_t below(uint64_t bound) noexcept { return bound == 0 ? 0 : next() % bound; }

private:
    uint64_t state_;
};

}  // namespace meridian

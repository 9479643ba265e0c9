// FNV-1a, 64 bits: the one byte-mixing hash behind region-name hashes, sticky client hashing and
// the per-source tables of rate limiting and TCP admission. Not for untrusted keys that can
// choose collisions cheaply where that matters more than speed; no allocation.
#pragma once

#include <cstdint>

namespace meridian {

class Fnv1a {
public:
    static constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ull;

    explicit Fnv1a(uint64_t seed = kOffsetBasis) noexcept : h_(seed) {}

    void mix(uint8_t byte) noexcept {
        h_ ^= byte;
        h_ *= 0x100000001b3ull;
    }
    uint64_t value() const noexcept { return h_; }

private:
    uint64_t h_;
};

}  // namespace meridian

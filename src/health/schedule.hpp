// When a probe runs next: every interval, moved by up to ±jitter so that probes of many targets
// do not fire in step. Pure, so tests drive it with their own clock and generator.
#pragma once

#include <cstdint>

#include "common/random.hpp"

namespace meridian::health {

inline uint32_t next_delay_ms(uint32_t interval_ms, uint32_t jitter_ms, Random* random) noexcept {
    if (jitter_ms == 0) return interval_ms;
    const uint64_t offset = random->below(2ull * jitter_ms + 1);  // 0 … 2 × jitter
    return static_cast<uint32_t>(interval_ms - jitter_ms + offset);
}

}  // namespace meridian::health

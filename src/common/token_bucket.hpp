// A token bucket on an injected clock (milliseconds): `rate` tokens per second up to `burst`.
// Plain data, no allocation, one owner thread.
#pragma once

#include <algorithm>
#include <cstdint>

namespace meridian {

class TokenBucket {
public:
    TokenBucket() = default;
    TokenBucket(double rate_per_second, double burst) noexcept
        : rate_(rate_per_second), burst_(burst), tokens_(burst) {}

    // Takes one token if there is one at `now_ms`.
    bool take(uint64_t now_ms) noexcept {
        refill(now_ms);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }
    void refill(uint64_t now_ms) noexcept {
        if (now_ms > last_ms_)
            tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_ / 1000.0);
        last_ms_ = std::max(last_ms_, now_ms);
    }

private:
    double rate_ = 0;
    double burst_ = 0;
    double tokens_ = 0;
    uint64_t last_ms_ = 0;
};

}  // namespace meridian

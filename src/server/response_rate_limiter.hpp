// Response rate limiting (RRL) for UDP, per source prefix (as Knot and NSD do): each /24 (IPv4)
// or /56 (IPv6) gets `rate` responses per second; over that, every `slip`-th response goes out
// truncated (TC=1, so a real client retries over TCP, which a spoofed one cannot) and the rest
// are dropped. One table per worker, fixed size, no locks, no allocation per packet.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/token_bucket.hpp"
#include "geo/address.hpp"

namespace meridian::server {

struct RrlSettings {
    bool is_enabled = false;
    uint32_t responses_per_second = 20;
    uint32_t burst = 40;
    uint32_t slip = 2;  // every slip-th limited response is sent truncated; 0: drop them all
    uint8_t ipv4_prefix = 24;
    uint8_t ipv6_prefix = 56;
    std::vector<geo::Network> exempt;
};

enum class RrlVerdict : uint8_t { send, slip, drop };

class ResponseRateLimiter {
public:
    explicit ResponseRateLimiter(RrlSettings settings);

    RrlVerdict judge(const geo::IpAddress& source, uint64_t now_ms) noexcept;
    const RrlSettings& settings() const noexcept { return settings_; }

private:
    struct Entry {
        std::array<uint8_t, 16> prefix{};
        uint8_t family = 0;
        uint32_t limited = 0;  // limited responses so far, for slip
        TokenBucket bucket;
    };
    static constexpr std::size_t kEntries = 16384;  // a power of two

    RrlSettings settings_;
    std::unique_ptr<Entry[]> table_;
};

// Turns a response into its truncated form in place: header and question only, TC=1.
// Returns the new size (0 when the response has no parsable question).
std::size_t truncate_response(uint8_t* response, std::size_t size) noexcept;

}  // namespace meridian::server

#include "server/response_rate_limiter.hpp"

#include <algorithm>

#include "common/fnv1a.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"

namespace meridian::server {

ResponseRateLimiter::ResponseRateLimiter(RrlSettings settings)
    : settings_(std::move(settings)), table_(std::make_unique<Entry[]>(kEntries)) {}

RrlVerdict ResponseRateLimiter::judge(const geo::IpAddress& source, uint64_t now_ms) noexcept {
    if (!settings_.is_enabled || !source.is_valid()) return RrlVerdict::send;
    for (const geo::Network& n : settings_.exempt) {
        if (n.contains(source)) return RrlVerdict::send;
    }
    // The source's prefix is the key: one spoofed /24 cannot exhaust another's budget.
    const unsigned bits = source.family == 4 ? settings_.ipv4_prefix : settings_.ipv6_prefix;
    const std::array<uint8_t, 16> prefix = geo::masked(source, bits).bytes;
    Fnv1a hash(Fnv1a::kOffsetBasis ^ source.family);
    for (const uint8_t b : prefix) hash.mix(b);
    Entry& e = table_[hash.value() & (kEntries - 1)];
    if (e.family != source.family || e.prefix != prefix) {
        // A new prefix takes the slot over (a collision only forgets an old budget).
        e.family = source.family;
        e.prefix = prefix;
        e.limited = 0;
        e.bucket = TokenBucket(settings_.responses_per_second, std::max<uint32_t>(settings_.burst, 1));
        e.bucket.refill(now_ms);
    }
    if (e.bucket.take(now_ms)) return RrlVerdict::send;
    ++e.limited;
    return settings_.slip != 0 && e.limited % settings_.slip == 0 ? RrlVerdict::slip : RrlVerdict::drop;
}

std::size_t truncate_response(uint8_t* response, std::size_t size) noexcept {
    if (size < dns::kHeaderSize) return 0;
    std::size_t end = dns::kHeaderSize;
    if (dns::read_u16(response + 4) == 1) {
        if (dns::skip_name(response, size, &end) != dns::NameError::none || size - end < 4) return 0;
        end += 4;
    }
    dns::write_u16(response + 2, static_cast<uint16_t>(dns::read_u16(response + 2) | dns::flag::TC));
    dns::write_u16(response + 6, 0);
    dns::write_u16(response + 8, 0);
    dns::write_u16(response + 10, 0);
    return end;
}

}  // namespace meridian::server

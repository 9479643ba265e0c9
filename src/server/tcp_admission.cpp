#include "server/tcp_admission.hpp"

#include "common/fnv1a.hpp"
#include "geo/address.hpp"

namespace meridian::server {

std::size_t TcpAdmission::bucket_of(const sockaddr* peer) noexcept {
    const geo::IpAddress a = geo::from_sockaddr(peer);
    const std::size_t bytes = a.family == 4 ? 4 : 8;  // an IPv6 client usually owns a whole /64
    Fnv1a hash(Fnv1a::kOffsetBasis ^ a.family);
    for (std::size_t i = 0; i < bytes; ++i) hash.mix(a.bytes[i]);
    return hash.value() % kBuckets;
}

int TcpAdmission::admit(const sockaddr* peer) noexcept {
    if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
        total_.fetch_sub(1, std::memory_order_relaxed);
        return -1;
    }
    const std::size_t bucket = bucket_of(peer);
    if (per_source_[bucket].fetch_add(1, std::memory_order_relaxed) >= max_per_source_) {
        per_source_[bucket].fetch_sub(1, std::memory_order_relaxed);
        total_.fetch_sub(1, std::memory_order_relaxed);
        return -1;
    }
    return static_cast<int>(bucket);
}

void TcpAdmission::release(int ticket) noexcept {
    if (ticket < 0) return;
    per_source_[static_cast<std::size_t>(ticket)].fetch_sub(1, std::memory_order_relaxed);
    total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace meridian::server

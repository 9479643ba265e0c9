// Caps on TCP connections shared by every worker: in total, and per source address (per /64 for
// IPv6), so that one client cannot take every slot. Lock-free counters; a source's count lives
// in a hashed bucket, so two sources that collide share a cap (they only ever get less).
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace meridian::server {

class TcpAdmission {
public:
    TcpAdmission(uint32_t max_total, uint32_t max_per_source) noexcept
        : max_total_(max_total), max_per_source_(max_per_source) {}

    // A ticket is the bucket a connection counts in, or -1 when it was refused.
    int admit(const sockaddr* peer) noexcept;
    void release(int ticket) noexcept;
    uint32_t open() const noexcept { return total_.load(std::memory_order_relaxed); }

private:
    static constexpr std::size_t kBuckets = 4096;
    static std::size_t bucket_of(const sockaddr* peer) noexcept;

    uint32_t max_total_;
    uint32_t max_per_source_;
    std::atomic<uint32_t> total_{0};
    std::array<std::atomic<uint32_t>, kBuckets> per_source_{};
};

}  // namespace meridian::server

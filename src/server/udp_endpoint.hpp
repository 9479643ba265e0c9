// A UDP socket served in batches: recvmmsg into preallocated slots, answer each, sendmmsg the
// replies from the address each query arrived at. No allocation after construction.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <vector>

#include "server/receive_queue.hpp"

namespace meridian::server {

class Worker;

class UdpEndpoint {
public:
    UdpEndpoint(Worker* worker, int fd);
    ~UdpEndpoint();
    UdpEndpoint(const UdpEndpoint&) = delete;
    UdpEndpoint& operator=(const UdpEndpoint&) = delete;

    void start();
    bool is_overloaded() const noexcept { return governor_.is_overloaded(); }
    void close();  // stops polling and closes the socket once libuv lets go of it

private:
    static constexpr std::size_t kBatch = 32;
    static constexpr std::size_t kQueryBufferSize = 4096;  // larger queries are not plausible
    static constexpr std::size_t kControlSize = 64;        // room for one IP(V6)_PKTINFO

    static void on_readable(uv_poll_t* handle, int status, int events);
    static void on_busy(uv_idle_t* handle);
    bool serve_batches() noexcept;  // a few batches; true when more datagrams may be waiting
    bool serve_batch() noexcept;    // true when more datagrams may be waiting

    Worker* worker_;
    int fd_;
    ReceiveQueueGovernor governor_;
    uv_poll_t poll_{};  // watches the socket while its queue runs dry now and then …
    uv_idle_t busy_{};  // … and reads it on every turn of the loop while it stays full
    int closed_handles_ = 0;
    std::vector<uint8_t> queries_;    // kBatch × kQueryBufferSize
    std::vector<uint8_t> responses_;  // kBatch × 65535
    std::array<mmsghdr, kBatch> in_{};
    std::array<mmsghdr, kBatch> out_{};
    std::array<iovec, kBatch> in_iov_{};
    std::array<iovec, kBatch> out_iov_{};
    std::array<sockaddr_storage, kBatch> peers_{};
    struct alignas(cmsghdr) ControlBuffer {
        uint8_t bytes[kControlSize];
    };
    std::array<ControlBuffer, kBatch> in_control_{};
    std::array<ControlBuffer, kBatch> out_control_{};
};

}  // namespace meridian::server

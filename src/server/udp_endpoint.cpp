#include "server/udp_endpoint.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "answer/answer.hpp"
#include "dns/wire.hpp"
#include "geo/address.hpp"
#include "server/sockets.hpp"
#include "server/worker.hpp"

namespace meridian::server {

namespace {

// Batches served per readiness event before yielding to the loop's other handles.
constexpr int kBatchesPerWakeup = 8;

// Copies the destination address of a received datagram into the control message that makes
// the reply leave from that same address. Returns the control length, 0 when there is none.
std::size_t reply_control(msghdr* received, uint8_t* out, std::size_t out_size) noexcept {
    for (cmsghdr* c = CMSG_FIRSTHDR(received); c != nullptr; c = CMSG_NXTHDR(received, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            in_pktinfo reply{};
            reply.ipi_spec_dst = info.ipi_addr;
            if (CMSG_SPACE(sizeof reply) > out_size) return 0;
            auto* header = reinterpret_cast<cmsghdr*>(out);
            header->cmsg_level = IPPROTO_IP;
            header->cmsg_type = IP_PKTINFO;
            header->cmsg_len = CMSG_LEN(sizeof reply);
            std::memcpy(CMSG_DATA(header), &reply, sizeof reply);
            return CMSG_SPACE(sizeof reply);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            if (CMSG_SPACE(sizeof info) > out_size) return 0;
            auto* header = reinterpret_cast<cmsghdr*>(out);
            header->cmsg_level = IPPROTO_IPV6;
            header->cmsg_type = IPV6_PKTINFO;
            header->cmsg_len = CMSG_LEN(sizeof info);
            std::memcpy(CMSG_DATA(header), &info, sizeof info);  // same address and interface
            return CMSG_SPACE(sizeof info);
        }
    }
    return 0;
}

// A burst buffer no larger than the overload one leaves nothing to adapt, and without the
// kernel's default size there is nothing safe to shrink to.
ReceiveQueueSizes adaptable(ReceiveQueueSizes sizes) noexcept {
    if (sizes.overload == 0 || sizes.burst <= sizes.overload) sizes.interval_ms = 0;
    return sizes;
}

}  // namespace

UdpEndpoint::UdpEndpoint(Worker* worker, int fd)
    : worker_(worker), fd_(fd), governor_(adaptable(worker->limits().udp_receive_queue)),
      queries_(kBatch * kQueryBufferSize), responses_(kBatch * dns::kMaxMessageSize) {
    for (std::size_t i = 0; i < kBatch; ++i) {
        in_iov_[i] = {queries_.data() + i * kQueryBufferSize, kQueryBufferSize};
        out_iov_[i] = {responses_.data() + i * dns::kMaxMessageSize, 0};
    }
    uv_poll_init_socket(worker_->loop(), &poll_, fd_);
    poll_.data = this;
    uv_idle_init(worker_->loop(), &busy_);
    busy_.data = this;
}

UdpEndpoint::~UdpEndpoint() = default;

void UdpEndpoint::start() { uv_poll_start(&poll_, UV_READABLE, on_readable); }

void UdpEndpoint::close() {
    uv_poll_stop(&poll_);
    uv_idle_stop(&busy_);
    // The socket closes once libuv has let go of both handles.
    const auto on_closed = [](uv_handle_t* handle) {
        auto* self = static_cast<UdpEndpoint*>(handle->data);
        if (++self->closed_handles_ == 2) ::close(self->fd_);
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&busy_), on_closed);
}

// Readiness events while the queue runs dry now and then. A socket watched by epoll sits on its
// own wait queue, and then every reply the kernel frees afterwards (sock_wfree) takes that
// queue's lock to offer a wake-up nobody wants: about 0.2 µs per reply. So while the queue
// stays full the socket leaves epoll and is read on every turn of the loop instead (an idle
// handle, which keeps the loop from sleeping), until a read finds it dry again.
void UdpEndpoint::on_readable(uv_poll_t* handle, int status, int /*events*/) {
    if (status < 0) return;
    auto* self = static_cast<UdpEndpoint*>(handle->data);
    if (self->serve_batches()) {
        uv_poll_stop(&self->poll_);
        uv_idle_start(&self->busy_, on_busy);
    }
}

void UdpEndpoint::on_busy(uv_idle_t* handle) {
    auto* self = static_cast<UdpEndpoint*>(handle->data);
    if (!self->serve_batches()) {
        uv_idle_stop(&self->busy_);
        uv_poll_start(&self->poll_, UV_READABLE, on_readable);
    }
}

bool UdpEndpoint::serve_batches() noexcept {
    for (int i = 0; i < kBatchesPerWakeup; ++i) {
        if (!serve_batch()) return false;
    }
    return true;
}

bool UdpEndpoint::serve_batch() noexcept {
    for (std::size_t i = 0; i < kBatch; ++i) {
        msghdr& h = in_[i].msg_hdr;
        h.msg_name = &peers_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &in_iov_[i];
        h.msg_iovlen = 1;
        h.msg_control = in_control_[i].bytes;
        h.msg_controllen = kControlSize;
        h.msg_flags = 0;
        in_[i].msg_len = 0;
    }
    const int received = recvmmsg(fd_, in_.data(), kBatch, MSG_DONTWAIT, nullptr);
    const uint64_t now_ms = uv_now(worker_->loop());
    switch (governor_.observe(received < static_cast<int>(kBatch), now_ms)) {
    case ReceiveQueueGovernor::Resize::none: break;
    case ReceiveQueueGovernor::Resize::to_overload:
        worker_->stats().udp_overloads.add();
        resize_receive_buffer(fd_, governor_.sizes().overload);
        break;
    case ReceiveQueueGovernor::Resize::to_burst: resize_receive_buffer(fd_, governor_.sizes().burst); break;
    }
    if (received <= 0) return false;

    answer::ClientInfo client;
    client.transport = answer::Transport::udp;
    client.random = worker_->random();
    answer::Outcome outcome;
    client.outcome = &outcome;
    ResponseRateLimiter& limiter = worker_->rate_limiter();
    unsigned replies = 0;
    for (int i = 0; i < received; ++i) {
        msghdr& h = in_[static_cast<std::size_t>(i)].msg_hdr;
        client.source = static_cast<const sockaddr*>(h.msg_name);
        // A query cut short by our buffer is not worth answering.
        if ((h.msg_flags & MSG_TRUNC) != 0) continue;
        const std::span<const uint8_t> query(static_cast<const uint8_t*>(h.msg_iov->iov_base),
                                             in_[static_cast<std::size_t>(i)].msg_len);
        iovec& out_iov = out_iov_[replies];
        const std::size_t size = worker_->answer(&client, query,
                                                 {static_cast<uint8_t*>(out_iov.iov_base), dns::kMaxMessageSize},
                                                 /*is_tcp=*/false);
        if (size == 0) continue;
        std::size_t reply_size = size;
        switch (limiter.judge(geo::from_sockaddr(client.source), now_ms)) {
        case RrlVerdict::send: break;
        case RrlVerdict::slip:
            worker_->stats().rrl_slipped.add();
            reply_size = truncate_response(static_cast<uint8_t*>(out_iov.iov_base), size);
            break;
        case RrlVerdict::drop:
            worker_->stats().rrl_dropped.add();
            reply_size = 0;
            break;
        }
        if (reply_size == 0) continue;
        out_iov.iov_len = reply_size;
        msghdr& o = out_[replies].msg_hdr;
        o = msghdr{};
        o.msg_name = h.msg_name;
        o.msg_namelen = h.msg_namelen;
        o.msg_iov = &out_iov;
        o.msg_iovlen = 1;
        o.msg_controllen = reply_control(&h, out_control_[replies].bytes, kControlSize);
        o.msg_control = o.msg_controllen != 0 ? out_control_[replies].bytes : nullptr;
        ++replies;
    }
    unsigned sent = 0;
    while (sent < replies) {
        const int n = sendmmsg(fd_, out_.data() + sent, replies - sent, MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<unsigned>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EMSGSIZE && out_iov_[sent].iov_len > dns::kHeaderSize) {
            // Larger than the interface MTU and never fragmented: the client retries over TCP.
            iovec& iov = out_iov_[sent];
            const std::size_t size = truncate_response(static_cast<uint8_t*>(iov.iov_base), iov.iov_len);
            if (size == 0 || size >= iov.iov_len) {
                worker_->stats().send_failed.add();  // nothing shorter to send
                ++sent;
                continue;
            }
            iov.iov_len = size;
            worker_->stats().truncated.add();
        } else {
            // A full send buffer or an unreachable peer: skip that reply rather than block.
            worker_->stats().send_failed.add();
            ++sent;
        }
    }
    // A full batch suggests more are waiting.
    return static_cast<std::size_t>(received) == kBatch;
}

}  // namespace meridian::server

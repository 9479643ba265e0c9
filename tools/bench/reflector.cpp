// reflector: a UDP server that does no DNS work. It takes datagrams in recvmmsg batches, sets
// the QR bit and sends them back with sendmmsg: the physical limit of one core on loopback
// that the bench compares DNS servers against. Loopback addresses only.
//
//   reflector --listen 127.0.0.1:5399 [--batch 32] [--rcvbuf BYTES] [--pktinfo]
//
// --rcvbuf and --pktinfo copy two choices a real server makes (a bigger receive buffer; the
// destination address of each query read with IP_PKTINFO and used as the reply's source), so
// their cost can be measured apart from any DNS work.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "wire.hpp"

namespace {

volatile sig_atomic_t stop = 0;

void on_signal(int) { stop = 1; }

}  // namespace

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:5399";
    unsigned batch = 32;
    int rcvbuf = 0;
    bool pktinfo = false;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--listen" && i + 1 < argc) {
            listen = argv[++i];
        } else if (option == "--batch" && i + 1 < argc) {
            batch = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else if (option == "--rcvbuf" && i + 1 < argc) {
            rcvbuf = static_cast<int>(std::strtol(argv[++i], nullptr, 10));
        } else if (option == "--pktinfo") {
            pktinfo = true;
        } else {
            std::fprintf(stderr, "usage: reflector [--listen ADDR:PORT] [--batch N] [--rcvbuf BYTES] [--pktinfo]\n");
            return 1;
        }
    }
    if (batch == 0 || batch > 1024) batch = 32;
    sockaddr_storage address{};
    socklen_t size = 0;
    if (!bench::parse_sockaddr(listen, true, &address, &size) ||
        !bench::is_loopback(reinterpret_cast<const sockaddr*>(&address))) {
        std::fprintf(stderr, "reflector: --listen needs a loopback ADDR:PORT\n");
        return 1;
    }
    const int fd = socket(address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (pktinfo) {
        address.ss_family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on)
                                     : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    }
    if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&address), size) != 0) {
        std::fprintf(stderr, "reflector: cannot bind %s: %s\n", listen.c_str(), std::strerror(errno));
        return 1;
    }
    struct sigaction action {};
    action.sa_handler = on_signal;  // no SA_RESTART: a blocked recvmmsg returns EINTR
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    constexpr std::size_t kSize = 4096;
    std::vector<uint8_t> buffers(std::size_t{batch} * kSize);
    std::vector<sockaddr_storage> peers(batch);
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> in(batch), out(batch);
    constexpr std::size_t kControl = 64;
    std::vector<uint8_t> in_control(std::size_t{batch} * kControl), out_control(std::size_t{batch} * kControl);
    std::fprintf(stderr, "reflector: listening on %s\n", listen.c_str());
    while (stop == 0) {
        for (unsigned k = 0; k < batch; ++k) {
            iov[k] = {buffers.data() + std::size_t{k} * kSize, kSize};
            in[k].msg_hdr = msghdr{};
            in[k].msg_hdr.msg_name = &peers[k];
            in[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            in[k].msg_hdr.msg_iov = &iov[k];
            in[k].msg_hdr.msg_iovlen = 1;
            if (pktinfo) {
                in[k].msg_hdr.msg_control = in_control.data() + std::size_t{k} * kControl;
                in[k].msg_hdr.msg_controllen = kControl;
            }
        }
        // Block for the first datagram, then take whatever else is already queued.
        const int received = recvmmsg(fd, in.data(), batch, MSG_WAITFORONE, nullptr);
        if (received <= 0) continue;
        unsigned replies = 0;
        for (int k = 0; k < received; ++k) {
            const auto index = static_cast<std::size_t>(k);
            const std::size_t length = in[index].msg_len;
            if (length < 12) continue;
            auto* message = static_cast<uint8_t*>(iov[index].iov_base);
            if ((message[2] & 0x80) != 0) continue;  // never answer an answer
            message[2] |= 0x80;
            iov[index].iov_len = length;
            out[replies].msg_hdr = msghdr{};
            out[replies].msg_hdr.msg_name = &peers[index];
            out[replies].msg_hdr.msg_namelen = in[index].msg_hdr.msg_namelen;
            out[replies].msg_hdr.msg_iov = &iov[index];
            out[replies].msg_hdr.msg_iovlen = 1;
            if (pktinfo) {  // reply from the address the query came to
                msghdr& h = in[index].msg_hdr;
                for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
                    if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_PKTINFO) continue;
                    in_pktinfo info;
                    std::memcpy(&info, CMSG_DATA(c), sizeof info);
                    in_pktinfo reply{};
                    reply.ipi_spec_dst = info.ipi_addr;
                    auto* control = out_control.data() + std::size_t{replies} * kControl;
                    auto* header = reinterpret_cast<cmsghdr*>(control);
                    header->cmsg_level = IPPROTO_IP;
                    header->cmsg_type = IP_PKTINFO;
                    header->cmsg_len = CMSG_LEN(sizeof reply);
                    std::memcpy(CMSG_DATA(header), &reply, sizeof reply);
                    out[replies].msg_hdr.msg_control = control;
                    out[replies].msg_hdr.msg_controllen = CMSG_SPACE(sizeof reply);
                }
            }
            ++replies;
        }
        unsigned sent = 0;
        while (sent < replies) {
            const int n = sendmmsg(fd, out.data() + sent, replies - sent, 0);
            if (n > 0) {
                sent += static_cast<unsigned>(n);
            } else if (errno != EINTR) {
                ++sent;  // drop the one that failed
            }
        }
    }
    close(fd);
    return 0;
}

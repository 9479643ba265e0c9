#include "server/sockets.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/log.hpp"

namespace meridian::server {

namespace {

constexpr int kTcpBacklog = 1024;

void set_receive_buffer(int fd, uint32_t bytes, const std::string& where) {
    if (bytes == 0) return;
    const uint32_t granted = resize_receive_buffer(fd, bytes);
    if (granted < bytes) {
        log::info("udp " + where + ": receive buffer " + std::to_string(granted) + " bytes: udp_receive_buffer " +
                  std::to_string(bytes) + " is capped by net.core.rmem_max");
    }
}

bool is_wildcard(const config::ListenAddress& address) {
    if (address.address.ss_family == AF_INET) {
        return reinterpret_cast<const sockaddr_in*>(&address.address)->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&address.address)->sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(&a);
}

int open_socket(const config::ListenAddress& address, int type, uint32_t receive_buffer, std::string* error) {
    const int family = address.address.ss_family;
    const int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    auto fail = [&](const char* what) {
        *error = std::string(type == SOCK_DGRAM ? "udp " : "tcp ") + address.text + ": " + what + ": " +
                 std::strerror(errno);
        if (fd >= 0) close(fd);
        return -1;
    };
    if (fd < 0) return fail("cannot create socket");
    const int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) return fail("cannot set SO_REUSEPORT");
    if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
        return fail("cannot set SO_REUSEADDR");
    }
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
        return fail("cannot set IPV6_V6ONLY");
    }
    if (type == SOCK_DGRAM) {
        // On a wildcard bind, reply from the address the query came to (the kernel would pick
        // any local address). A socket bound to one address replies from it anyway, so it
        // does without the per-datagram control messages.
        if (is_wildcard(address)) {
            const bool ok = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0
                                              : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0;
            if (!ok) return fail("cannot enable packet info");
        }
        // Never fragment a response (RFC 9715 §3.1): DF set, path MTU updates from ICMP ignored
        // (a forged "fragmentation needed" cannot shrink our packets). A reply larger than the
        // interface MTU fails with EMSGSIZE and is sent truncated instead (UdpEndpoint). As a
        // side effect IPv4 replies carry IP ID 0 and skip the kernel's shared ID generator.
        // NOLINTNEXTLINE(bugprone-branch-clone): equal values today, two constants by the API
        const int probe = family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
        const bool dont_fragment = family == AF_INET
                                       ? setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) == 0
                                       : setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe) == 0 &&
                                             setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on, sizeof on) == 0;
        if (!dont_fragment) return fail("cannot switch off fragmentation");
        set_receive_buffer(fd, receive_buffer, address.text);
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.address_size) != 0) {
        return fail("cannot bind");
    }
    if (type == SOCK_STREAM && listen(fd, kTcpBacklog) != 0) return fail("cannot listen");
    return fd;
}

}  // namespace

uint32_t resize_receive_buffer(int fd, uint32_t bytes) noexcept {
    const int wanted = static_cast<int>(bytes);
    // SO_RCVBUFFORCE passes net.core.rmem_max where the process may (CAP_NET_ADMIN).
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
    }
    int granted = 0;
    socklen_t size = sizeof granted;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &size) != 0) return 0;
    return static_cast<uint32_t>(granted) / 2;  // Linux reports twice the size set (its bookkeeping)
}

uint32_t kernel_default_receive_buffer() noexcept {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int size = 0;
    socklen_t length = sizeof size;
    const bool ok = getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &length) == 0;
    close(fd);
    // A fresh socket reports net.core.rmem_default as is; setting half of it restores it.
    return ok ? static_cast<uint32_t>(size) / 2 : 0;
}

int open_udp_socket(const config::ListenAddress& address, uint32_t receive_buffer, std::string* error) {
    return open_socket(address, SOCK_DGRAM, receive_buffer, error);
}

int open_tcp_listener(const config::ListenAddress& address, std::string* error) {
    return open_socket(address, SOCK_STREAM, 0, error);
}

}  // namespace meridian::server

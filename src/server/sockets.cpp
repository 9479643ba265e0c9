#include "server/sockets.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meridian::server {

namespace {

constexpr int kTcpBacklog = 1024;
constexpr int kUdpReceiveBuffer = 4 << 20;  // absorbs bursts while a worker is busy

int open_socket(const config::ListenAddress& address, int type, std::string* error) {
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
        // Reply from the address the query came to, even on a wildcard bind.
        const bool ok = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0
                                          : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0;
        if (!ok) return fail("cannot enable packet info");
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kUdpReceiveBuffer, sizeof kUdpReceiveBuffer);  // best effort
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.address_size) != 0) {
        return fail("cannot bind");
    }
    if (type == SOCK_STREAM && listen(fd, kTcpBacklog) != 0) return fail("cannot listen");
    return fd;
}

}  // namespace

int open_udp_socket(const config::ListenAddress& address, std::string* error) {
    return open_socket(address, SOCK_DGRAM, error);
}

int open_tcp_listener(const config::ListenAddress& address, std::string* error) {
    return open_socket(address, SOCK_STREAM, error);
}

}  // namespace meridian::server

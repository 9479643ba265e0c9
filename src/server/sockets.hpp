// Opening the listening sockets: one UDP socket and one TCP listener per address and worker,
// all with SO_REUSEPORT so that the kernel spreads packets and connections across workers.
#pragma once

#include <string>

#include "config/server_config.hpp"

namespace meridian::server {

// Each returns a bound (and for TCP listening) non-blocking socket, or -1 with *error set to
// one line naming the address and the reason. receive_buffer: SO_RCVBUF in bytes, 0 = the
// kernel's default.
int open_udp_socket(const config::ListenAddress& address, uint32_t receive_buffer, std::string* error);
int open_tcp_listener(const config::ListenAddress& address, std::string* error);

// Sets a socket's receive buffer (SO_RCVBUF, in the units setsockopt takes) and returns what the
// kernel granted in the same units. No allocation: the UDP path calls it on overload.
uint32_t resize_receive_buffer(int fd, uint32_t bytes) noexcept;
// The size that gives a socket the kernel's default buffer again (net.core.rmem_default).
uint32_t kernel_default_receive_buffer() noexcept;

}  // namespace meridian::server

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

}  // namespace meridian::server

// tools/bench: what the kernel says about the server under test.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace bench {

// utime and stime, in microseconds, of a process and all its descendants (threads included:
// the process line of /proc/PID/stat sums them). Empty when the process is gone.
struct ProcessCpu {
    uint64_t user_us = 0;
    uint64_t system_us = 0;
    uint64_t total() const { return user_us + system_us; }
};
std::optional<ProcessCpu> process_tree_cpu(pid_t pid);

// The receive-buffer drops the kernel counted for every UDP socket bound to a local port
// (the last column of /proc/net/udp and /proc/net/udp6), summed.
uint64_t udp_drops_for_port(uint16_t port);
uint64_t udp_drops_for_ports(const std::vector<uint16_t>& ports);

// CPU time of this process (user + system), microseconds.
uint64_t self_cpu_us();

// Per CPU, from /proc/stat: ticks busy (everything but idle and iowait) and ticks in all.
struct CpuTicks {
    uint64_t busy = 0;
    uint64_t total = 0;
};
std::vector<CpuTicks> cpu_ticks();

}  // namespace bench

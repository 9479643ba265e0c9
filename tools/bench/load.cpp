#include "load.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "procfs.hpp"
#include "wire.hpp"

namespace bench {

namespace {

constexpr std::size_t kReceiveSize = 4096;
constexpr int kBufferBytes = 8 << 20;

uint64_t now_ns() noexcept {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

uint16_t local_port(int fd) {
    sockaddr_storage a{};
    socklen_t size = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) != 0) return 0;
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
}

uint16_t target_port(const Endpoint& e) {
    if (e.address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&e.address)->sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&e.address)->sin6_port);
}

void big_buffers(int fd) {
    // Root may exceed net.core.[rw]mem_max (FORCE); otherwise take what the limit allows.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kBufferBytes, sizeof kBufferBytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kBufferBytes, sizeof kBufferBytes);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kBufferBytes, sizeof kBufferBytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kBufferBytes, sizeof kBufferBytes);
    }
}

// A socket bound to `source` (port 0) and connected to the target; -1 with error set.
int open_socket(int type, const Endpoint& source, const Endpoint& target, bool nonblocking, std::string* error) {
    const int fd = socket(target.address.ss_family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        *error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    if (type == SOCK_DGRAM) big_buffers(fd);
    if (type == SOCK_STREAM) {
        const int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    if (source.size != 0 && bind(fd, source.sa(), source.size) != 0) {
        *error = "bind " + format_sockaddr(source.sa()) + ": " + std::strerror(errno);
        close(fd);
        return -1;
    }
    if (connect(fd, target.sa(), target.size) != 0 && errno != EINPROGRESS) {
        *error = "connect " + format_sockaddr(target.sa()) + ": " + std::strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

struct Slot {
    uint64_t sent_ns = 0;
    uint32_t query = 0;
    uint16_t id = 0;
    bool busy = false;
};

// Shared by UDP and TCP: one matched response.
struct Matcher {
    const QuerySet& queries;
    RunResult* result;
    uint64_t timeout_ns;
    uint64_t outstanding = 0;

    // False when the response answers none of our queries in flight.
    bool match(Slot& slot, const uint8_t* message, std::size_t size, uint64_t now) noexcept {
        const Template& t = queries.at(slot.query);
        if (size < t.question_end || (message[2] & 0x80) == 0 ||
            std::memcmp(message + 12, queries.bytes(slot.query).data() + 12, t.question_end - 12u) != 0) {
            ++result->unmatched;
            return false;
        }
        slot.busy = false;
        --outstanding;
        const uint64_t latency = now - slot.sent_ns;
        if (latency > timeout_ns) {
            ++result->late;
            return true;
        }
        ++result->answered;
        result->latency.record(latency);
        const unsigned rcode = message[3] & 0x0f;
        ++result->rcodes[rcode];
        const bool tc = (message[2] & 0x02) != 0;
        if (tc) ++result->truncated;
        if (t.rcode >= 0 && static_cast<unsigned>(t.rcode) != rcode) ++result->unexpected_rcode;
        if (t.dnssec && !tc) ++(has_rrsig(message, size) ? result->signed_answers : result->unsigned_answers);
        return true;
    }
};

struct Measure {
    Measure(pid_t server, uint16_t server_port) : pid(server), port(server_port) {}
    pid_t pid;
    uint16_t port;
    ProcessCpu cpu0;
    uint64_t drops0 = 0, self0 = 0;
    bool have_cpu = false;
    std::vector<CpuTicks> cpus0;

    void start() {
        if (pid > 0) {
            const auto cpu = process_tree_cpu(pid);
            have_cpu = cpu.has_value();
            cpu0 = cpu.value_or(ProcessCpu{});
        }
        drops0 = udp_drops_for_port(port);
        self0 = self_cpu_us();
        cpus0 = cpu_ticks();
    }
    void finish(RunResult* r) const {
        if (pid > 0 && have_cpu) {
            if (const auto cpu = process_tree_cpu(pid)) {
                r->have_server_cpu = true;
                r->server_cpu_us = cpu->total() - cpu0.total();
                r->server_user_us = cpu->user_us - cpu0.user_us;
            }
        }
        r->server_drops = udp_drops_for_port(port) - drops0;
        r->loadgen_cpu_us = self_cpu_us() - self0;
        const auto cpus = cpu_ticks();
        for (std::size_t i = 0; i < cpus.size() && i < cpus0.size(); ++i) {
            const uint64_t total = cpus[i].total - cpus0[i].total;
            r->cpu_busy.push_back(
                total == 0 ? 0.0 : static_cast<double>(cpus[i].busy - cpus0[i].busy) / static_cast<double>(total));
        }
    }
};

}  // namespace

bool run_udp(const QuerySet& queries, const LoadOptions& o, RunResult* result, std::string* error) {
    *result = RunResult{};
    const unsigned batch = std::clamp(o.batch, 1u, 1024u);
    struct Socket {
        int fd = -1;
        uint16_t next_id = 0;
        std::vector<Slot> slots;
    };
    std::vector<Socket> sockets(std::max(1u, o.sockets));
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    std::vector<uint16_t> ports;
    std::mt19937 rng(12345);
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        Socket& s = sockets[i];
        s.fd = open_socket(SOCK_DGRAM, o.sources[i % o.sources.size()], o.target, true, error);
        if (s.fd < 0) return false;
        s.slots.resize(65536);
        s.next_id = static_cast<uint16_t>(rng());
        ports.push_back(local_port(s.fd));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(epoll, EPOLL_CTL_ADD, s.fd, &ev);
    }
    std::vector<mmsghdr> out(batch), in(batch);
    std::vector<iovec> out_iov(2 * std::size_t{batch}), in_iov(batch);
    std::vector<std::array<uint8_t, 2>> ids(batch);
    std::vector<uint8_t> buffers(std::size_t{batch} * kReceiveSize);
    std::vector<epoll_event> events(sockets.size());
    for (unsigned k = 0; k < batch; ++k) in_iov[k] = {buffers.data() + std::size_t{k} * kReceiveSize, kReceiveSize};

    Matcher matcher{queries, result, uint64_t{o.timeout_ms} * 1000000ull};
    Measure measure(o.server_pid, target_port(o.target));
    const auto duration_ns = static_cast<uint64_t>(o.duration * 1e9);
    const uint64_t drain_ns = uint64_t{o.drain_ms} * 1000000ull;
    uint64_t attempted = 0;
    std::size_t next_query = 0;
    std::size_t next_socket = 0;
    bool sending = true;
    uint64_t deadline = 0;

    measure.start();
    const uint64_t start = now_ns();
    uint64_t send_end = start;
    while (true) {
        uint64_t now = now_ns();
        if (sending) {
            if ((duration_ns != 0 && now - start >= duration_ns) || (o.count != 0 && attempted >= o.count)) {
                sending = false;
                send_end = now;
                deadline = now + drain_ns;
            } else {
                uint64_t due = o.rate > 0 ? static_cast<uint64_t>(static_cast<double>(now - start) * o.rate / 1e9) + 1
                                          : attempted + std::size_t{batch} * sockets.size();
                if (o.count != 0) due = std::min(due, o.count);
                // At most one batch per socket, then read: answers must not wait behind a backlog.
                for (std::size_t round = 0; round < sockets.size() && attempted < due; ++round) {
                    Socket& s = sockets[next_socket];
                    next_socket = next_socket + 1 == sockets.size() ? 0 : next_socket + 1;
                    const unsigned n = static_cast<unsigned>(std::min<uint64_t>(due - attempted, batch));
                    const std::size_t first_query = next_query;
                    for (std::size_t k = 0; k < n; ++k) {
                        const auto id = static_cast<uint16_t>(s.next_id + k);
                        ids[k] = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id & 0xff)};
                        const auto bytes = queries.bytes(next_query);
                        out_iov[2 * k] = {ids[k].data(), 2};
                        out_iov[2 * k + 1] = {const_cast<uint8_t*>(bytes.data() + 2), bytes.size() - 2};
                        out[k].msg_hdr = msghdr{};
                        out[k].msg_hdr.msg_iov = &out_iov[2 * k];
                        out[k].msg_hdr.msg_iovlen = 2;
                        next_query = next_query + 1 == queries.size() ? 0 : next_query + 1;
                    }
                    now = now_ns();
                    const int sent = sendmmsg(s.fd, out.data(), n, MSG_DONTWAIT);
                    const unsigned accepted = sent > 0 ? static_cast<unsigned>(sent) : 0;
                    std::size_t q = first_query;
                    for (unsigned k = 0; k < accepted; ++k) {
                        Slot& slot = s.slots[static_cast<uint16_t>(s.next_id + k)];
                        if (slot.busy) {
                            ++result->overwritten;
                            --matcher.outstanding;
                        }
                        slot = {now, static_cast<uint32_t>(q), 0, true};
                        ++matcher.outstanding;
                        q = q + 1 == queries.size() ? 0 : q + 1;
                    }
                    s.next_id = static_cast<uint16_t>(s.next_id + n);
                    result->sent += accepted;
                    result->send_failed += n - accepted;
                    attempted += n;
                }
            }
        } else if (matcher.outstanding == 0 || now >= deadline) {
            break;
        }

        const int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 0);
        for (int e = 0; e < ready; ++e) {
            Socket& s = sockets[events[static_cast<std::size_t>(e)].data.u32];
            for (int round = 0; round < 4; ++round) {
                for (unsigned k = 0; k < batch; ++k) {
                    in[k].msg_hdr = msghdr{};
                    in[k].msg_hdr.msg_iov = &in_iov[k];
                    in[k].msg_hdr.msg_iovlen = 1;
                    in[k].msg_len = 0;
                }
                const int received = recvmmsg(s.fd, in.data(), batch, MSG_DONTWAIT, nullptr);
                if (received <= 0) break;
                const uint64_t at = now_ns();
                for (int k = 0; k < received; ++k) {
                    const auto* message = static_cast<const uint8_t*>(in_iov[static_cast<std::size_t>(k)].iov_base);
                    const std::size_t size = in[static_cast<std::size_t>(k)].msg_len;
                    if (size < 12) {
                        ++result->unmatched;
                        continue;
                    }
                    Slot& slot = s.slots[static_cast<uint16_t>((message[0] << 8) | message[1])];
                    if (!slot.busy) {
                        ++result->unmatched;
                        continue;
                    }
                    matcher.match(slot, message, size, at);
                }
                if (static_cast<unsigned>(received) < batch) break;
            }
        }
    }
    const uint64_t end = now_ns();
    measure.finish(result);
    result->client_drops = udp_drops_for_ports(ports);
    result->send_seconds = static_cast<double>(send_end - start) / 1e9;
    result->total_seconds = static_cast<double>(end - start) / 1e9;
    for (Socket& s : sockets) close(s.fd);
    close(epoll);
    return true;
}

bool run_tcp(const QuerySet& queries, const LoadOptions& o, RunResult* result, std::string* error) {
    *result = RunResult{};
    const unsigned inflight = std::clamp(o.inflight, 1u, 4096u);
    std::size_t slot_count = 1;
    while (slot_count < inflight) slot_count <<= 1;
    struct Connection {
        int fd = -1;
        bool connected = false;
        bool want_out = false;
        std::size_t source = 0;
        std::vector<uint8_t> in;
        std::size_t in_len = 0;
        std::vector<uint8_t> out;
        std::size_t out_begin = 0, out_end = 0;
        unsigned inflight = 0;
        uint16_t next_id = 0;
        std::vector<Slot> slots;
    };
    const unsigned count = std::clamp(o.connections, 1u, 1024u);
    std::vector<Connection> connections(count);
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    const std::size_t frame_max = 2 + queries.max_size();
    Matcher matcher{queries, result, uint64_t{o.timeout_ms} * 1000000ull};

    auto open_connection = [&](std::size_t i) -> bool {
        Connection& c = connections[i];
        c.fd = open_socket(SOCK_STREAM, o.sources[c.source], o.target, true, error);
        if (c.fd < 0) return false;
        c.connected = false;
        c.want_out = true;
        c.in_len = 0;
        c.out_begin = c.out_end = 0;
        c.inflight = 0;
        for (Slot& s : c.slots) s.busy = false;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &ev);
        ++result->connects;
        return true;
    };
    auto drop_connection = [&](std::size_t i) {
        Connection& c = connections[i];
        epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
        matcher.outstanding -= c.inflight;
        if (c.inflight != 0) ++result->disconnects;
        c.inflight = 0;
    };
    auto set_want_out = [&](std::size_t i, bool want) {
        Connection& c = connections[i];
        if (c.want_out == want) return;
        c.want_out = want;
        epoll_event ev{};
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &ev);
    };
    // Writes what is queued; false when the connection broke.
    auto flush = [&](std::size_t i) -> bool {
        Connection& c = connections[i];
        while (c.out_begin < c.out_end) {
            const ssize_t n = write(c.fd, c.out.data() + c.out_begin, c.out_end - c.out_begin);
            if (n > 0) {
                c.out_begin += static_cast<std::size_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                set_want_out(i, true);
                return true;
            } else {
                return false;
            }
        }
        c.out_begin = c.out_end = 0;
        set_want_out(i, false);
        return true;
    };

    for (std::size_t i = 0; i < connections.size(); ++i) {
        Connection& c = connections[i];
        c.source = i % o.sources.size();
        c.in.resize(64 * 1024 + 2);
        c.out.resize(std::size_t{inflight} * frame_max);
        c.slots.resize(slot_count);
        c.next_id = static_cast<uint16_t>(i * 7919);
        if (!open_connection(i)) return false;
    }

    Measure measure(o.server_pid, target_port(o.target));
    const auto duration_ns = static_cast<uint64_t>(o.duration * 1e9);
    const uint64_t drain_ns = uint64_t{o.drain_ms} * 1000000ull;
    uint64_t attempted = 0;
    std::size_t next_query = 0;
    bool sending = true;
    uint64_t deadline = 0;
    std::vector<epoll_event> events(connections.size());

    measure.start();
    const uint64_t start = now_ns();
    uint64_t send_end = start;
    while (true) {
        uint64_t now = now_ns();
        if (sending && ((duration_ns != 0 && now - start >= duration_ns) || (o.count != 0 && attempted >= o.count))) {
            sending = false;
            send_end = now;
            deadline = now + drain_ns;
        }
        if (!sending && (matcher.outstanding == 0 || now >= deadline)) break;
        if (sending) {
            uint64_t due = o.rate > 0 ? static_cast<uint64_t>(static_cast<double>(now - start) * o.rate / 1e9) + 1
                                      : UINT64_MAX;
            if (o.count != 0) due = std::min(due, o.count);
            for (std::size_t i = 0; i < connections.size() && attempted < due; ++i) {
                Connection& c = connections[i];
                if (c.fd < 0 && !open_connection(i)) return false;
                if (!c.connected) continue;
                bool queued = false;
                while (c.inflight < inflight && attempted < due && c.out_end + frame_max <= c.out.size()) {
                    // The next ID whose slot is free: at most `inflight` are busy.
                    uint16_t id = c.next_id;
                    while (c.slots[id & (slot_count - 1)].busy) ++id;
                    c.next_id = static_cast<uint16_t>(id + 1);
                    const auto bytes = queries.bytes(next_query);
                    uint8_t* frame = c.out.data() + c.out_end;
                    frame[0] = static_cast<uint8_t>(bytes.size() >> 8);
                    frame[1] = static_cast<uint8_t>(bytes.size() & 0xff);
                    std::memcpy(frame + 2, bytes.data(), bytes.size());
                    frame[2] = static_cast<uint8_t>(id >> 8);
                    frame[3] = static_cast<uint8_t>(id & 0xff);
                    c.out_end += 2 + bytes.size();
                    c.slots[id & (slot_count - 1)] = {now, static_cast<uint32_t>(next_query), id, true};
                    next_query = next_query + 1 == queries.size() ? 0 : next_query + 1;
                    ++c.inflight;
                    ++matcher.outstanding;
                    ++attempted;
                    ++result->sent;
                    queued = true;
                }
                if (queued && !flush(i)) drop_connection(i);
            }
        }
        const int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 0);
        for (int e = 0; e < ready; ++e) {
            const std::size_t i = events[static_cast<std::size_t>(e)].data.u32;
            Connection& c = connections[i];
            if (c.fd < 0) continue;
            const uint32_t what = events[static_cast<std::size_t>(e)].events;
            if (!c.connected && (what & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
                int problem = 0;
                socklen_t size = sizeof problem;
                getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &problem, &size);
                if (problem != 0) {
                    *error = "tcp connect " + format_sockaddr(o.target.sa()) + ": " + std::strerror(problem);
                    return false;
                }
                c.connected = true;
                set_want_out(i, false);
                continue;
            }
            if ((what & EPOLLOUT) != 0 && !flush(i)) {
                drop_connection(i);
                continue;
            }
            if ((what & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
            const ssize_t n = read(c.fd, c.in.data() + c.in_len, c.in.size() - c.in_len);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                drop_connection(i);
                continue;
            }
            if (n < 0) continue;
            c.in_len += static_cast<std::size_t>(n);
            const uint64_t at = now_ns();
            std::size_t used = 0;
            while (c.in_len - used >= 2) {
                const std::size_t size = (std::size_t{c.in[used]} << 8) | c.in[used + 1];
                if (c.in_len - used - 2 < size) break;
                const uint8_t* message = c.in.data() + used + 2;
                used += 2 + size;
                if (size < 12) {
                    ++result->unmatched;
                    continue;
                }
                const auto id = static_cast<uint16_t>((message[0] << 8) | message[1]);
                Slot& slot = c.slots[id & (slot_count - 1)];
                if (!slot.busy || slot.id != id) {
                    ++result->unmatched;
                    continue;
                }
                if (matcher.match(slot, message, size, at)) --c.inflight;
            }
            if (used != 0) {
                std::memmove(c.in.data(), c.in.data() + used, c.in_len - used);
                c.in_len -= used;
            }
        }
    }
    const uint64_t end = now_ns();
    measure.finish(result);
    result->send_seconds = static_cast<double>(send_end - start) / 1e9;
    result->total_seconds = static_cast<double>(end - start) / 1e9;
    for (Connection& c : connections) {
        if (c.fd >= 0) close(c.fd);
    }
    close(epoll);
    return true;
}

namespace {

// One query, one answer, blocking (with a timeout): the verification path, not the timed one.
bool exchange(int fd, bool tcp, std::span<const uint8_t> query, uint16_t id, unsigned timeout_ms,
              std::vector<uint8_t>* answer) {
    std::vector<uint8_t> message(query.begin(), query.end());
    message[0] = static_cast<uint8_t>(id >> 8);
    message[1] = static_cast<uint8_t>(id & 0xff);
    if (tcp) {
        std::vector<uint8_t> frame{static_cast<uint8_t>(message.size() >> 8),
                                   static_cast<uint8_t>(message.size() & 0xff)};
        frame.insert(frame.end(), message.begin(), message.end());
        if (write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) return false;
    } else if (send(fd, message.data(), message.size(), 0) != static_cast<ssize_t>(message.size())) {
        return false;
    }
    const uint64_t deadline = now_ns() + uint64_t{timeout_ms} * 1000000ull;
    std::vector<uint8_t> buffer(65536 + 2);
    std::size_t have = 0;
    while (true) {
        const uint64_t now = now_ns();
        if (now >= deadline) return false;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>((deadline - now) / 1000000ull) + 1) <= 0) continue;
        const ssize_t n = tcp ? read(fd, buffer.data() + have, buffer.size() - have)
                              : recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) return false;
        if (!tcp) {
            if (n >= 2 && buffer[0] == message[0] && buffer[1] == message[1]) {
                answer->assign(buffer.begin(), buffer.begin() + n);
                return true;
            }
            continue;  // a stray late answer
        }
        have += static_cast<std::size_t>(n);
        if (have >= 2) {
            const std::size_t size = (std::size_t{buffer[0]} << 8) | buffer[1];
            if (have >= 2 + size) {
                answer->assign(buffer.begin() + 2, buffer.begin() + 2 + static_cast<std::ptrdiff_t>(size));
                return true;
            }
        }
    }
}

uint32_t source_v4(const Endpoint& e) {
    if (e.address.ss_family != AF_INET) return 0;
    return ntohl(reinterpret_cast<const sockaddr_in*>(&e.address)->sin_addr.s_addr);
}

std::string list_v4(const std::vector<uint32_t>& addresses) {
    std::string text;
    for (const uint32_t a : addresses) text += (text.empty() ? "" : ",") + format_v4(a);
    return text.empty() ? "none" : text;
}

}  // namespace

VerifyResult verify_answers(const QuerySet& queries, const LoadOptions& o, const VerifyOptions& v) {
    VerifyResult r;
    std::vector<std::size_t> picks;
    const std::size_t max = std::max<std::size_t>(1, v.max_queries);
    if (queries.size() <= max) {
        for (std::size_t i = 0; i < queries.size(); ++i) picks.push_back(i);
    } else {
        for (std::size_t i = 0; i < max; ++i) picks.push_back(i * queries.size() / max);
    }
    std::mt19937 rng(4242);
    auto fail = [&](std::string text) {
        ++r.wrong;
        if (r.failures.size() < 12) r.failures.push_back(std::move(text));
    };
    for (const bool tcp : {false, true}) {
        if (tcp && !v.tcp) break;
        for (std::size_t source = 0; source < o.sources.size(); ++source) {
            std::string error;
            const Endpoint& from = o.sources[source];
            int fd = -1;
            std::size_t done = 0;
            for (const std::size_t i : picks) {
                if (tcp && done >= 20) break;
                const Expectation& e = queries.expectation(i);
                // Answers that do not depend on the source are checked from the first one only.
                if (!e.by_source && source != 0) continue;
                ++done;
                ++r.checked;
                const std::string what = std::string(tcp ? "tcp " : "udp ") + queries.at(i).text + " from " +
                                         format_sockaddr(from.sa()).substr(0, format_sockaddr(from.sa()).rfind(':'));
                std::vector<uint8_t> answer;
                bool ok = false;
                for (unsigned attempt = 0; attempt < v.tries && !ok; ++attempt) {
                    if (fd < 0) fd = open_socket(tcp ? SOCK_STREAM : SOCK_DGRAM, from, o.target, false, &error);
                    if (fd < 0) break;
                    ok = exchange(fd, tcp, queries.bytes(i), static_cast<uint16_t>(rng()), v.timeout_ms, &answer);
                    if (!ok && tcp) {  // a broken stream is not reused
                        close(fd);
                        fd = -1;
                    }
                }
                if (!ok) {
                    ++r.unanswered;
                    fail(what + ": no answer" + (error.empty() ? "" : " (" + error + ")"));
                    continue;
                }
                Response response;
                std::string parse_error;
                if (!parse_response(answer, &response, &parse_error)) {
                    fail(what + ": malformed response: " + parse_error);
                    continue;
                }
                const auto question = queries.bytes(i);
                const std::size_t qend = queries.at(i).question_end;
                if (!response.qr || answer.size() < qend ||
                    std::memcmp(answer.data() + 12, question.data() + 12, qend - 12) != 0) {
                    fail(what + ": response does not echo the question");
                    continue;
                }
                if (e.rcode >= 0 && response.rcode != static_cast<unsigned>(e.rcode)) {
                    fail(what + ": rcode " + rcode_text(response.rcode) + ", expected " +
                         rcode_text(static_cast<unsigned>(e.rcode)));
                    continue;
                }
                std::vector<uint32_t> allowed = e.a_any_of;
                if (e.by_source) {
                    if (v.geo == nullptr || v.steer == nullptr || from.address.ss_family != AF_INET) {
                        fail(what + ": a=@source needs IPv4 sources, the geo CSV and the steer map");
                        continue;
                    }
                    allowed = {v.steer->pick(v.geo->continent_of(source_v4(from)))};
                }
                if (!allowed.empty()) {
                    bool right = !response.a.empty();
                    for (const uint32_t a : response.a)
                        right = right && std::find(allowed.begin(), allowed.end(), a) != allowed.end();
                    if (!right) {
                        fail(what + ": A " + list_v4(response.a) + ", expected one of " + list_v4(allowed));
                        continue;
                    }
                }
                if (e.no_a && !response.a.empty()) {
                    fail(what + ": A " + list_v4(response.a) + " in a denial");
                    continue;
                }
                if (e.signed_answer) {
                    const auto& covered = allowed.empty() ? response.rrsig_authority : response.rrsig_answer;
                    const bool right = allowed.empty()
                                           ? !covered.empty()
                                           : std::find(covered.begin(), covered.end(), uint16_t{1}) != covered.end();
                    if (response.tc || !right) {
                        fail(what + (response.tc       ? ": truncated (TC=1)"
                                     : allowed.empty() ? ": no RRSIG in the authority section"
                                                       : ": no RRSIG covering the A records"));
                        continue;
                    }
                }
            }
            if (fd >= 0) close(fd);
        }
    }
    return r;
}

bool wait_ready(const QuerySet& queries, const LoadOptions& o, double seconds) {
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(seconds * 1e9);
    std::string error;
    const int fd = open_socket(SOCK_DGRAM, o.sources[0], o.target, false, &error);
    if (fd < 0) return false;
    bool ready = false;
    std::vector<uint8_t> answer;
    while (!ready && now_ns() < deadline) {
        ready = exchange(fd, false, queries.bytes(0), 0x5151, 200, &answer);
        if (!ready) {
            timespec pause{0, 50000000};
            nanosleep(&pause, nullptr);
        }
    }
    close(fd);
    return ready;
}

}  // namespace bench

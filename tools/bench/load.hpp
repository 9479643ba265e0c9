// tools/bench: the open-loop UDP sender/receiver and the pipelined TCP client of the load
// generator, and the checks of answers that run before anything is timed.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "queries.hpp"

namespace bench {

struct Endpoint {
    sockaddr_storage address{};
    socklen_t size = 0;
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&address); }
};

struct LoadOptions {
    Endpoint target;
    std::vector<Endpoint> sources;  // local addresses, port 0; sockets/connections take them in turn
    unsigned sockets = 16;          // UDP
    unsigned batch = 32;            // UDP: datagrams per sendmmsg/recvmmsg
    double rate = 0;                // queries/s, 0: as fast as possible
    double duration = 10;           // seconds of sending, 0: until count
    uint64_t count = 0;             // queries to send, 0: until duration
    uint32_t timeout_ms = 1000;     // answers later than this are late, not answered
    uint32_t drain_ms = 1000;       // after the last query, wait at most this long for answers
    unsigned connections = 8;       // TCP
    unsigned inflight = 32;         // TCP: queries in flight per connection
    pid_t server_pid = 0;           // measure this process tree's CPU time over the run
};

struct RunResult {
    uint64_t sent = 0;              // queries that left (sendmmsg/write accepted them)
    uint64_t send_failed = 0;       // queries the kernel refused to take (EAGAIN, ENOBUFS)
    uint64_t answered = 0;          // matched responses within the timeout
    uint64_t late = 0;              // matched responses after the timeout
    uint64_t unmatched = 0;         // responses to no query in flight (or a different question)
    uint64_t overwritten = 0;       // queries never answered whose ID came round again
    uint64_t truncated = 0;         // answered with TC=1
    uint64_t unexpected_rcode = 0;  // answered with another rcode than the query set expects
    uint64_t signed_answers = 0;    // answers to DO queries (TC=0) holding an RRSIG
    uint64_t unsigned_answers = 0;  // answers to DO queries (TC=0) holding none
    std::array<uint64_t, 16> rcodes{};
    Histogram latency;         // of answered queries
    double send_seconds = 0;   // from the first query to the end of sending
    double total_seconds = 0;  // including the drain
    bool have_server_cpu = false;
    uint64_t server_cpu_us = 0;   // utime+stime of the server's process tree over the run
    uint64_t server_user_us = 0;  // of which utime
    uint64_t server_drops = 0;    // drops counted on the target port's sockets over the run
    uint64_t client_drops = 0;    // drops counted on the load generator's own sockets
    uint64_t loadgen_cpu_us = 0;
    std::vector<double> cpu_busy;  // per CPU, the fraction busy over the run (everyone's work)
    uint64_t connects = 0;         // TCP
    uint64_t disconnects = 0;      // TCP: closed by the server while queries were in flight

    uint64_t lost() const { return sent - answered; }
};

bool run_udp(const QuerySet& queries, const LoadOptions& options, RunResult* result, std::string* error);
bool run_tcp(const QuerySet& queries, const LoadOptions& options, RunResult* result, std::string* error);

struct VerifyOptions {
    const GeoTable* geo = nullptr;  // for a=@source expectations
    const SteerMap* steer = nullptr;
    std::size_t max_queries = 300;  // distinct queries checked (all when the set is smaller)
    bool tcp = false;               // also check this many over TCP (first 20)
    unsigned timeout_ms = 1000;
    unsigned tries = 3;
};

struct VerifyResult {
    uint64_t checked = 0;
    uint64_t wrong = 0;
    uint64_t unanswered = 0;
    std::vector<std::string> failures;  // the first few, for people
};

// Sends each checked query once (from every source when the answer depends on it) and checks
// the rcode, the echoed question and, where expected, the A records and their signatures.
VerifyResult verify_answers(const QuerySet& queries, const LoadOptions& options, const VerifyOptions& verify);

// Sends the first query until any response comes back, up to `seconds`.
bool wait_ready(const QuerySet& queries, const LoadOptions& options, double seconds);

}  // namespace bench

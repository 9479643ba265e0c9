// One worker thread: its own libuv loop, its own SO_REUSEPORT UDP sockets and TCP listeners, and
// the buffers it answers from. Everything here runs on the worker's thread except start(),
// stop() and snapshot_changed(), which the control thread calls.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "answer/answer.hpp"
#include "answer/outcome.hpp"
#include "answer/snapshot.hpp"
#include "common/random.hpp"
#include "common/token_bucket.hpp"
#include "config/server_config.hpp"
#include "server/receive_queue.hpp"
#include "server/response_rate_limiter.hpp"
#include "server/snapshot_publisher.hpp"
#include "server/tcp_admission.hpp"
#include "stats/counters.hpp"
#include "xfr/transfer.hpp"

namespace meridian::server {

class TcpConnection;
class UdpEndpoint;

struct WorkerLimits {
    uint32_t tcp_idle_timeout_ms;
    uint32_t tcp_max_connections;
    uint32_t tcp_max_pending_output_bytes;
    RrlSettings rrl;
    uint32_t tcp_query_timeout_ms = 5000;
    TcpAdmission* tcp_admission = nullptr;      // shared by every worker; null: no server-wide caps
    uint32_t explain_per_second = 10;           // _explain answers per second per worker
    ReceiveQueueSizes udp_receive_queue;        // every UDP socket's, see server/receive_queue.hpp
    xfr::Counters* transfers = nullptr;         // shared by every worker; null: not counted
    uint64_t signature_cache_entries = 100000;  // [dnssec]: this worker's online signatures
    uint32_t signatures_per_second = 10000;
};

class Worker {
public:
    Worker(unsigned index, WorkerLimits limits, SnapshotPublisher* publisher);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Takes ownership of bound sockets; call before start().
    void add_udp_socket(int fd);
    void add_tcp_listener(int fd);

    void start();
    void stop();              // asks the loop to close everything, then joins the thread
    void snapshot_changed();  // wakes the loop so that it takes the new snapshot promptly

    // Called on the worker's thread by its endpoints and connections.
    const answer::Snapshot& snapshot() const noexcept { return *snapshot_; }
    uv_loop_t* loop() noexcept { return &loop_; }
    const WorkerLimits& limits() const noexcept { return limits_; }
    // UDP sockets whose receive queue is cut down for overload now (any thread; for metrics).
    unsigned overloaded_udp_sockets() const noexcept;
    std::span<uint8_t> tcp_response_buffer() noexcept { return tcp_response_; }
    Random* random() noexcept { return &random_; }
    ResponseRateLimiter& rate_limiter() noexcept { return rate_limiter_; }
    // Signatures made while answering (any thread may read its counters, for metrics).
    const answer::OnlineSigner& signer() const noexcept { return signer_; }
    // Answers one query into `response` (the pure core), counts it, and returns the reply's size
    // (0: none). An "_explain.NAME TXT" query from a source the ACL allows, within this worker's
    // explain budget, is answered with its explanation instead of REFUSED.
    // Transfers (AXFR/IXFR) and TSIG-signed queries go to xfr::serve: over TCP its messages are
    // appended, framed, to `tcp_output` and 0 is returned; over UDP its one message is the reply.
    std::size_t answer(answer::ClientInfo* client, std::span<const uint8_t> query, std::span<uint8_t> response,
                       bool is_tcp, std::vector<uint8_t>* tcp_output = nullptr) noexcept;
    stats::WorkerStats& stats() noexcept { return stats_; }
    const stats::WorkerStats& stats() const noexcept { return stats_; }
    void connection_closed(TcpConnection* connection) noexcept;

private:
    // Counts one query's outcome in this worker's counters (query path: no locks).
    void count(const answer::Outcome& outcome, bool is_tcp) noexcept;
    std::size_t answer_explain(answer::ClientInfo* client, std::span<const uint8_t> query, std::span<uint8_t> response,
                               std::size_t refused_size) noexcept;
    std::size_t answer_transfer(const answer::ClientInfo& client, std::span<const uint8_t> query,
                                std::span<uint8_t> response, std::size_t core_size, bool is_tcp,
                                std::vector<uint8_t>* tcp_output) noexcept;
    void run();
    static void on_wakeup(uv_async_t* handle);
    static void on_tcp_connection(uv_stream_t* server, int status);
    void close_all();

    unsigned index_;
    WorkerLimits limits_;
    SnapshotPublisher* publisher_;
    const answer::Snapshot* snapshot_ = nullptr;
    uv_loop_t loop_{};
    uv_async_t wakeup_{};
    std::atomic<bool> is_stopping_{false};
    std::thread thread_;
    std::vector<std::unique_ptr<UdpEndpoint>> udp_;
    std::vector<std::unique_ptr<uv_tcp_t>> tcp_listeners_;
    std::vector<TcpConnection*> connections_;  // owned; each deletes itself once closed
    std::vector<uint8_t> tcp_response_;
    Random random_;  // this thread's draws for weighted answers
    // One query in kSampleEvery is located and, when steered, sampled for the recommendations.
    static constexpr unsigned kSampleEvery = 4;
    unsigned sample_tick_ = 0;
    stats::WorkerStats stats_;
    ResponseRateLimiter rate_limiter_;
    TokenBucket explain_budget_;
    answer::OnlineSigner signer_;
};

}  // namespace meridian::server

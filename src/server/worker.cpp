#include "server/worker.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>
#include <string>

#include "common/log.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "explain/explain.hpp"
#include "server/tcp_connection.hpp"
#include "server/udp_endpoint.hpp"
#include "zone/zone.hpp"

namespace meridian::server {

Worker::Worker(unsigned index, WorkerLimits limits, SnapshotPublisher* publisher)
    : index_(index), limits_(std::move(limits)), publisher_(publisher), tcp_response_(dns::kMaxMessageSize),
      random_((uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^ index), rate_limiter_(limits_.rrl),
      explain_budget_(limits_.explain_per_second, 2.0 * limits_.explain_per_second),
      signer_(limits_.signature_cache_entries, limits_.signatures_per_second,
              {(uint64_t{std::random_device{}()} << 32) | std::random_device{}(),
               (uint64_t{std::random_device{}()} << 32) | std::random_device{}()}) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &wakeup_, on_wakeup);
    wakeup_.data = this;
}

Worker::~Worker() {
    stop();
    uv_loop_close(&loop_);
}

unsigned Worker::overloaded_udp_sockets() const noexcept {
    unsigned n = 0;
    for (const auto& endpoint : udp_) n += endpoint->is_overloaded() ? 1 : 0;
    return n;
}

void Worker::add_udp_socket(int fd) { udp_.push_back(std::make_unique<UdpEndpoint>(this, fd)); }

void Worker::add_tcp_listener(int fd) {
    auto listener = std::make_unique<uv_tcp_t>();
    uv_tcp_init(&loop_, listener.get());
    listener->data = this;
    uv_tcp_open(listener.get(), fd);
    tcp_listeners_.push_back(std::move(listener));
}

void Worker::start() {
    snapshot_ = publisher_->acquire(index_);
    for (auto& endpoint : udp_) endpoint->start();
    for (auto& listener : tcp_listeners_) {
        uv_listen(reinterpret_cast<uv_stream_t*>(listener.get()), 1024, on_tcp_connection);
    }
    thread_ = std::thread([this] { run(); });
}

void Worker::run() {
    // Visible in top -H and /proc/PID/task/*/comm: which thread answers, which controls.
    const std::string name = "worker-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);
}

void Worker::stop() {
    if (thread_.joinable()) {
        is_stopping_.store(true);
        uv_async_send(&wakeup_);
        thread_.join();
    } else if (!is_stopping_.exchange(true)) {
        // Never started (start-up failed elsewhere): close the handles on this thread.
        close_all();
        uv_run(&loop_, UV_RUN_DEFAULT);
    }
}

void Worker::snapshot_changed() { uv_async_send(&wakeup_); }

void Worker::on_wakeup(uv_async_t* handle) {
    auto* self = static_cast<Worker*>(handle->data);
    if (self->is_stopping_.load()) {
        self->close_all();
        return;
    }
    self->snapshot_ = self->publisher_->acquire(self->index_);
}

void Worker::close_all() {
    for (auto& endpoint : udp_) endpoint->close();
    for (auto& listener : tcp_listeners_) uv_close(reinterpret_cast<uv_handle_t*>(listener.get()), nullptr);
    // Connections remove themselves from the list as they finish closing.
    for (TcpConnection* connection : std::vector<TcpConnection*>(connections_)) connection->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
}

void Worker::on_tcp_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<Worker*>(server->data);
    if (status < 0) return;
    auto* connection = new TcpConnection(self);
    if (uv_accept(server, connection->stream()) != 0) {
        connection->close();
        return;
    }
    self->connections_.push_back(connection);
    // Over a cap (this worker's, the server's, or this source's): accept and close at once, so
    // the client fails fast instead of waiting in the backlog (RFC 7766 §6.2.2).
    if (self->connections_.size() > self->limits_.tcp_max_connections || !connection->admit()) {
        self->stats_.tcp_refused.add();
        connection->close();
        return;
    }
    connection->start();
}

std::size_t Worker::answer(answer::ClientInfo* client, std::span<const uint8_t> query, std::span<uint8_t> response,
                           bool is_tcp, std::vector<uint8_t>* tcp_output) noexcept {
    client->wants_location = ++sample_tick_ % kSampleEvery == 0;
    client->signer = &signer_;
    client->now_ms = uv_now(&loop_);
    std::size_t size = answer::answer_query(*snapshot_, *client, query, response);
    if (client->outcome->is_explain_request) size = answer_explain(client, query, response, size);
    if (client->outcome->is_transfer_request || client->outcome->has_tsig)
        size = answer_transfer(*client, query, response, size, is_tcp, tcp_output);
    count(*client->outcome, is_tcp);
    return size;
}

// Explaining builds text, so it stays out of the core and behind the ACL and a rate limit;
// should it fail (memory), the REFUSED already written stands.
std::size_t Worker::answer_explain(answer::ClientInfo* client, std::span<const uint8_t> query,
                                   std::span<uint8_t> response, std::size_t refused_size) noexcept {
    if (!explain::may_explain(*snapshot_, client->source) || !explain_budget_.take(uv_now(&loop_))) return refused_size;
    try {
        const auto txt = explain::explain_txt(*snapshot_, query, client->source);
        if (!txt) return refused_size;
        client->explanation = *txt;
        const std::size_t size = answer::answer_query(*snapshot_, *client, query, response);
        client->explanation = {};
        return size;
    } catch (const std::exception&) {
        client->explanation = {};
        return refused_size;
    }
}

// Transfers and signed queries: rare, so they may allocate (and log a transfer made); should
// that fail, the core's answer (REFUSED for a transfer) stands.
std::size_t Worker::answer_transfer(const answer::ClientInfo& client, std::span<const uint8_t> query,
                                    std::span<uint8_t> response, std::size_t core_size, bool is_tcp,
                                    std::vector<uint8_t>* tcp_output) noexcept {
    try {
        xfr::Request request;
        request.query = query;
        request.source = client.source;
        request.is_tcp = is_tcp && tcp_output != nullptr;
        request.core_response = response.first(core_size);
        request.now_seconds = static_cast<uint64_t>(std::time(nullptr));
        const auto started = std::chrono::steady_clock::now();
        const xfr::Reply reply = xfr::serve(*snapshot_, request);
        if (reply.messages.empty()) return core_size;
        if (limits_.transfers != nullptr) limits_.transfers->count(reply.verdict);
        if (!request.is_tcp) {
            const std::vector<uint8_t>& message = reply.messages.front();
            if (message.size() > response.size()) return core_size;
            std::copy(message.begin(), message.end(), response.begin());
            return message.size();
        }
        std::size_t bytes = 0;
        for (const std::vector<uint8_t>& message : reply.messages) {
            const uint8_t header[2] = {static_cast<uint8_t>(message.size() >> 8), static_cast<uint8_t>(message.size())};
            tcp_output->insert(tcp_output->end(), header, header + 2);
            tcp_output->insert(tcp_output->end(), message.begin(), message.end());
            bytes += message.size();
        }
        if (reply.verdict == xfr::Verdict::transfer) {
            const auto ms = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                                  started);
            dns::Query parsed;
            dns::read_query(query, &parsed);
            log::info("transfer of " + dns::name_to_text(parsed.qname_lower.view()) + " to " +
                      geo::to_string(geo::from_sockaddr(client.source)) + ": " + std::to_string(reply.records) +
                      " records in " + std::to_string(reply.messages.size()) + " messages, " + std::to_string(bytes) +
                      " bytes, built in " + std::to_string(ms.count()) + " us");
        }
        return 0;
    } catch (const std::exception&) {
        return core_size;
    }
}

void Worker::count(const answer::Outcome& o, bool is_tcp) noexcept {
    const std::size_t transport = is_tcp ? 1 : 0;
    stats_.queries[transport].add();
    if (o.is_dropped) {
        stats_.dropped.add();
        return;
    }
    if (o.is_malformed) stats_.malformed.add();
    if (o.is_truncated) stats_.truncated.add();
    const stats::RcodeBucket rcode = stats::rcode_bucket(o.rcode);
    stats_.rcodes[transport][static_cast<std::size_t>(rcode)].add();
    if (o.zone == nullptr) return;
    zone::ZoneRuntime& runtime = *o.zone->runtime;
    stats::ZoneStats::Shard& shard = runtime.queries().shard(index_);
    shard.by_qtype[static_cast<std::size_t>(stats::qtype_bucket(o.qtype))].add();
    shard.by_rcode[static_cast<std::size_t>(rcode)].add();
    if (o.steered_name < 0) return;
    (o.is_from_ecs ? stats_.ecs : stats_.source).add();
    runtime.steering().count(static_cast<std::size_t>(o.steered_name), o.route, o.regions.data(), o.region_count);
    if (o.is_located && sample_tick_ % kSampleEvery == 0 && o.region_count > 0) {
        runtime.samples().record(index_, {static_cast<uint32_t>(o.steered_name),
                                          o.route,
                                          {o.country.chars[0], o.country.chars[1]},
                                          o.regions[0]});
    }
}

void Worker::connection_closed(TcpConnection* connection) noexcept {
    const auto it = std::find(connections_.begin(), connections_.end(), connection);
    if (it != connections_.end()) {
        *it = connections_.back();
        connections_.pop_back();
    }
}

}  // namespace meridian::server

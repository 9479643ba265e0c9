#include "server/tcp_connection.hpp"

#include <cstring>

#include "answer/answer.hpp"
#include "dns/wire.hpp"
#include "server/worker.hpp"

namespace meridian::server {

namespace {

constexpr std::size_t kFrameHeader = 2;
constexpr std::size_t kInitialInput = 4096;
constexpr std::size_t kMaxInput = kFrameHeader + dns::kMaxMessageSize;

}  // namespace

TcpConnection::TcpConnection(Worker* worker) : worker_(worker), input_(kInitialInput) {
    uv_tcp_init(worker_->loop(), &tcp_);
    uv_timer_init(worker_->loop(), &idle_timer_);
    tcp_.data = this;
    idle_timer_.data = this;
    write_request_.data = this;
    handles_open_ = 2;
}

bool TcpConnection::admit() {
    int peer_size = sizeof peer_;
    uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer_), &peer_size);
    TcpAdmission* admission = worker_->limits().tcp_admission;
    if (admission == nullptr) return true;
    admission_ticket_ = admission->admit(reinterpret_cast<const sockaddr*>(&peer_));
    return admission_ticket_ >= 0;
}

void TcpConnection::start() {
    uv_tcp_nodelay(&tcp_, 1);
    is_reading_ = uv_read_start(stream(), on_alloc, on_read) == 0;
    if (!is_reading_) {
        close();
        return;
    }
    restart_idle_timer();
}

void TcpConnection::restart_idle_timer() {
    uv_timer_start(&idle_timer_, on_idle, worker_->limits().tcp_idle_timeout_ms, 0);
}

void TcpConnection::close() {
    if (is_closing_) return;
    is_closing_ = true;
    uv_timer_stop(&idle_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
}

void TcpConnection::on_closed(uv_handle_t* handle) {
    auto* self = static_cast<TcpConnection*>(handle->data);
    if (--self->handles_open_ == 0) {
        if (TcpAdmission* admission = self->worker_->limits().tcp_admission)
            admission->release(self->admission_ticket_);
        self->worker_->connection_closed(self);
        delete self;
    }
}

void TcpConnection::on_idle(uv_timer_t* timer) {
    auto* self = static_cast<TcpConnection*>(timer->data);
    // Idle means no query is being read and nothing is waiting to go out (RFC 7766 §6.2.3);
    // a query still incomplete when its timer fires is a slow (or hostile) client.
    if (self->is_writing_ && !self->has_partial_query_) {
        self->restart_idle_timer();
        return;
    }
    self->close();
}

void TcpConnection::on_alloc(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) {
    auto* self = static_cast<TcpConnection*>(handle->data);
    std::vector<uint8_t>& in = self->input_;
    // Grow towards the size of the frame being read, never past one full frame.
    std::size_t wanted = self->input_used_ + kInitialInput;
    if (self->input_used_ >= kFrameHeader) {
        wanted = std::max(wanted, kFrameHeader + dns::read_u16(in.data()));
    }
    if (in.size() < wanted) in.resize(std::min(std::max(wanted, in.size() * 2), kMaxInput + kInitialInput));
    buf->base = reinterpret_cast<char*>(in.data() + self->input_used_);
    buf->len = in.size() - self->input_used_;
}

void TcpConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* /*buf*/) {
    auto* self = static_cast<TcpConnection*>(stream->data);
    if (nread < 0) {
        self->close();  // EOF or error: answers still queued are lost with the connection
        return;
    }
    if (nread == 0) return;
    self->input_used_ += static_cast<std::size_t>(nread);
    self->answer_frames();
    if (self->is_closing_) return;
    // A client may be idle between queries for the idle timeout, but a query it has begun must
    // arrive whole within the query timeout: a byte now and then does not keep it open.
    if (self->input_used_ == 0) {
        self->has_partial_query_ = false;
        self->restart_idle_timer();
    } else if (!self->has_partial_query_) {
        self->has_partial_query_ = true;
        uv_timer_start(&self->idle_timer_, on_idle, self->worker_->limits().tcp_query_timeout_ms, 0);
    }
}

void TcpConnection::answer_frames() {
    const std::span<uint8_t> response = worker_->tcp_response_buffer();
    answer::ClientInfo client;
    client.transport = answer::Transport::tcp;
    client.source = reinterpret_cast<const sockaddr*>(&peer_);
    client.random = worker_->random();
    answer::Outcome outcome;
    client.outcome = &outcome;
    std::size_t consumed = 0;
    while (!is_closing_ && input_used_ - consumed >= kFrameHeader) {
        if (pending_output() > worker_->limits().tcp_max_pending_output_bytes) break;  // let the client read first
        const std::size_t length = dns::read_u16(input_.data() + consumed);
        if (length == 0) {
            close();  // a zero-length message cannot be a query
            return;
        }
        if (input_used_ - consumed < kFrameHeader + length) break;  // the rest is still on the way
        const std::span<const uint8_t> query(input_.data() + consumed + kFrameHeader, length);
        const std::size_t size = worker_->answer(&client, query, response, /*is_tcp=*/true, &pending_);
        consumed += kFrameHeader + length;
        if (size == 0) continue;
        const uint8_t header[kFrameHeader] = {static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
        pending_.insert(pending_.end(), header, header + kFrameHeader);
        pending_.insert(pending_.end(), response.data(), response.data() + size);
    }
    if (consumed > 0) {
        std::memmove(input_.data(), input_.data() + consumed, input_used_ - consumed);
        input_used_ -= consumed;
    }
    // Backpressure: stop reading while too much output waits for a slow reader.
    const bool is_backlogged = pending_output() > worker_->limits().tcp_max_pending_output_bytes;
    if (is_backlogged && is_reading_) {
        uv_read_stop(stream());
        is_reading_ = false;
    }
    flush();
}

void TcpConnection::flush() {
    if (is_writing_ || pending_.empty() || is_closing_) return;
    in_flight_.swap(pending_);
    pending_.clear();
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(in_flight_.data()), static_cast<unsigned>(in_flight_.size()));
    if (uv_write(&write_request_, stream(), &buf, 1, on_write) != 0) {
        close();
        return;
    }
    is_writing_ = true;
}

void TcpConnection::on_write(uv_write_t* request, int status) {
    auto* self = static_cast<TcpConnection*>(request->data);
    self->is_writing_ = false;
    self->in_flight_.clear();
    if (status < 0 || self->is_closing_) {
        self->close();
        return;
    }
    // Frames already buffered may now be answered; then resume reading when below the bound.
    self->answer_frames();
    if (!self->is_closing_ && !self->is_reading_ &&
        self->pending_output() <= self->worker_->limits().tcp_max_pending_output_bytes) {
        self->is_reading_ = uv_read_start(self->stream(), on_alloc, on_read) == 0;
    }
    if (!self->has_partial_query_) self->restart_idle_timer();
}

}  // namespace meridian::server

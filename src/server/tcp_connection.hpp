// One DNS-over-TCP connection (RFC 7766): two-byte length framing, pipelined queries answered
// in order of arrival, an idle timeout, and a bound on output waiting for a slow reader.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <vector>

namespace meridian::server {

class Worker;

class TcpConnection {
public:
    explicit TcpConnection(Worker* worker);
    TcpConnection(const TcpConnection&) = delete;
    TcpConnection& operator=(const TcpConnection&) = delete;

    uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&tcp_); }
    // Counts the connection against the server-wide caps; false when over one.
    bool admit();
    void start();
    void close();  // idempotent; the object deletes itself when libuv is done with it

private:
    ~TcpConnection() = default;

    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* request, int status);
    static void on_idle(uv_timer_t* timer);
    static void on_closed(uv_handle_t* handle);

    void answer_frames();
    void flush();
    void restart_idle_timer();
    std::size_t pending_output() const noexcept { return pending_.size() + in_flight_.size(); }

    Worker* worker_;
    sockaddr_storage peer_{};  // the client, for steering
    uv_tcp_t tcp_{};
    uv_timer_t idle_timer_{};
    uv_write_t write_request_{};
    std::vector<uint8_t> input_;
    std::size_t input_used_ = 0;
    std::vector<uint8_t> pending_;    // answers not yet handed to libuv
    std::vector<uint8_t> in_flight_;  // the buffer of the write in progress
    bool is_writing_ = false;
    bool is_reading_ = false;
    bool is_closing_ = false;
    bool has_partial_query_ = false;  // a frame has begun but not ended: the query timer runs
    int handles_open_ = 0;
    int admission_ticket_ = -1;
};

}  // namespace meridian::server

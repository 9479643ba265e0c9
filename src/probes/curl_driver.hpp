// libcurl's multi interface driven by a libuv loop: sockets watched with uv_poll, curl's timer
// with a uv_timer, so HTTP(S) probes and webhooks run concurrently on the control thread with
// no thread per request. A request may also stream: its body is handed to on_chunk as it arrives
// (an etcd watch), with no total timeout and TCP keep-alives instead.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace meridian::probes {

struct HttpRequest {
    std::string url;
    std::string method = "GET";
    std::string body;                  // for POST
    std::vector<std::string> headers;  // "Name: value"
    std::string resolve;               // CURLOPT_RESOLVE entry "host:port:address", or ""
    long timeout_ms = 1000;            // the whole transfer; 0: none (a stream), see connect_timeout_ms
    // Connecting alone; 0: within timeout_ms, or 5000 ms when timeout_ms is 0.
    long connect_timeout_ms = 0;
    bool verify_tls = true;
    std::string ca_file;    // PEM bundle to verify the server with instead of the system's ("" = system)
    std::string cert_file;  // client certificate (PEM), and its key, for mutual TLS ("" = none)
    std::string key_file;
    std::size_t max_body = std::size_t{64} * 1024;  // bytes kept of the response body
    // Streaming: when set, every piece of the body goes to on_chunk as it arrives (response.body
    // stays empty); returning false aborts the transfer, which then ends with an error. A request
    // with timeout_ms 0 gets TCP keep-alives (idle 4 s, every 2 s, 3 probes) so a peer that
    // vanished without closing is noticed within about 10 s.
    std::function<bool(std::string_view chunk)> on_chunk;
};

struct HttpResponse {
    bool is_transport_ok = false;  // a response arrived (any status)
    long status = 0;
    std::string body;
    std::string error;  // curl's words when !is_transport_ok
    uint32_t elapsed_ms = 0;
    bool is_truncated = false;                   // the body was longer than max_body (only that much is kept)
    std::map<std::string, std::string> headers;  // by lower-case name; the last of a repeated one
};

class CurlDriver {
public:
    explicit CurlDriver(uv_loop_t* loop);
    ~CurlDriver();
    CurlDriver(const CurlDriver&) = delete;
    CurlDriver& operator=(const CurlDriver&) = delete;

    // Starts a transfer; done is called once when it ends (not after cancel or close). The id is
    // for cancel; it is never 0.
    uint64_t start(const HttpRequest& request, std::function<void(const HttpResponse&)> done);
    // Ends one transfer without calling its done or on_chunk again; an unknown or finished id is
    // ignored. Safe from any callback of this driver, its own transfer's included.
    void cancel(uint64_t id);
    void close();  // cancels what is in flight (callbacks are not called) and releases the handles
    std::size_t active() const { return transfers_.size(); }

private:
    struct Transfer;
    struct Socket;

    static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* transfer);
    static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* transfer);
    static int on_socket(CURL* easy, curl_socket_t fd, int what, void* driver, void* socket);
    static int on_timer(CURLM* multi, long timeout_ms, void* driver);
    static void on_poll(uv_poll_t* handle, int status, int events);
    static void on_timeout(uv_timer_t* handle);
    void finish_transfers();
    void release(CURL* easy);
    void reap_cancelled();

    uv_loop_t* loop_;
    CURLM* multi_ = nullptr;
    uv_timer_t timer_{};
    bool is_closed_ = false;
    int curl_depth_ = 0;  // > 0 while inside curl_multi_socket_action (no handle may be removed)
    uint64_t next_id_ = 1;
    std::map<CURL*, std::unique_ptr<Transfer>> transfers_;
    std::map<uint64_t, CURL*> ids_;
    std::vector<CURL*> cancelled_;  // cancelled inside a curl callback, removed right after it
    std::vector<CURL*> added_;      // started inside a curl callback, added right after it
};

}  // namespace meridian::probes

// libcurl's multi interface driven by a libuv loop: sockets watched with uv_poll, curl's timer
// with a uv_timer, so HTTP(S) probes and webhooks run concurrently on the control thread with
// no thread per request.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace meridian::probes {

struct HttpRequest {
    std::string url;
    std::string method = "GET";
    std::string body;                  // for POST
    std::vector<std::string> headers;  // "Name: value"
    std::string resolve;               // CURLOPT_RESOLVE entry "host:port:address", or ""
    long timeout_ms = 1000;
    bool verify_tls = true;
    std::size_t max_body = std::size_t{64} * 1024;  // bytes kept of the response body
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

    void start(const HttpRequest& request, std::function<void(const HttpResponse&)> done);
    void close();  // cancels what is in flight (callbacks are not called) and releases the handles

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

    uv_loop_t* loop_;
    CURLM* multi_ = nullptr;
    uv_timer_t timer_{};
    bool is_closed_ = false;
    std::map<CURL*, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace meridian::probes

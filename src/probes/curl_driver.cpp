#include "probes/curl_driver.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string_view>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace meridian::probes {

struct CurlDriver::Transfer {
    CURL* easy = nullptr;
    uint64_t id = 0;
    bool is_cancelled = false;
    std::function<bool(std::string_view)> on_chunk;
    curl_slist* headers = nullptr;
    curl_slist* resolve = nullptr;
    std::string body;
    std::size_t max_body = 0;
    bool is_truncated = false;
    std::map<std::string, std::string> response_headers;
    std::string post_body;
    std::function<void(const HttpResponse&)> done;
    char error[CURL_ERROR_SIZE] = {};
    std::chrono::steady_clock::time_point started;
};

struct CurlDriver::Socket {
    uv_poll_t poll{};
    curl_socket_t fd;
    CurlDriver* driver;
};

std::size_t CurlDriver::on_body(char* data, std::size_t size, std::size_t count, void* transfer_ptr) {
    auto* transfer = static_cast<Transfer*>(transfer_ptr);
    const std::size_t n = size * count;
    if (transfer->is_cancelled) return 0;  // curl ends the transfer with a write error
    if (transfer->on_chunk) {
        // The callback may cancel this transfer (or others): keep it alive by the raw pointer, as
        // a cancel inside curl only marks it.
        const bool is_wanted = transfer->on_chunk(std::string_view(data, n));
        return is_wanted && !transfer->is_cancelled ? n : 0;
    }
    const std::size_t room = transfer->max_body > transfer->body.size() ? transfer->max_body - transfer->body.size()
                                                                        : 0;
    transfer->body.append(data, std::min(n, room));
    transfer->is_truncated = transfer->is_truncated || n > room;
    return n;  // keep reading past the cap; only the first max_body bytes are kept
}

// "Name: value\r\n" lines of the response (and of every interim response before it).
std::size_t CurlDriver::on_header(char* data, std::size_t size, std::size_t count, void* transfer_ptr) {
    auto* transfer = static_cast<Transfer*>(transfer_ptr);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || transfer->response_headers.size() >= 64) return n;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    transfer->response_headers[name] = std::string(value.substr(0, 1024));
    return n;
}

namespace {

// Streams only: with TCP keep-alives on (curl sets idle and interval), give up after 3 unanswered probes.
int set_keepalive_count(void* /*clientp*/, curl_socket_t fd, curlsocktype purpose) {
    if (purpose == CURLSOCKTYPE_IPCXN) {
        const int count = 3;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }
    return CURL_SOCKOPT_OK;
}

}  // namespace

CurlDriver::CurlDriver(uv_loop_t* loop) : loop_(loop) {
    static const bool is_initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    (void)is_initialised;
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
}

CurlDriver::~CurlDriver() { close(); }

void CurlDriver::close() {
    if (is_closed_) return;
    is_closed_ = true;
    for (auto& [easy, transfer] : transfers_) {
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
        curl_slist_free_all(transfer->headers);
        curl_slist_free_all(transfer->resolve);
    }
    transfers_.clear();
    ids_.clear();
    cancelled_.clear();
    added_.clear();
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

uint64_t CurlDriver::start(const HttpRequest& request, std::function<void(const HttpResponse&)> done) {
    if (is_closed_) return 0;
    auto transfer = std::make_unique<Transfer>();
    CURL* easy = curl_easy_init();
    transfer->easy = easy;
    transfer->id = next_id_++;
    transfer->done = std::move(done);
    transfer->on_chunk = request.on_chunk;
    transfer->max_body = request.max_body;
    transfer->started = std::chrono::steady_clock::now();
    for (const std::string& h : request.headers) transfer->headers = curl_slist_append(transfer->headers, h.c_str());
    if (!request.resolve.empty()) transfer->resolve = curl_slist_append(transfer->resolve, request.resolve.c_str());
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    if (request.connect_timeout_ms > 0 || request.timeout_ms == 0) {
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                         request.connect_timeout_ms > 0 ? request.connect_timeout_ms : 5000L);
    }
    if (request.timeout_ms == 0) {
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 4L);
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 2L);
        curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, set_keepalive_count);
    }
    if (!request.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, request.ca_file.c_str());
    if (!request.cert_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, request.cert_file.c_str());
    if (!request.key_file.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, request.key_file.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    // A fresh connection every time: a probe measures connecting too, and a connection kept to
    // one region's address must never carry another region's probe of the same host name.
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer: judge its status
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "meridian-health/1");
    if (transfer->headers != nullptr) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
    if (transfer->resolve != nullptr) curl_easy_setopt(easy, CURLOPT_RESOLVE, transfer->resolve);
    if (request.method == "POST") {
        transfer->post_body = request.body;
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer->post_body.c_str());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(transfer->post_body.size()));
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
    const uint64_t id = transfer->id;
    transfers_[easy] = std::move(transfer);
    ids_[id] = easy;
    if (curl_depth_ > 0) {
        added_.push_back(easy);  // curl refuses an add from inside its callbacks: right after it
    } else {
        curl_multi_add_handle(multi_, easy);
    }
    return id;
}

void CurlDriver::cancel(uint64_t id) {
    auto found = ids_.find(id);
    if (found == ids_.end()) return;
    CURL* easy = found->second;
    ids_.erase(found);
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) return;
    Transfer& transfer = *it->second;
    transfer.is_cancelled = true;
    if (curl_depth_ > 0) {
        // curl forbids removing a handle from inside its callbacks: done right after it returns.
        // The callbacks stay (one may be running now) but are never called again.
        cancelled_.push_back(easy);
        return;
    }
    release(easy);
}

// Removes a transfer from the multi handle and frees it, calling nothing.
void CurlDriver::release(CURL* easy) {
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> transfer = std::move(it->second);
    transfers_.erase(it);
    ids_.erase(transfer->id);
    curl_multi_remove_handle(multi_, easy);  // also fine for a handle never added
    curl_easy_cleanup(easy);
    curl_slist_free_all(transfer->headers);
    curl_slist_free_all(transfer->resolve);
}

void CurlDriver::reap_cancelled() {
    while (!cancelled_.empty() && !is_closed_) {
        CURL* easy = cancelled_.back();
        cancelled_.pop_back();
        release(easy);
    }
    while (!added_.empty() && !is_closed_) {
        CURL* easy = added_.front();
        added_.erase(added_.begin());
        auto it = transfers_.find(easy);
        if (it == transfers_.end()) continue;
        if (it->second->is_cancelled) {
            release(easy);
        } else {
            curl_multi_add_handle(multi_, easy);
        }
    }
}

int CurlDriver::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* driver_ptr, void* socket_ptr) {
    auto* driver = static_cast<CurlDriver*>(driver_ptr);
    auto* socket = static_cast<Socket*>(socket_ptr);
    if (what == CURL_POLL_REMOVE) {
        if (socket != nullptr) {
            uv_poll_stop(&socket->poll);
            uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll),
                     [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
            curl_multi_assign(driver->multi_, fd, nullptr);
        }
        return 0;
    }
    if (socket == nullptr) {
        socket = new Socket{{}, fd, driver};
        uv_poll_init_socket(driver->loop_, &socket->poll, fd);
        socket->poll.data = socket;
        curl_multi_assign(driver->multi_, fd, socket);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    uv_poll_start(&socket->poll, events, on_poll);
    return 0;
}

void CurlDriver::on_poll(uv_poll_t* handle, int status, int events) {
    auto* socket = static_cast<Socket*>(handle->data);
    CurlDriver* driver = socket->driver;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if ((events & UV_READABLE) != 0) flags |= CURL_CSELECT_IN;
    if ((events & UV_WRITABLE) != 0) flags |= CURL_CSELECT_OUT;
    int running = 0;
    ++driver->curl_depth_;
    curl_multi_socket_action(driver->multi_, socket->fd, flags, &running);
    --driver->curl_depth_;
    driver->finish_transfers();
}

int CurlDriver::on_timer(CURLM* /*multi*/, long timeout_ms, void* driver_ptr) {
    auto* driver = static_cast<CurlDriver*>(driver_ptr);
    if (timeout_ms < 0) {
        uv_timer_stop(&driver->timer_);
    } else {
        // 0 means "now"; a uv timer of 0 runs on the next loop iteration, which is what curl wants.
        uv_timer_start(&driver->timer_, on_timeout, static_cast<uint64_t>(timeout_ms), 0);
    }
    return 0;
}

void CurlDriver::on_timeout(uv_timer_t* handle) {
    auto* driver = static_cast<CurlDriver*>(handle->data);
    int running = 0;
    ++driver->curl_depth_;
    curl_multi_socket_action(driver->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    --driver->curl_depth_;
    driver->finish_transfers();
}

void CurlDriver::finish_transfers() {
    reap_cancelled();
    int pending = 0;
    // A done callback may close the driver: the loop then stops (multi_ is null).
    while (multi_ != nullptr) {
        CURLMsg* message = curl_multi_info_read(multi_, &pending);
        if (message == nullptr) break;
        if (message->msg != CURLMSG_DONE) continue;
        CURL* easy = message->easy_handle;
        const CURLcode code = message->data.result;
        auto it = transfers_.find(easy);
        if (it == transfers_.end()) continue;
        if (it->second->is_cancelled) {
            release(easy);
            continue;
        }
        std::unique_ptr<Transfer> transfer = std::move(it->second);
        transfers_.erase(it);
        ids_.erase(transfer->id);
        HttpResponse response;
        response.elapsed_ms = static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - transfer->started)
                .count());
        response.is_transport_ok = code == CURLE_OK;
        if (response.is_transport_ok) {
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
            response.body = std::move(transfer->body);
            response.is_truncated = transfer->is_truncated;
            response.headers = std::move(transfer->response_headers);
        } else {
            response.error = transfer->error[0] != 0 ? transfer->error : curl_easy_strerror(code);
            if (code == CURLE_WRITE_ERROR && transfer->on_chunk) response.error = "stopped by the receiver";
            if (code == CURLE_OPERATION_TIMEDOUT) response.error = "timeout: " + response.error;
        }
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
        curl_slist_free_all(transfer->headers);
        curl_slist_free_all(transfer->resolve);
        transfer->done(response);
    }
}

}  // namespace meridian::probes

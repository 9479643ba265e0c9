// An asynchronous etcd v3 client on the control loop, over etcd's JSON gateway (/v3/...) with the
// probes' CurlDriver: leases, put, remove, prefix ranges and streaming prefix watches. Every
// callback runs on the loop's thread; nothing blocks. Endpoints are tried in order, the next on a
// transport error; with a user, a token from /v3/auth/authenticate goes with every request and is
// renewed once when etcd calls it invalid or expired.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fleet/etcd_reply.hpp"
#include "probes/curl_driver.hpp"

namespace meridian::fleet {

struct EtcdSettings {
    std::vector<std::string>
        endpoints;               // "http://127.0.0.1:2379" or https://...; tried in order, next on transport error
    std::string user, password;  // etcd auth: token sent as "Authorization: <token>"
    std::string ca_file, cert_file, key_file;  // TLS: CA to verify the server, client cert/key (optional)
    bool verify_tls = true;
    uint32_t timeout_ms = 2000;  // per request (not for watches)
    // A watch stream silent for this long has its endpoint asked for its status (one request with
    // timeout_ms); no reply ends the watch. A frozen server is thus noticed within about
    // watch_check_ms + timeout_ms + 1 s, a closed connection at once.
    uint32_t watch_check_ms = 3000;
};

class EtcdClient {
public:
    EtcdClient(uv_loop_t* loop, probes::CurlDriver* curl, EtcdSettings settings);
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    void grant_lease(int64_t ttl_s, std::function<void(EtcdError, int64_t lease_id, int64_t ttl_s)> done);
    void keep_alive(int64_t lease_id,
                    std::function<void(EtcdError, int64_t ttl_s)> done);  // ttl 0 (or error) => lease gone
    void revoke_lease(int64_t lease_id, std::function<void(EtcdError)> done);
    void put(const std::string& key, const std::string& value, int64_t lease_id,
             std::function<void(EtcdError, int64_t revision)> done);
    void remove(const std::string& key, std::function<void(EtcdError)> done);  // one key
    void range_prefix(const std::string& prefix, std::function<void(RangeResult)> done);
    // A streaming watch of every key under prefix from start_revision (0 = now). on_events gets
    // each batch with the header revision; on_end is called once when the stream ends for any
    // reason (error, server gone, compacted: the message says so) — the caller re-lists and
    // re-watches. Progress notifications and empty frames are not reported. Returns an id for
    // cancel_watch (never 0).
    uint64_t watch_prefix(const std::string& prefix, int64_t start_revision,
                          std::function<void(const std::vector<WatchEvent>&, int64_t revision)> on_events,
                          std::function<void(EtcdError)> on_end);
    void cancel_watch(uint64_t id);  // on_end not called after cancel
    void close();                    // cancels everything; no callback after close

    std::size_t watch_count() const { return watches_.size(); }

private:
    using Reply = std::function<void(EtcdError, const std::string& body)>;
    struct Watch;

    // POST path with body (JSON text) to the endpoints in turn, with the token when there is a
    // user; done gets the body of a 200 that carries no error, else the error.
    void call(const std::string& path, const std::string& body, Reply done);
    void send(const std::string& path, const std::string& body, std::size_t attempt, bool is_auth_retry,
              const std::shared_ptr<Reply>& done);
    // Runs then() once a token is there (at once without a user); then(error) when none can be had.
    void with_token(std::function<void(const EtcdError&)> then);
    void authenticate();
    probes::HttpRequest request_for(std::size_t endpoint, const std::string& path, const std::string& body) const;
    std::string endpoint_name(std::size_t endpoint) const;

    void open_watch(uint64_t id);
    bool on_watch_data(uint64_t id, std::string_view chunk);
    void on_watch_closed(uint64_t id, const probes::HttpResponse& response);
    void end_watch(uint64_t id, EtcdError error);
    void check_watches();
    static void on_tick(uv_timer_t* timer);

    uv_loop_t* loop_;
    probes::CurlDriver* curl_;
    EtcdSettings settings_;
    std::shared_ptr<bool> alive_;  // false once closed or destroyed: callbacks in flight stop there
    std::size_t preferred_ = 0;    // the endpoint that answered last
    std::string token_;
    bool is_authenticating_ = false;
    std::vector<std::function<void(const EtcdError&)>> token_waiters_;
    std::map<uint64_t, uint64_t> requests_;  // our request id → curl transfer id, for close()
    uint64_t next_request_ = 1;
    std::map<uint64_t, std::unique_ptr<Watch>> watches_;
    uint64_t next_watch_ = 1;
    uv_timer_t* tick_ = nullptr;  // checks silent watch streams once a second
};

}  // namespace meridian::fleet

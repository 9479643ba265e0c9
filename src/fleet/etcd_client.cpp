#include "fleet/etcd_client.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace meridian::fleet {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kAuthPath = "/v3/auth/authenticate";
constexpr std::size_t kMaxReplyBytes = std::size_t{256} * 1024 * 1024;  // a range of the whole fleet

// "http://127.0.0.1:2379/" → "127.0.0.1:2379", as messages name an endpoint.
std::string host_of(const std::string& url) {
    std::string_view rest = url;
    const std::size_t scheme = rest.find("://");
    if (scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
    rest = rest.substr(0, rest.find('/'));
    return std::string(rest);
}

// curl's words for what went wrong, shortened to what an operator needs.
std::string describe_transport(const std::string& curl_error, uint32_t timeout_ms) {
    if (curl_error.find("Connection refused") != std::string::npos ||
        curl_error.find("Couldn't connect to server") != std::string::npos)
        return "connection refused";
    if (curl_error.rfind("timeout:", 0) == 0) {
        if (curl_error.find("Connection timed out") != std::string::npos ||
            curl_error.find("onnection timeout") != std::string::npos)
            return "no connection within " + std::to_string(timeout_ms) + " ms";
        return "no reply within " + std::to_string(timeout_ms) + " ms";
    }
    if (curl_error.find("Empty reply") != std::string::npos) return "connection closed without a reply";
    if (curl_error.find("outstanding read data") != std::string::npos) return "connection closed by the server";
    return curl_error;
}

// Unauthenticated (gRPC code 16): the token expired or the server no longer knows it.
bool is_token_error(const EtcdError& error) {
    return error.code == 16 || error.message.find("invalid auth token") != std::string::npos;
}

std::optional<json> object_of(const std::string& body) {
    json value = json::parse(body, nullptr, false);
    if (value.is_discarded() || !value.is_object()) return std::nullopt;
    return value;
}

EtcdError unreadable(const std::string& what) { return EtcdError::failure("etcd: unreadable " + what + " reply"); }

}  // namespace

struct EtcdClient::Watch {
    std::string prefix;
    int64_t next_revision = 0;  // where a reopened stream starts (0: now)
    std::function<void(const std::vector<WatchEvent>&, int64_t)> on_events;
    std::function<void(EtcdError)> on_end;
    uint64_t transfer = 0;  // the stream's curl transfer, 0 while none is open
    uint64_t check = 0;     // a status check of its endpoint in flight
    std::size_t attempt = 0;
    std::size_t endpoint = 0;
    bool is_created = false;
    bool is_auth_retried = false;
    std::string token;  // the token the stream was opened with
    std::string buffer;
    Clock::time_point last_heard;
};

EtcdClient::EtcdClient(uv_loop_t* loop, probes::CurlDriver* curl, EtcdSettings settings)
    : loop_(loop), curl_(curl), settings_(std::move(settings)), alive_(std::make_shared<bool>(true)) {
    tick_ = new uv_timer_t{};  // NOLINT(cppcoreguidelines-owning-memory): freed by its close callback
    uv_timer_init(loop_, tick_);
    tick_->data = this;
    uv_timer_start(tick_, on_tick, 1000, 1000);
    uv_unref(reinterpret_cast<uv_handle_t*>(tick_));  // never keeps the loop running by itself
}

EtcdClient::~EtcdClient() { close(); }

void EtcdClient::close() {
    if (!*alive_) return;
    *alive_ = false;
    for (const auto& [request, transfer] : requests_) curl_->cancel(transfer);
    requests_.clear();
    for (const auto& [id, watch] : watches_) {
        curl_->cancel(watch->transfer);
        curl_->cancel(watch->check);
    }
    watches_.clear();
    token_waiters_.clear();
    uv_timer_stop(tick_);
    uv_close(reinterpret_cast<uv_handle_t*>(tick_), [](uv_handle_t* handle) {
        delete reinterpret_cast<uv_timer_t*>(handle);  // NOLINT(cppcoreguidelines-owning-memory)
    });
    tick_ = nullptr;
}

std::string EtcdClient::endpoint_name(std::size_t endpoint) const {
    if (settings_.endpoints.empty()) return "(no endpoint)";
    return host_of(settings_.endpoints[endpoint % settings_.endpoints.size()]);
}

probes::HttpRequest EtcdClient::request_for(std::size_t endpoint, const std::string& path,
                                            const std::string& body) const {
    probes::HttpRequest request;
    std::string base = settings_.endpoints[endpoint % settings_.endpoints.size()];
    while (!base.empty() && base.back() == '/') base.pop_back();
    request.url = base + path;
    request.method = "POST";
    request.body = body;
    request.headers.emplace_back("Content-Type: application/json");
    if (!token_.empty() && path != kAuthPath) request.headers.push_back("Authorization: " + token_);
    request.timeout_ms = settings_.timeout_ms;
    request.verify_tls = settings_.verify_tls;
    request.ca_file = settings_.ca_file;
    request.cert_file = settings_.cert_file;
    request.key_file = settings_.key_file;
    request.max_body = kMaxReplyBytes;
    return request;
}

void EtcdClient::call(const std::string& path, const std::string& body, Reply done) {
    auto shared = std::make_shared<Reply>(std::move(done));
    if (settings_.endpoints.empty()) {
        (*shared)(EtcdError::failure("etcd: no endpoints configured"), "");
        return;
    }
    auto alive = alive_;
    with_token([this, alive, path, body, shared](const EtcdError& error) {
        if (!*alive) return;
        if (!error.is_ok) {
            (*shared)(error, "");
            return;
        }
        send(path, body, 0, false, shared);
    });
}

void EtcdClient::send(const std::string& path, const std::string& body, std::size_t attempt, bool is_auth_retry,
                      const std::shared_ptr<Reply>& done) {
    const std::size_t endpoint = (preferred_ + attempt) % settings_.endpoints.size();
    const uint64_t request = next_request_++;
    const std::string token = token_;
    auto alive = alive_;
    auto on_done = [this, alive, path, body, attempt, is_auth_retry, done, endpoint, request,
                    token](const probes::HttpResponse& response) {
        if (!*alive) return;
        requests_.erase(request);
        if (!response.is_transport_ok) {
            if (attempt + 1 < settings_.endpoints.size()) {
                send(path, body, attempt + 1, is_auth_retry, done);
                return;
            }
            (*done)(EtcdError::failure("etcd " + endpoint_name(endpoint) + ": " +
                                       describe_transport(response.error, settings_.timeout_ms)),
                    "");
            return;
        }
        preferred_ = endpoint;
        if (response.is_truncated) {
            (*done)(EtcdError::failure("etcd " + endpoint_name(endpoint) + ": reply larger than " +
                                       std::to_string(kMaxReplyBytes) + " bytes"),
                    "");
            return;
        }
        EtcdError error = parse_error(response.status, response.body);
        if (!error.is_ok && is_token_error(error) && !settings_.user.empty() && !is_auth_retry && path != kAuthPath) {
            // Expired or unknown token: a new one (unless another request got it already), then once more.
            if (token_ == token) token_.clear();
            with_token([this, alive, path, body, done](const EtcdError& auth_error) {
                if (!*alive) return;
                if (!auth_error.is_ok) {
                    (*done)(auth_error, "");
                    return;
                }
                send(path, body, 0, true, done);
            });
            return;
        }
        (*done)(error, response.body);
    };
    const uint64_t transfer = curl_->start(request_for(endpoint, path, body), std::move(on_done));
    if (transfer == 0) {
        (*done)(EtcdError::failure("etcd: the HTTP driver is closed"), "");
        return;
    }
    requests_[request] = transfer;
}

void EtcdClient::with_token(std::function<void(const EtcdError&)> then) {
    if (settings_.user.empty() || !token_.empty()) {
        then(EtcdError{});
        return;
    }
    token_waiters_.push_back(std::move(then));
    if (!is_authenticating_) authenticate();
}

void EtcdClient::authenticate() {
    is_authenticating_ = true;
    const std::string body = json{{"name", settings_.user}, {"password", settings_.password}}.dump();
    auto alive = alive_;
    auto done = std::make_shared<Reply>([this, alive](EtcdError error, const std::string& reply) {
        if (!*alive) return;
        is_authenticating_ = false;
        if (error.is_ok) {
            const std::optional<json> object = object_of(reply);
            const json token = object ? object->value("token", json()) : json();
            if (token.is_string() && !token.get<std::string>().empty()) {
                token_ = token.get<std::string>();
            } else {
                error = unreadable("authenticate");
            }
        }
        std::vector<std::function<void(const EtcdError&)>> waiters;
        waiters.swap(token_waiters_);
        for (auto& waiter : waiters) {
            waiter(error);
            if (!*alive) return;
        }
    });
    send(kAuthPath, body, 0, true, done);
}

void EtcdClient::grant_lease(int64_t ttl_s, std::function<void(EtcdError, int64_t, int64_t)> done) {
    if (!*alive_) return;
    call("/v3/lease/grant", json{{"TTL", ttl_s}}.dump(),
         [done = std::move(done)](EtcdError error, const std::string& body) {
             if (!error.is_ok) {
                 done(std::move(error), 0, 0);
                 return;
             }
             const std::optional<json> reply = object_of(body);
             const std::optional<int64_t> id = reply ? json_int64(reply->value("ID", json())) : std::nullopt;
             const std::optional<int64_t> ttl = reply ? json_int64(reply->value("TTL", json())) : std::nullopt;
             if (!id || !ttl || *id == 0) {
                 done(unreadable("lease grant"), 0, 0);
                 return;
             }
             done(EtcdError{}, *id, *ttl);
         });
}

void EtcdClient::keep_alive(int64_t lease_id, std::function<void(EtcdError, int64_t)> done) {
    if (!*alive_) return;
    // A stream on the gateway: one request, one {"result":{...}} back, then the server ends it.
    call("/v3/lease/keepalive", json{{"ID", lease_id}}.dump(),
         [done = std::move(done)](EtcdError error, const std::string& body) {
             if (!error.is_ok) {
                 done(std::move(error), 0);
                 return;
             }
             const std::optional<json> reply = object_of(body.substr(0, body.find('\n')));
             const json result = reply ? reply->value("result", json()) : json();
             if (!result.is_object()) {
                 done(unreadable("lease keep-alive"), 0);
                 return;
             }
             const std::optional<int64_t> ttl = json_int64(result.value("TTL", json()));
             if (!ttl) {
                 done(unreadable("lease keep-alive"), 0);
                 return;
             }
             done(EtcdError{}, std::max<int64_t>(*ttl, 0));  // TTL left out: the lease is gone
         });
}

void EtcdClient::revoke_lease(int64_t lease_id, std::function<void(EtcdError)> done) {
    if (!*alive_) return;
    call("/v3/lease/revoke", json{{"ID", lease_id}}.dump(),
         [done = std::move(done)](EtcdError error, const std::string& /*body*/) { done(std::move(error)); });
}

void EtcdClient::put(const std::string& key, const std::string& value, int64_t lease_id,
                     std::function<void(EtcdError, int64_t)> done) {
    if (!*alive_) return;
    json request{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
    if (lease_id != 0) request["lease"] = lease_id;
    call("/v3/kv/put", request.dump(), [done = std::move(done)](EtcdError error, const std::string& body) {
        if (!error.is_ok) {
            done(std::move(error), 0);
            return;
        }
        const std::optional<json> reply = object_of(body);
        if (!reply) {
            done(unreadable("put"), 0);
            return;
        }
        done(EtcdError{}, header_revision(*reply));
    });
}

void EtcdClient::remove(const std::string& key, std::function<void(EtcdError)> done) {
    if (!*alive_) return;
    call("/v3/kv/deleterange", json{{"key", base64_encode(key)}}.dump(),
         [done = std::move(done)](EtcdError error, const std::string& /*body*/) { done(std::move(error)); });
}

void EtcdClient::range_prefix(const std::string& prefix, std::function<void(RangeResult)> done) {
    if (!*alive_) return;
    // The empty prefix is every key: from "\0" to the end of the key space.
    const std::string key = prefix.empty() ? std::string(1, '\0') : prefix;
    const json request{{"key", base64_encode(key)}, {"range_end", base64_encode(prefix_range_end(prefix))}};
    call("/v3/kv/range", request.dump(), [done = std::move(done)](EtcdError error, const std::string& body) {
        if (!error.is_ok) {
            RangeResult failed;
            failed.error = std::move(error);
            done(std::move(failed));
            return;
        }
        done(parse_range(200, body));
    });
}

uint64_t EtcdClient::watch_prefix(const std::string& prefix, int64_t start_revision,
                                  std::function<void(const std::vector<WatchEvent>&, int64_t)> on_events,
                                  std::function<void(EtcdError)> on_end) {
    if (!*alive_) return 0;
    const uint64_t id = next_watch_++;
    auto watch = std::make_unique<Watch>();
    watch->prefix = prefix;
    watch->next_revision = start_revision;
    watch->on_events = std::move(on_events);
    watch->on_end = std::move(on_end);
    watches_[id] = std::move(watch);
    if (settings_.endpoints.empty()) {
        end_watch(id, EtcdError::failure("etcd: no endpoints configured"));
        return id;
    }
    open_watch(id);
    return id;
}

void EtcdClient::open_watch(uint64_t id) {
    auto alive = alive_;
    with_token([this, alive, id](const EtcdError& error) {
        if (!*alive) return;
        auto it = watches_.find(id);
        if (it == watches_.end()) return;
        Watch& watch = *it->second;
        if (!error.is_ok) {
            end_watch(id, error);
            return;
        }
        const std::string key = watch.prefix.empty() ? std::string(1, '\0') : watch.prefix;
        json create{{"key", base64_encode(key)}, {"range_end", base64_encode(prefix_range_end(watch.prefix))}};
        if (watch.next_revision > 0) create["start_revision"] = watch.next_revision;
        watch.endpoint = (preferred_ + watch.attempt) % settings_.endpoints.size();
        probes::HttpRequest request = request_for(watch.endpoint, "/v3/watch",
                                                  json{{"create_request", std::move(create)}}.dump());
        request.timeout_ms = 0;  // a stream: no end of its own
        request.connect_timeout_ms = settings_.timeout_ms;
        request.on_chunk = [this, alive, id](std::string_view chunk) { return *alive && on_watch_data(id, chunk); };
        watch.token = token_;
        watch.buffer.clear();
        watch.is_created = false;
        watch.last_heard = Clock::now();
        watch.transfer = curl_->start(request, [this, alive, id](const probes::HttpResponse& response) {
            if (*alive) on_watch_closed(id, response);
        });
        if (watch.transfer == 0) end_watch(id, EtcdError::failure("etcd: the HTTP driver is closed"));
    });
}

bool EtcdClient::on_watch_data(uint64_t id, std::string_view chunk) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return false;
    Watch* watch = it->second.get();
    watch->last_heard = Clock::now();
    watch->buffer.append(chunk);
    std::vector<WatchFrame> frames = take_watch_frames(&watch->buffer);
    auto alive = alive_;
    for (WatchFrame& frame : frames) {
        if (!frame.is_ok) {
            end_watch(id, EtcdError::failure("etcd " + endpoint_name(watch->endpoint) + ": " + frame.error));
            return false;
        }
        if (frame.canceled) {
            if (frame.compact_revision > 0) {
                end_watch(id, EtcdError::failure("etcd: watch from revision " + std::to_string(watch->next_revision) +
                                                 " impossible: compacted up to revision " +
                                                 std::to_string(frame.compact_revision)));
                return false;
            }
            const bool is_auth = frame.cancel_reason.find("invalid auth token") != std::string::npos;
            if (is_auth && !settings_.user.empty() && !watch->is_auth_retried) {
                // The token expired before the stream began: a new one, then open again.
                watch->is_auth_retried = true;
                curl_->cancel(watch->transfer);
                watch->transfer = 0;
                if (token_ == watch->token) token_.clear();
                open_watch(id);
                return false;
            }
            end_watch(id, EtcdError::failure("etcd: watch canceled by the server: " +
                                             (frame.cancel_reason.empty() ? "no reason given" : frame.cancel_reason)));
            return false;
        }
        if (frame.created) {
            watch->is_created = true;
            watch->attempt = 0;
            preferred_ = watch->endpoint;
        }
        if (frame.events.empty()) continue;  // created, progress notifications, keep-alives
        for (const WatchEvent& event : frame.events)
            watch->next_revision = std::max(watch->next_revision, event.kv.mod_revision + 1);
        watch->on_events(frame.events, frame.revision);
        if (!*alive) return false;
        it = watches_.find(id);
        if (it == watches_.end()) return false;  // cancelled by its own callback
        watch = it->second.get();
    }
    return true;
}

void EtcdClient::on_watch_closed(uint64_t id, const probes::HttpResponse& response) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    Watch& watch = *it->second;
    watch.transfer = 0;
    const std::string where = "etcd " + endpoint_name(watch.endpoint) + ": ";
    if (!response.is_transport_ok && !watch.is_created && watch.attempt + 1 < settings_.endpoints.size()) {
        ++watch.attempt;  // never reached this one: the next endpoint
        open_watch(id);
        return;
    }
    if (!response.is_transport_ok) {
        end_watch(id, EtcdError::failure(
                          where + "watch stream ended: " + describe_transport(response.error, settings_.timeout_ms)));
    } else if (response.status != 200) {
        end_watch(id, EtcdError::failure(where + "watch refused: HTTP " + std::to_string(response.status)));
    } else {
        end_watch(id, EtcdError::failure(where + "watch stream closed by the server"));
    }
}

void EtcdClient::end_watch(uint64_t id, EtcdError error) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    std::unique_ptr<Watch> watch = std::move(it->second);
    watches_.erase(it);
    curl_->cancel(watch->transfer);
    curl_->cancel(watch->check);
    if (watch->on_end) watch->on_end(std::move(error));
}

void EtcdClient::cancel_watch(uint64_t id) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    curl_->cancel(it->second->transfer);
    curl_->cancel(it->second->check);
    watches_.erase(it);
}

void EtcdClient::on_tick(uv_timer_t* timer) { static_cast<EtcdClient*>(timer->data)->check_watches(); }

// A stream that has been silent for watch_check_ms: is its server still there? (A frozen or
// partitioned server keeps the connection open and sends nothing, exactly like a quiet prefix.)
void EtcdClient::check_watches() {
    const Clock::time_point now = Clock::now();
    auto alive = alive_;
    for (auto& [id, watch] : watches_) {
        if (watch->transfer == 0 || watch->check != 0 ||
            now - watch->last_heard < std::chrono::milliseconds(settings_.watch_check_ms))
            continue;
        probes::HttpRequest request = request_for(watch->endpoint, "/v3/maintenance/status", "{}");
        const uint64_t watch_id = id;
        const std::size_t endpoint = watch->endpoint;
        watch->check = curl_->start(request, [this, alive, watch_id, endpoint](const probes::HttpResponse& response) {
            if (!*alive) return;
            auto it = watches_.find(watch_id);
            if (it == watches_.end()) return;
            it->second->check = 0;
            if (response.is_transport_ok) {
                it->second->last_heard = Clock::now();  // any answer will do: the server is there
                return;
            }
            end_watch(watch_id, EtcdError::failure("etcd " + endpoint_name(endpoint) + ": watch ended, status check: " +
                                                   describe_transport(response.error, settings_.timeout_ms)));
        });
    }
}

}  // namespace meridian::fleet

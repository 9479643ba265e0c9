#include "probes/prober.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <memory>
#include <unordered_set>

#include "dns/wire.hpp"
#include "probes/prometheus_query.hpp"

namespace meridian::probes {

namespace {

using Clock = std::chrono::steady_clock;

uint32_t elapsed_ms(Clock::time_point since) {
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

health::ProbeResult failure(std::string reason, uint32_t latency_ms = 0) {
    health::ProbeResult r;
    r.is_ok = false;
    r.reason = std::move(reason);
    r.latency_ms = latency_ms;
    return r;
}

std::string timeout_reason(uint32_t timeout_ms) { return "timeout after " + std::to_string(timeout_ms) + " ms"; }

health::ProbeResult success(uint32_t latency_ms) {
    health::ProbeResult r;
    r.is_ok = true;
    r.latency_ms = latency_ms;
    return r;
}

}  // namespace

// A probe in flight owns a few libuv handles; it finishes once (result or timeout) and frees
// itself when libuv has closed them all.
struct InFlight {
    // Deleted through this base once libuv has closed the handles of the derived probe.
    virtual ~InFlight() { registry->erase(this); }

    std::unordered_set<InFlight*>* registry = nullptr;  // the prober's probes in flight
    ProbeDone done;
    uint32_t timeout_ms = 0;
    Clock::time_point started = Clock::now();
    bool is_finished = false;
    bool is_closing = false;
    int open_handles = 0;

    void finish(const health::ProbeResult& result) {
        if (is_finished) return;
        is_finished = true;
        done(result);
    }
    // Closes the probe's handles once; the last close deletes it.
    void close() {
        if (is_closing) return;
        is_closing = true;
        close_handles();
    }
    virtual void close_handles() = 0;

    // The probe fails with "timeout after N ms" unless it finished first.
    void arm_timeout(uv_timer_t* timer) {
        timer->data = this;
        uv_timer_start(
            timer,
            [](uv_timer_t* t) {
                auto* self = static_cast<InFlight*>(t->data);
                self->finish(failure(timeout_reason(self->timeout_ms)));
                self->close();
            },
            timeout_ms, 0);
    }
    // libuv refused to start the probe at all.
    void fail_to_start(const char* kind, int status) {
        finish(failure(std::string(kind) + ": " + uv_strerror(status)));
        close();
    }
    static void on_closed(uv_handle_t* handle) {
        auto* self = static_cast<InFlight*>(handle->data);
        if (--self->open_handles == 0) delete self;
    }
};

namespace {

struct TcpProbe : InFlight {
    uv_tcp_t tcp{};
    uv_connect_t connect{};
    uv_timer_t timer{};

    void close_handles() override {
        uv_timer_stop(&timer);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_closed);
    }
};

struct DnsProbe : InFlight {
    uv_udp_t udp{};
    uv_udp_send_t send{};
    uv_timer_t timer{};
    uint8_t query[300] = {};
    std::size_t query_size = 0;
    uint8_t answer[512] = {};
    uint16_t id = 0;
    uint16_t expect_rcode = 0;

    void close_handles() override {
        uv_timer_stop(&timer);
        uv_udp_recv_stop(&udp);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&udp), on_closed);
    }
};

}  // namespace

template <typename Probe>
Probe* Prober::adopt(Probe* probe) {
    probe->registry = &in_flight_;
    in_flight_.insert(probe);
    return probe;
}

void Prober::cancel_all() {
    // Closing a probe erases it from the set once libuv lets go of its handles; copy first.
    const std::vector<InFlight*> probes(in_flight_.begin(), in_flight_.end());
    for (InFlight* probe : probes) {
        probe->is_finished = true;  // its result is no longer wanted
        probe->close();
    }
}

void Prober::run(const ProbeTarget& target, ProbeDone done) {
    switch (target.spec.kind) {
    case health::CheckKind::tcp: run_tcp(target, std::move(done)); return;
    case health::CheckKind::http:
    case health::CheckKind::https: run_http(target, std::move(done)); return;
    case health::CheckKind::dns: run_dns(target, std::move(done)); return;
    case health::CheckKind::prometheus: run_prometheus(target, std::move(done)); return;
    case health::CheckKind::none:
    case health::CheckKind::file: {
        health::ProbeResult ok;
        ok.is_ok = true;
        done(ok);
        return;
    }
    }
}

void Prober::run_tcp(const ProbeTarget& target, ProbeDone done) {
    auto* probe = adopt(new TcpProbe());
    probe->done = std::move(done);
    probe->timeout_ms = target.spec.timeout_ms;
    uv_tcp_init(loop_, &probe->tcp);
    uv_timer_init(loop_, &probe->timer);
    probe->tcp.data = probe;
    probe->timer.data = probe;
    probe->connect.data = probe;
    probe->open_handles = 2;
    sockaddr_storage address;
    geo::to_sockaddr(target.address, &address);
    reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(target.spec.port);  // same offset in sockaddr_in6
    const int status = uv_tcp_connect(&probe->connect, &probe->tcp, reinterpret_cast<const sockaddr*>(&address),
                                      [](uv_connect_t* request, int result) {
                                          auto* self = static_cast<TcpProbe*>(request->data);
                                          if (result == UV_ECANCELED) return;  // closed by the timeout
                                          const uint32_t ms = elapsed_ms(self->started);
                                          if (result == 0) {
                                              self->finish(success(ms));
                                          } else {
                                              self->finish(failure(std::string("tcp: ") + uv_strerror(result), ms));
                                          }
                                          self->close();
                                      });
    if (status != 0) return probe->fail_to_start("tcp", status);
    probe->arm_timeout(&probe->timer);
}

std::string probe_url(const ProbeTarget& target, std::string* resolve) {
    const health::CheckSpec& spec = target.spec;
    resolve->clear();
    if (!spec.url.empty()) return spec.url;
    const std::string scheme = spec.kind == health::CheckKind::https ? "https" : "http";
    const std::string address = geo::to_string(target.address);
    const std::string port = std::to_string(spec.port);
    std::string path = spec.path.empty() || spec.path[0] != '/' ? "/" + spec.path : spec.path;
    if (!spec.host.empty()) {
        // Ask for the host name (Host header, TLS SNI and certificate check) but connect to the
        // target's address.
        *resolve = spec.host + ":" + port + ":" + address;
        return scheme + "://" + spec.host + ":" + port + path;
    }
    const std::string host = target.address.family == 6 ? "[" + address + "]" : address;
    return scheme + "://" + host + ":" + port + path;
}

std::optional<double> json_number(const std::string& body, const std::vector<std::string>& path) {
    const nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return std::nullopt;
    const nlohmann::json* node = &document;
    for (const std::string& key : path) {
        if (node->is_object() && node->contains(key)) {
            node = &(*node)[key];
        } else if (std::size_t index = 0;
                   node->is_array() && !key.empty() &&
                   std::from_chars(key.data(), key.data() + key.size(), index).ec == std::errc() &&
                   key.find_first_not_of("0123456789") == std::string::npos && index < node->size()) {
            node = &(*node)[index];
        } else {
            return std::nullopt;
        }
    }
    if (!node->is_number()) return std::nullopt;
    return node->get<double>();
}

health::ProbeResult prometheus_result(const health::CheckSpec& spec, int http_status, const std::string& body,
                                      double now_unix_s) {
    const PromReading reading = parse_instant_reply(http_status, body, now_unix_s, spec.max_age_ms / 1000.0);
    health::ProbeResult result;
    if (!reading.is_ok) {
        result.reason = "prometheus: " + reading.reason;
        return result;
    }
    using Measure = health::CheckSpec::Measure;
    result.is_ok = true;
    result.has_latency = spec.measure == Measure::latency;
    switch (spec.measure) {
    case Measure::latency:
        if (reading.value < 0) {
            result = {};
            result.reason = "prometheus: a latency of " + std::to_string(reading.value) + " ms";
            break;
        }
        result.latency_ms = static_cast<uint32_t>(std::lround(std::min(reading.value, 3.6e6)));
        break;
    case Measure::success:
        if (reading.value < 0 || reading.value > 1) {
            result = {};
            result.reason = "prometheus: success " + std::to_string(reading.value) + " is not a ratio from 0 to 1";
            break;
        }
        result.success = reading.value;
        break;
    case Measure::load: result.load = reading.value; break;
    }
    return result;
}

void Prober::run_prometheus(const ProbeTarget& target, ProbeDone done) {
    HttpRequest request;
    request.url = instant_query_url(target.spec.url, target.promql);
    request.timeout_ms = target.spec.timeout_ms;
    request.verify_tls = target.spec.verify_tls;
    request.max_body = std::size_t{256} * 1024;
    request.headers.emplace_back("Accept: application/json");
    const health::CheckSpec spec = target.spec;
    curl_->start(request, [spec, done = std::move(done)](const HttpResponse& response) {
        if (!response.is_transport_ok) {
            const bool is_timeout = response.error.rfind("timeout", 0) == 0;
            done(failure(is_timeout ? timeout_reason(spec.timeout_ms) : "prometheus: " + response.error,
                         response.elapsed_ms));
            return;
        }
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        done(prometheus_result(spec, static_cast<int>(response.status), response.body, now));
    });
}

void Prober::run_http(const ProbeTarget& target, ProbeDone done) {
    HttpRequest request;
    request.url = probe_url(target, &request.resolve);
    if (!node_.empty()) request.headers.push_back("User-Agent: meridian-health/1 (node " + node_ + ")");
    request.timeout_ms = target.spec.timeout_ms;
    request.verify_tls = target.spec.verify_tls;
    const health::CheckSpec spec = target.spec;
    curl_->start(request, [spec, done = std::move(done)](const HttpResponse& response) {
        if (!response.is_transport_ok) {
            const bool is_timeout = response.error.rfind("timeout", 0) == 0;
            done(
                failure(is_timeout ? timeout_reason(spec.timeout_ms) : "http: " + response.error, response.elapsed_ms));
            return;
        }
        if (response.status < spec.status_min || response.status > spec.status_max) {
            done(failure("HTTP " + std::to_string(response.status), response.elapsed_ms));
            return;
        }
        if (!spec.body_contains.empty() && response.body.find(spec.body_contains) == std::string::npos) {
            done(failure("body lacks \"" + spec.body_contains + "\"", response.elapsed_ms));
            return;
        }
        health::ProbeResult ok = success(response.elapsed_ms);
        if (!spec.load_field.empty()) ok.load = json_number(response.body, spec.load_field);
        done(ok);
    });
}

void Prober::run_dns(const ProbeTarget& target, ProbeDone done) {
    auto* probe = adopt(new DnsProbe());
    probe->done = std::move(done);
    probe->timeout_ms = target.spec.timeout_ms;
    probe->expect_rcode = target.spec.expect_rcode;
    // The query: a random ID, RD clear, one question.
    probe->id = static_cast<uint16_t>(static_cast<uint64_t>(Clock::now().time_since_epoch().count()) * 2654435761u >>
                                      7);
    dns::write_u16(probe->query, probe->id);
    dns::write_u16(probe->query + 4, 1);
    std::size_t pos = dns::kHeaderSize;
    const std::string& name = target.spec.query_name;
    std::size_t start = 0;
    while (start < name.size() && pos < 270) {
        std::size_t end = name.find('.', start);
        if (end == std::string::npos) end = name.size();
        const std::size_t len = std::min<std::size_t>(end - start, 63);
        if (len > 0) {
            probe->query[pos++] = static_cast<uint8_t>(len);
            for (std::size_t i = 0; i < len; ++i) probe->query[pos++] = static_cast<uint8_t>(name[start + i]);
        }
        start = end + 1;
    }
    probe->query[pos++] = 0;
    dns::write_u16(probe->query + pos, target.spec.query_type);
    dns::write_u16(probe->query + pos + 2, dns::rrclass::IN);
    probe->query_size = pos + 4;

    uv_udp_init(loop_, &probe->udp);
    uv_timer_init(loop_, &probe->timer);
    probe->udp.data = probe;
    probe->timer.data = probe;
    probe->send.data = probe;
    probe->open_handles = 2;
    sockaddr_storage address;
    geo::to_sockaddr(target.address, &address);
    reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(target.spec.port);

    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(probe->query), static_cast<unsigned>(probe->query_size));
    int status = uv_udp_send(&probe->send, &probe->udp, &buf, 1, reinterpret_cast<const sockaddr*>(&address),
                             [](uv_udp_send_t* request, int result) {
                                 auto* self = static_cast<DnsProbe*>(request->data);
                                 if (result < 0 && result != UV_ECANCELED) {
                                     self->finish(failure(std::string("dns: ") + uv_strerror(result)));
                                     self->close();
                                 }
                             });
    if (status == 0) {
        status = uv_udp_recv_start(
            &probe->udp,
            [](uv_handle_t* handle, std::size_t, uv_buf_t* out) {
                auto* self = static_cast<DnsProbe*>(handle->data);
                *out = uv_buf_init(reinterpret_cast<char*>(self->answer), sizeof self->answer);
            },
            [](uv_udp_t* udp, ssize_t nread, const uv_buf_t*, const sockaddr*, unsigned) {
                auto* self = static_cast<DnsProbe*>(udp->data);
                if (nread == 0 || self->is_finished) return;
                if (nread < 0) {
                    self->finish(failure(std::string("dns: ") + uv_strerror(static_cast<int>(nread)),
                                         elapsed_ms(self->started)));
                    self->close();
                    return;
                }
                if (static_cast<std::size_t>(nread) < dns::kHeaderSize || dns::read_u16(self->answer) != self->id ||
                    (dns::read_u16(self->answer + 2) & dns::flag::QR) == 0) {
                    return;  // not our answer: keep waiting until the timeout
                }
                const uint16_t rcode = dns::read_u16(self->answer + 2) & 0xF;
                const uint32_t ms = elapsed_ms(self->started);
                if (rcode == self->expect_rcode) {
                    self->finish(success(ms));
                } else {
                    self->finish(failure("dns: rcode " + std::to_string(rcode) + ", expected " +
                                             std::to_string(self->expect_rcode),
                                         ms));
                }
                self->close();
            });
    }
    if (status != 0) return probe->fail_to_start("dns", status);
    probe->arm_timeout(&probe->timer);
}

}  // namespace meridian::probes

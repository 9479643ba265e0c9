// Tests for probes/prober: the URL and CURLOPT_RESOLVE entry of http(s) checks, numbers read from
// a JSON body (least_loaded), and real probes run on a libuv loop against responders on
// 127.0.0.1 in the same loop (tcp, http, dns), each finishing with a result and a reason. The
// loop runs until the probe reports, bounded by a guard timer; no test asserts how long anything
// took.
#include <catch2/catch.hpp>

#include <uv.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "geo/address.hpp"
#include "health/check_spec.hpp"
#include "health/target_health.hpp"
#include "probes/curl_driver.hpp"
#include "probes/prober.hpp"
#include "test_support.hpp"

using meridian::health::CheckKind;
using meridian::health::ProbeResult;
using meridian::probes::json_number;
using meridian::probes::probe_url;
using meridian::probes::ProbeTarget;

namespace {

meridian::geo::IpAddress ip(const char* text) {
    const auto a = meridian::geo::parse_address(text);
    REQUIRE(a.has_value());
    return *a;
}

ProbeTarget target(CheckKind kind, const char* address, uint16_t port) {
    ProbeTarget t;
    t.spec.name = "test";
    t.spec.kind = kind;
    t.spec.port = port;
    t.address = ip(address);
    return t;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---- probe_url --------------------------------------------------------------------------------

TEST_CASE("probe_url: the URL an http(s) check fetches and the resolve entry that pins its host", "[probes]") {
    struct Row {
        const char* what;
        CheckKind kind;
        const char* address;
        uint16_t port;
        const char* path;
        const char* host;
        const char* url;
        const char* expected_url;
        const char* expected_resolve;
    };
    const Row rows[] = {
        {"http to an IPv4 address", CheckKind::http, "192.0.2.10", 8080, "/healthz", "", "",
         "http://192.0.2.10:8080/healthz", ""},
        {"https to an IPv4 address", CheckKind::https, "192.0.2.10", 443, "/healthz", "", "",
         "https://192.0.2.10:443/healthz", ""},
        {"IPv6 addresses go in brackets", CheckKind::http, "2001:db8::10", 80, "/", "", "", "http://[2001:db8::10]:80/",
         ""},
        {"a path without its leading slash gets one", CheckKind::http, "192.0.2.10", 80, "healthz", "", "",
         "http://192.0.2.10:80/healthz", ""},
        {"an empty path is /", CheckKind::http, "192.0.2.10", 80, "", "", "", "http://192.0.2.10:80/", ""},
        {"a query string is kept", CheckKind::http, "192.0.2.10", 80, "/health?deep=1", "", "",
         "http://192.0.2.10:80/health?deep=1", ""},
        {"host: the URL names the host, the resolve entry pins it to the target", CheckKind::https, "192.0.2.10", 8443,
         "/healthz", "shop.example.net", "", "https://shop.example.net:8443/healthz",
         "shop.example.net:8443:192.0.2.10"},
        {"host with an IPv6 target", CheckKind::http, "2001:db8::10", 8080, "/healthz", "shop.example.net", "",
         "http://shop.example.net:8080/healthz", "shop.example.net:8080:2001:db8::10"},
        {"an absolute url wins over address, port, path and host", CheckKind::https, "192.0.2.10", 8080, "/healthz",
         "shop.example.net", "https://status.example.org/check", "https://status.example.org/check", ""},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        ProbeTarget t = target(row.kind, row.address, row.port);
        t.spec.path = row.path;
        t.spec.host = row.host;
        t.spec.url = row.url;
        std::string resolve = "left over from an earlier call";
        CHECK(probe_url(t, &resolve) == row.expected_url);
        CHECK(resolve == row.expected_resolve);
    }
}

// ---- json_number ------------------------------------------------------------------------------

TEST_CASE("json_number reads a number at a path of keys and array indices, nothing otherwise", "[probes]") {
    using Path = std::vector<std::string>;
    struct Row {
        const char* what;
        const char* body;
        Path path;
        std::optional<double> expected;
    };
    const std::string servers =
        R"({"servers": [{"load": 1}, {"load": 2.5}], "stats": {"cpu": {"load": 0.42}}, "load": 7})";
    // As deep as a body can be (the driver keeps 64 KiB): a target's answer, so no crash.
    const std::string deep = std::string(32 * 1024, '[') + std::string(32 * 1024, ']');
    const Row rows[] = {
        {"a top-level key", R"({"load": 0.5})", {"load"}, 0.5},
        {"an integer", R"({"load": 3})", {"load"}, 3.0},
        {"a negative number", R"({"load": -1.25})", {"load"}, -1.25},
        {"a nested path", servers.c_str(), {"stats", "cpu", "load"}, 0.42},
        {"an array index", servers.c_str(), {"servers", "1", "load"}, 2.5},
        {"index 0", servers.c_str(), {"servers", "0", "load"}, 1.0},
        {"a top-level array", "[10, 20, 30]", {"2"}, 30.0},
        {"an empty path on a bare number", "42", {}, 42.0},
        {"a missing key", servers.c_str(), {"stats", "mem"}, std::nullopt},
        {"an index past the end", servers.c_str(), {"servers", "2", "load"}, std::nullopt},
        {"an index that is not a number", servers.c_str(), {"servers", "first", "load"}, std::nullopt},
        {"a key into a number", servers.c_str(), {"load", "x"}, std::nullopt},
        {"a string", R"({"load": "0.5"})", {"load"}, std::nullopt},
        {"a boolean", R"({"load": true})", {"load"}, std::nullopt},
        {"null", R"({"load": null})", {"load"}, std::nullopt},
        {"an object", servers.c_str(), {"stats"}, std::nullopt},
        {"invalid JSON", R"({"load": 0.5)", {"load"}, std::nullopt},
        {"an empty body", "", {"load"}, std::nullopt},
        {"plain text", "ok", {"load"}, std::nullopt},
        {"arrays nested 32,768 deep", deep.c_str(), {"0", "0"}, std::nullopt},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        const std::optional<double> got = json_number(row.body, row.path);
        REQUIRE(got.has_value() == row.expected.has_value());
        if (got) CHECK(*got == Approx(*row.expected));
    }
}

TEST_CASE("json_number: an array index too large for any array is absent, not an exception", "[probes]") {
    const std::string body = R"({"servers": [{"load": 1}]})";
    std::optional<double> got = 1.0;
    CHECK_NOTHROW(got = json_number(body, {"servers", "99999999999999999999", "load"}));
    CHECK_FALSE(got.has_value());
}

// ---- real probes on a loop --------------------------------------------------------------------

namespace {

// Runs the loop until `is_done()`, nothing is left to run, or the guard expires. The guard only
// bounds a broken test; it is unreferenced, so it keeps nothing alive by itself.
bool run_until(uv_loop_t* loop, const std::function<bool()>& is_done, uint64_t guard_ms) {
    bool is_expired = false;
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    guard.data = &is_expired;
    uv_timer_start(
        &guard, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, guard_ms, 0);
    uv_unref(reinterpret_cast<uv_handle_t*>(&guard));
    while (!is_done() && !is_expired && uv_loop_alive(loop) != 0) uv_run(loop, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(loop, UV_RUN_NOWAIT);  // runs the guard's close before it leaves scope
    return is_done();
}

uint16_t bound_port(const uv_handle_t* handle, bool is_udp) {
    sockaddr_storage bound{};
    int length = sizeof bound;
    if (is_udp) {
        uv_udp_getsockname(reinterpret_cast<const uv_udp_t*>(handle), reinterpret_cast<sockaddr*>(&bound), &length);
    } else {
        uv_tcp_getsockname(reinterpret_cast<const uv_tcp_t*>(handle), reinterpret_cast<sockaddr*>(&bound), &length);
    }
    return ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
}

// A TCP listener on 127.0.0.1 that accepts every connection, reads the request and, when it has
// a canned response, sends it once the request's head is complete and closes. Without one it
// never answers (the client's timeout ends the exchange).
class TcpResponder {
public:
    TcpResponder(uv_loop_t* loop, std::string response) : response_(std::move(response)) {
        uv_tcp_init(loop, &server_);
        server_.data = this;
        sockaddr_in any{};
        uv_ip4_addr("127.0.0.1", 0, &any);
        REQUIRE(uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&any), 0) == 0);
        REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 16, on_connection) == 0);
        port_ = bound_port(reinterpret_cast<uv_handle_t*>(&server_), false);
    }
    TcpResponder(const TcpResponder&) = delete;
    TcpResponder& operator=(const TcpResponder&) = delete;

    uint16_t port() const { return port_; }
    int connections() const { return connections_; }
    const std::string& last_request() const { return last_request_; }

    void close() {
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&server_)))
            uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
        const std::set<Connection*> open = connections_open_;
        for (Connection* c : open) close(c);
    }

private:
    struct Connection {
        uv_tcp_t tcp{};
        uv_write_t write{};
        TcpResponder* owner = nullptr;
        std::string request;
        bool is_answered = false;
        char buffer[4096] = {};
    };

    void close(Connection* c) {
        if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp))) return;
        connections_open_.erase(c);
        uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
                 [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    }

    static void on_connection(uv_stream_t* server, int status) {
        auto* self = static_cast<TcpResponder*>(server->data);
        if (status < 0) return;
        auto* c = new Connection();
        c->owner = self;
        uv_tcp_init(server->loop, &c->tcp);
        c->tcp.data = c;
        c->write.data = c;
        self->connections_open_.insert(c);
        if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
            self->close(c);
            return;
        }
        ++self->connections_;
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(&c->tcp),
            [](uv_handle_t* h, std::size_t, uv_buf_t* out) {
                auto* conn = static_cast<Connection*>(h->data);
                *out = uv_buf_init(conn->buffer, sizeof conn->buffer);
            },
            on_read);
    }

    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(stream->data);
        TcpResponder* self = c->owner;
        if (nread < 0) {
            self->close(c);
            return;
        }
        c->request.append(buf->base, static_cast<std::size_t>(nread));
        if (c->is_answered || c->request.find("\r\n\r\n") == std::string::npos) return;
        self->last_request_ = c->request;
        if (self->response_.empty()) return;
        c->is_answered = true;
        uv_buf_t out = uv_buf_init(self->response_.data(), static_cast<unsigned>(self->response_.size()));
        uv_write(&c->write, stream, &out, 1, [](uv_write_t* request, int) {
            auto* conn = static_cast<Connection*>(request->data);
            conn->owner->close(conn);
        });
    }

    uv_tcp_t server_{};
    std::string response_;
    uint16_t port_ = 0;
    int connections_ = 0;
    std::string last_request_;
    std::set<Connection*> connections_open_;
};

// A DNS responder on 127.0.0.1 over UDP: echoes each query back as a response with `rcode`
// (and the ID moved by `id_offset`, to play someone else's answer). Silent: never reads.
class DnsResponder {
public:
    DnsResponder(uv_loop_t* loop, uint16_t rcode, uint16_t id_offset, bool is_silent)
        : rcode_(rcode), id_offset_(id_offset) {
        uv_udp_init(loop, &udp_);
        udp_.data = this;
        sockaddr_in any{};
        uv_ip4_addr("127.0.0.1", 0, &any);
        REQUIRE(uv_udp_bind(&udp_, reinterpret_cast<const sockaddr*>(&any), 0) == 0);
        port_ = bound_port(reinterpret_cast<uv_handle_t*>(&udp_), true);
        if (!is_silent) {
            uv_udp_recv_start(
                &udp_,
                [](uv_handle_t* h, std::size_t, uv_buf_t* out) {
                    auto* self = static_cast<DnsResponder*>(h->data);
                    *out = uv_buf_init(self->buffer_, sizeof self->buffer_);
                },
                on_recv);
        }
    }
    DnsResponder(const DnsResponder&) = delete;
    DnsResponder& operator=(const DnsResponder&) = delete;

    uint16_t port() const { return port_; }
    const std::string& last_query() const { return last_query_; }
    void close() {
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&udp_)))
            uv_close(reinterpret_cast<uv_handle_t*>(&udp_), nullptr);
    }

private:
    static void on_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned) {
        auto* self = static_cast<DnsResponder*>(udp->data);
        if (nread < 12 || from == nullptr) return;
        self->last_query_.assign(buf->base, static_cast<std::size_t>(nread));
        std::string reply = self->last_query_;
        const auto id = static_cast<uint16_t>((static_cast<uint8_t>(reply[0]) << 8 | static_cast<uint8_t>(reply[1])) +
                                              self->id_offset_);
        reply[0] = static_cast<char>(id >> 8);
        reply[1] = static_cast<char>(id & 0xFF);
        reply[2] = static_cast<char>(static_cast<uint8_t>(reply[2]) | 0x80);  // QR
        reply[3] = static_cast<char>((static_cast<uint8_t>(reply[3]) & 0xF0) | (self->rcode_ & 0xF));
        uv_buf_t out = uv_buf_init(reply.data(), static_cast<unsigned>(reply.size()));
        uv_udp_try_send(udp, &out, 1, from);
    }

    uv_udp_t udp_{};
    uint16_t rcode_;
    uint16_t id_offset_;
    uint16_t port_ = 0;
    char buffer_[1500] = {};
    std::string last_query_;
};

// A TCP port on 127.0.0.1 that is bound but not listening: connections to it are refused, and
// no one else can take it while the test runs.
class RefusingPort {
public:
    explicit RefusingPort(uv_loop_t* loop) {
        uv_tcp_init(loop, &tcp_);
        sockaddr_in any{};
        uv_ip4_addr("127.0.0.1", 0, &any);
        REQUIRE(uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&any), 0) == 0);
        port_ = bound_port(reinterpret_cast<uv_handle_t*>(&tcp_), false);
        REQUIRE(port_ != 0);
    }
    uint16_t port() const { return port_; }
    void close() {
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)))
            uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), nullptr);
    }

private:
    uv_tcp_t tcp_{};
    uint16_t port_ = 0;
};

constexpr uint64_t kGuardMs = 10000;

// A loop with a curl driver, a prober and the responders a test asks for. finish() closes
// everything and runs the loop until libuv has released every handle.
class LoopFixture {
public:
    LoopFixture() {
        uv_loop_init(&loop_);
        curl_ = std::make_unique<meridian::probes::CurlDriver>(&loop_);
        prober_ = std::make_unique<meridian::probes::Prober>(&loop_, curl_.get());
    }
    ~LoopFixture() { finish(); }
    LoopFixture(const LoopFixture&) = delete;
    LoopFixture& operator=(const LoopFixture&) = delete;

    TcpResponder& http(std::string response) {
        tcp_.push_back(std::make_unique<TcpResponder>(&loop_, std::move(response)));
        return *tcp_.back();
    }
    DnsResponder& dns(uint16_t rcode, uint16_t id_offset = 0, bool is_silent = false) {
        dns_.push_back(std::make_unique<DnsResponder>(&loop_, rcode, id_offset, is_silent));
        return *dns_.back();
    }
    uint16_t refusing_port() {
        refusing_.push_back(std::make_unique<RefusingPort>(&loop_));
        return refusing_.back()->port();
    }

    // Runs one probe to its result; nullopt only if the guard expired first.
    std::optional<ProbeResult> probe(const ProbeTarget& t) {
        auto result = std::make_shared<std::optional<ProbeResult>>();
        prober_->run(t, [result](const ProbeResult& r) {
            CHECK_FALSE(result->has_value());  // a probe reports once
            *result = r;
        });
        run_until(
            &loop_, [&] { return result->has_value(); }, kGuardMs);
        return *result;
    }

    // Starts a probe and runs the loop once without waiting for its result.
    void start(const ProbeTarget& t, meridian::probes::ProbeDone done) {
        prober_->run(t, std::move(done));
        uv_run(&loop_, UV_RUN_NOWAIT);
    }
    void cancel_all() { prober_->cancel_all(); }

    // True when every handle was released and the loop closed cleanly.
    bool finish() {
        if (is_finished_) return is_clean_;
        is_finished_ = true;
        for (auto& r : tcp_) r->close();
        for (auto& r : dns_) r->close();
        for (auto& r : refusing_) r->close();
        curl_->close();
        run_until(
            &loop_, [] { return false; }, kGuardMs);
        is_clean_ = uv_loop_alive(&loop_) == 0;
        if (!is_clean_) {
            uv_walk(
                &loop_,
                [](uv_handle_t* h, void*) {
                    if (!uv_is_closing(h)) uv_close(h, nullptr);
                },
                nullptr);
            uv_run(&loop_, UV_RUN_NOWAIT);
        }
        is_clean_ = uv_loop_close(&loop_) == 0 && is_clean_;
        return is_clean_;
    }

private:
    uv_loop_t loop_{};
    std::unique_ptr<meridian::probes::CurlDriver> curl_;
    std::unique_ptr<meridian::probes::Prober> prober_;
    std::vector<std::unique_ptr<TcpResponder>> tcp_;
    std::vector<std::unique_ptr<DnsResponder>> dns_;
    std::vector<std::unique_ptr<RefusingPort>> refusing_;
    bool is_finished_ = false;
    bool is_clean_ = false;
};

std::string http_response(const char* status_line, const std::string& body) {
    return std::string("HTTP/1.1 ") + status_line +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("a tcp probe passes when 127.0.0.1 accepts the connection", "[probes]") {
    LoopFixture f;
    const TcpResponder& listener = f.http("");
    const std::optional<ProbeResult> r = f.probe(target(CheckKind::tcp, "127.0.0.1", listener.port()));
    REQUIRE(r.has_value());
    CHECK(r->is_ok);
    CHECK(r->reason.empty());
    CHECK(f.finish());
}

TEST_CASE("a tcp probe of a closed port fails with \"connection refused\"", "[probes]") {
    LoopFixture f;
    const std::optional<ProbeResult> r = f.probe(target(CheckKind::tcp, "127.0.0.1", f.refusing_port()));
    REQUIRE(r.has_value());
    CHECK_FALSE(r->is_ok);
    CAPTURE(r->reason);
    CHECK(r->reason == "tcp: connection refused");
    CHECK(f.finish());
}

TEST_CASE("checks of kind none and file pass without touching the network", "[probes]") {
    for (const CheckKind kind : {CheckKind::none, CheckKind::file}) {
        CAPTURE(static_cast<int>(kind));
        LoopFixture f;
        const std::optional<ProbeResult> r = f.probe(target(kind, "127.0.0.1", 1));
        REQUIRE(r.has_value());
        CHECK(r->is_ok);
        CHECK(f.finish());
    }
}

TEST_CASE("an http probe judges the status, the body and reads the load from the JSON body", "[probes]") {
    const std::string healthy_body = R"({"status": "ok", "stats": {"load": 0.42}})";
    struct Row {
        const char* what;
        std::string response;
        uint16_t status_min;
        uint16_t status_max;
        bool is_ok;
        const char* reason;
    };
    const Row rows[] = {
        {"200 with the body text", http_response("200 OK", healthy_body), 200, 399, true, ""},
        {"a redirect is an answer within 200-399", http_response("302 Found", R"({"status": "ok"})"), 200, 399, true,
         ""},
        {"503", http_response("503 Service Unavailable", R"({"status": "ok"})"), 200, 399, false, "HTTP 503"},
        {"404", http_response("404 Not Found", R"({"status": "ok"})"), 200, 399, false, "HTTP 404"},
        {"204 outside expect_status = [200, 200]", http_response("204 No Content", ""), 200, 200, false, "HTTP 204"},
        {"200 without the body text", http_response("200 OK", R"({"status": "starting"})"), 200, 399, false,
         "body lacks \"ok\""},
    };
    for (const Row& row : rows) {
        CAPTURE(row.what);
        LoopFixture f;
        const TcpResponder& server = f.http(row.response);
        ProbeTarget t = target(CheckKind::http, "127.0.0.1", server.port());
        t.spec.path = "/healthz";
        t.spec.timeout_ms = 5000;
        t.spec.status_min = row.status_min;
        t.spec.status_max = row.status_max;
        t.spec.body_contains = "ok";
        t.spec.load_field = {"stats", "load"};
        const std::optional<ProbeResult> r = f.probe(t);
        REQUIRE(r.has_value());
        CHECK(r->is_ok == row.is_ok);
        CHECK(r->reason == row.reason);
        if (row.is_ok && row.response.find("0.42") != std::string::npos) {
            REQUIRE(r->load.has_value());
            CHECK(*r->load == Approx(0.42));
        }
        CHECK(server.connections() == 1);
        CHECK(server.last_request().rfind("GET /healthz HTTP/1.1\r\n", 0) == 0);
        CHECK(f.finish());
    }
}

TEST_CASE("an http probe with host asks for the host name but connects to the target's address", "[probes]") {
    LoopFixture f;
    const TcpResponder& server = f.http(http_response("200 OK", "ok"));
    ProbeTarget t = target(CheckKind::http, "127.0.0.1", server.port());
    t.spec.path = "healthz";
    t.spec.host = "shop.example.net";  // resolves nowhere: only the resolve entry can reach the server
    t.spec.timeout_ms = 5000;
    const std::optional<ProbeResult> r = f.probe(t);
    REQUIRE(r.has_value());
    CAPTURE(r->reason);
    CHECK(r->is_ok);
    CAPTURE(server.last_request());
    CHECK(server.last_request().rfind("GET /healthz HTTP/1.1\r\n", 0) == 0);
    CHECK(contains(server.last_request(), "\r\nHost: shop.example.net:" + std::to_string(server.port()) + "\r\n"));
    CHECK(f.finish());
}

TEST_CASE("an http probe of a closed port fails with curl's reason", "[probes]") {
    LoopFixture f;
    ProbeTarget t = target(CheckKind::http, "127.0.0.1", f.refusing_port());
    t.spec.timeout_ms = 5000;
    const std::optional<ProbeResult> r = f.probe(t);
    REQUIRE(r.has_value());
    CAPTURE(r->reason);
    CHECK_FALSE(r->is_ok);
    CHECK(r->reason.rfind("http: ", 0) == 0);
    CHECK(f.finish());
}

TEST_CASE("an http probe of a server that never answers fails with \"timeout after N ms\"", "[probes]") {
    LoopFixture f;
    const TcpResponder& silent = f.http("");
    ProbeTarget t = target(CheckKind::http, "127.0.0.1", silent.port());
    t.spec.timeout_ms = 150;
    const std::optional<ProbeResult> r = f.probe(t);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->is_ok);
    CHECK(r->reason == "timeout after 150 ms");
    CHECK(f.finish());
}

TEST_CASE("a dns probe sends the check's query and passes on the expected rcode", "[probes]") {
    struct Row {
        uint16_t answered;
        uint16_t expected;
        bool is_ok;
        const char* reason;
    };
    for (const Row row : {Row{0, 0, true, ""}, Row{3, 3, true, ""}, Row{3, 0, false, "dns: rcode 3, expected 0"},
                          Row{2, 0, false, "dns: rcode 2, expected 0"}, Row{0, 5, false, "dns: rcode 0, expected 5"}}) {
        CAPTURE(row.answered, row.expected);
        LoopFixture f;
        const DnsResponder& server = f.dns(row.answered);
        ProbeTarget t = target(CheckKind::dns, "127.0.0.1", server.port());
        t.spec.query_name = "health.shop.example.net";
        t.spec.expect_rcode = row.expected;
        t.spec.timeout_ms = 5000;
        const std::optional<ProbeResult> r = f.probe(t);
        REQUIRE(r.has_value());
        CHECK(r->is_ok == row.is_ok);
        CHECK(r->reason == row.reason);
        // One question: health.shop.example.net. A IN, recursion not desired.
        const std::string& q = server.last_query();
        REQUIRE(q.size() >= 12);
        CHECK((static_cast<uint8_t>(q[2]) & 0x81) == 0);  // QR and RD clear
        CHECK(q.substr(4, 2) == std::string("\0\1", 2));
        CHECK(q.substr(12) == meridian::test::wire("health.shop.example.net") + std::string("\0\1\0\1", 4));
        CHECK(f.finish());
    }
}

TEST_CASE("a dns probe with no answer, or only someone else's, fails with \"timeout after N ms\"", "[probes]") {
    SECTION("a server that never answers") {
        LoopFixture f;
        const DnsResponder& silent = f.dns(0, 0, /*is_silent=*/true);
        ProbeTarget t = target(CheckKind::dns, "127.0.0.1", silent.port());
        t.spec.query_name = "health.example.net";
        t.spec.timeout_ms = 120;
        const std::optional<ProbeResult> r = f.probe(t);
        REQUIRE(r.has_value());
        CHECK_FALSE(r->is_ok);
        CHECK(r->reason == "timeout after 120 ms");
        CHECK(f.finish());
    }
    SECTION("an answer with another ID") {
        LoopFixture f;
        const DnsResponder& other = f.dns(0, /*id_offset=*/1);
        ProbeTarget t = target(CheckKind::dns, "127.0.0.1", other.port());
        t.spec.query_name = "health.example.net";
        t.spec.timeout_ms = 120;
        const std::optional<ProbeResult> r = f.probe(t);
        REQUIRE(r.has_value());
        CHECK_FALSE(r->is_ok);
        CHECK(r->reason == "timeout after 120 ms");
        CHECK_FALSE(other.last_query().empty());  // it did answer, just not with our ID
        CHECK(f.finish());
    }
}

TEST_CASE("cancel_all closes probes in flight without reporting them, and frees them before the loop closes",
          "[probes]") {
    // meridiand stopping while a dns probe waits for a silent server: the probe's handles must be
    // closed by the prober (which frees it), not left to the final uv_walk (which would leak it).
    LoopFixture f;
    const DnsResponder& silent = f.dns(0, 0, /*is_silent=*/true);
    ProbeTarget t = target(CheckKind::dns, "127.0.0.1", silent.port());
    t.spec.query_name = "health.example.net";
    t.spec.timeout_ms = 60000;
    int reported = 0;
    f.start(t, [&](const ProbeResult&) { ++reported; });
    f.start(t, [&](const ProbeResult&) { ++reported; });
    f.cancel_all();
    f.cancel_all();     // closing twice is harmless
    CHECK(f.finish());  // nothing left open: the loop closes without a forced walk
    CHECK(reported == 0);
}

// ---- prometheus checks -----------------------------------------------------------------------

namespace {

constexpr double kNow = 1700000000;

std::string vector_reply(const char* value, double time = kNow) {
    return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[)" +
           std::to_string(time) + ",\"" + value + "\"]}]}}";
}

meridian::health::CheckSpec prometheus_spec(meridian::health::CheckSpec::Measure measure) {
    meridian::health::CheckSpec spec;
    spec.kind = meridian::health::CheckKind::prometheus;
    spec.measure = measure;
    spec.max_age_ms = 60000;
    return spec;
}

}  // namespace

TEST_CASE("a prometheus reading becomes the region's latency, success rate or load", "[probes][prometheus]") {
    using Measure = meridian::health::CheckSpec::Measure;
    using meridian::probes::prometheus_result;

    const auto latency = prometheus_result(prometheus_spec(Measure::latency), 200, vector_reply("42.4"), kNow);
    CHECK(latency.is_ok);
    CHECK(latency.has_latency);
    CHECK(latency.latency_ms == 42);
    CHECK_FALSE(latency.success.has_value());

    const auto success = prometheus_result(prometheus_spec(Measure::success), 200, vector_reply("0.97"), kNow);
    CHECK(success.is_ok);
    CHECK_FALSE(success.has_latency);  // a ratio measures no latency
    REQUIRE(success.success.has_value());
    CHECK(*success.success == Approx(0.97));

    const auto load = prometheus_result(prometheus_spec(Measure::load), 200, vector_reply("3.5"), kNow);
    CHECK(load.is_ok);
    CHECK_FALSE(load.has_latency);
    REQUIRE(load.load.has_value());
    CHECK(*load.load == Approx(3.5));
}

TEST_CASE("a prometheus reading that cannot be used is a failed evaluation with a reason", "[probes][prometheus]") {
    using Measure = meridian::health::CheckSpec::Measure;
    using meridian::probes::prometheus_result;
    const auto reason = [](Measure measure, int status, const std::string& body) {
        const auto r = prometheus_result(prometheus_spec(measure), status, body, kNow);
        CHECK_FALSE(r.is_ok);
        return r.reason;
    };
    CHECK(reason(Measure::success, 200, vector_reply("1.5")) ==
          "prometheus: success 1.500000 is not a ratio from 0 to 1");
    CHECK(reason(Measure::latency, 200, vector_reply("-3")) == "prometheus: a latency of -3.000000 ms");
    CHECK(reason(Measure::latency, 200, R"({"status":"success","data":{"resultType":"vector","result":[]}})")
              .find("no series") != std::string::npos);
    CHECK(reason(Measure::latency, 200, vector_reply("12", kNow - 120)).find("old") != std::string::npos);
    CHECK(reason(Measure::latency, 400, R"({"status":"error","errorType":"bad_data","error":"parse error"})")
              .find("bad_data") != std::string::npos);
    CHECK(reason(Measure::latency, 200, vector_reply("NaN")).rfind("prometheus: ", 0) == 0);
}

TEST_CASE("a success rate read from elsewhere stands for the window's and judges the target alone",
          "[health][prometheus]") {
    meridian::health::Thresholds t;
    t.rise = 1;
    t.fall = 1;
    meridian::health::TargetHealth target(t, meridian::health::InitialState::up, {});
    meridian::health::ProbeResult r;
    r.is_ok = true;
    r.has_latency = false;
    r.success = 0.5;
    const auto change = target.record(r, {});
    REQUIRE(change.has_value());
    CHECK(change->to == meridian::health::State::unhealthy);  // below degraded_success
    CHECK(target.success_rate() == Approx(0.5));
    CHECK_FALSE(target.snapshot().has_measurement);  // no latency was measured
    CHECK(target.last_reason() == "success 50 %");
    r.success = 0.97;
    target.record(r, {});
    CHECK(target.state() == meridian::health::State::degraded);
    r.success = 1.0;
    target.record(r, {});
    CHECK(target.state() == meridian::health::State::healthy);
    CHECK(target.last_reason() == "success 100 %");
}

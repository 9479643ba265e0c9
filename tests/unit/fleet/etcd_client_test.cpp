// fleet::EtcdClient against a real etcd: /usr/bin/etcd (Debian's etcd-server 3.4) started by the
// test in a scratch directory on free 127.0.0.1 ports, killed at the end of each test case whatever
// happens (and by the kernel should this process die: PR_SET_PDEATHSIG). Hidden from the plain
// unit run ([.etcd]); ctest runs them as `etcd_client`. Every wait is bounded.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "fleet/etcd_client.hpp"
#include "probes/curl_driver.hpp"
#include "test_support.hpp"

using meridian::fleet::EtcdClient;
using meridian::fleet::EtcdError;
using meridian::fleet::EtcdSettings;
using meridian::fleet::RangeResult;
using meridian::fleet::WatchEvent;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";

// A loopback TCP port nobody listens on right now (the kernel's pick for a bind to port 0).
uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One etcd member on 127.0.0.1, its data in a scratch directory that outlives restarts.
class EtcdProcess {
public:
    explicit EtcdProcess(std::vector<std::string> extra = {})
        : client_port_(free_port()), peer_port_(free_port()), extra_(std::move(extra)) {
        start();
    }
    ~EtcdProcess() { kill_now(); }
    EtcdProcess(const EtcdProcess&) = delete;
    EtcdProcess& operator=(const EtcdProcess&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

    void start() {
        const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
        std::vector<std::string> args = {kEtcd,
                                         "--name=unit",
                                         "--data-dir=" + (dir_.path() / "data").string(),
                                         "--listen-client-urls=" + url(),
                                         "--advertise-client-urls=" + url(),
                                         "--listen-peer-urls=" + peer,
                                         "--initial-advertise-peer-urls=" + peer,
                                         "--initial-cluster=unit=" + peer,
                                         "--log-level=warn"};
        args.insert(args.end(), extra_.begin(), extra_.end());
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        const std::string log = (dir_.path() / "etcd.log").string();
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execv(kEtcd, argv.data());
            ::_exit(127);
        }
    }

    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    void signal(int number) const { ::kill(pid_, number); }

    // etcdctl against this member, for what the client does not do itself; its exit status.
    int etcdctl(const std::string& args) const {
        const std::string command = std::string("ETCDCTL_API=3 ") + kEtcdctl + " --endpoints=" + url() +
                                    " --dial-timeout=3s --command-timeout=5s " + args + " >>" +
                                    (dir_.path() / "etcdctl.log").string() + " 2>&1";
        return std::system(command.c_str());  // NOLINT(cert-env33-c): the test's own tool
    }

    std::string log() const {
        std::ifstream in(dir_.path() / "etcd.log");
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    meridian::test::TempDir dir_;
    uint16_t client_port_;
    uint16_t peer_port_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
};

// A loop, a curl driver and clients on it; everything closed and the loop drained at the end.
class Loop {
public:
    Loop() {
        uv_loop_init(&loop_);
        curl_ = std::make_unique<meridian::probes::CurlDriver>(&loop_);
    }
    ~Loop() {
        for (auto& client : clients_) client->close();
        clients_.clear();
        curl_->close();
        for (int i = 0; i < 10 && uv_run(&loop_, UV_RUN_NOWAIT) != 0; ++i) {
        }
        uv_loop_close(&loop_);
    }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    EtcdClient& client(std::vector<std::string> endpoints, const std::string& user = "",
                       const std::string& password = "", uint32_t timeout_ms = 2000) {
        EtcdSettings settings;
        settings.endpoints = std::move(endpoints);
        settings.user = user;
        settings.password = password;
        settings.timeout_ms = timeout_ms;
        settings.watch_check_ms = 1000;
        clients_.push_back(std::make_unique<EtcdClient>(&loop_, curl_.get(), settings));
        return *clients_.back();
    }

    // Runs the loop until is_done() or guard_ms have passed (the loop is kept running by an
    // active timer, so a quiet watch does not make uv_run return early).
    bool run_until(const std::function<bool()>& is_done, uint64_t guard_ms) {
        const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(guard_ms);
        uv_timer_t tick;
        uv_timer_init(&loop_, &tick);
        uv_timer_start(
            &tick, [](uv_timer_t*) {}, 10, 10);
        while (!is_done() && Clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
        uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
        uv_run(&loop_, UV_RUN_NOWAIT);
        return is_done();
    }
    void run_for(uint64_t ms) {
        run_until([] { return false; }, ms);
    }

    meridian::probes::CurlDriver& curl() { return *curl_; }

private:
    uv_loop_t loop_{};
    std::unique_ptr<meridian::probes::CurlDriver> curl_;
    std::vector<std::unique_ptr<EtcdClient>> clients_;
};

// Blocking versions of the client's calls, for the tests' sequences.
struct Sync {
    Loop& loop;
    EtcdClient& client;

    EtcdError put(const std::string& key, const std::string& value, int64_t lease = 0, int64_t* revision = nullptr) {
        bool is_done = false;
        EtcdError result;
        client.put(key, value, lease, [&](EtcdError error, int64_t rev) {
            result = std::move(error);
            if (revision != nullptr) *revision = rev;
            is_done = true;
        });
        REQUIRE(loop.run_until([&] { return is_done; }, 15000));
        return result;
    }
    EtcdError remove(const std::string& key) {
        bool is_done = false;
        EtcdError result;
        client.remove(key, [&](EtcdError error) {
            result = std::move(error);
            is_done = true;
        });
        REQUIRE(loop.run_until([&] { return is_done; }, 15000));
        return result;
    }
    RangeResult range(const std::string& prefix) {
        bool is_done = false;
        RangeResult result;
        client.range_prefix(prefix, [&](RangeResult r) {
            result = std::move(r);
            is_done = true;
        });
        REQUIRE(loop.run_until([&] { return is_done; }, 15000));
        return result;
    }
    EtcdError grant(int64_t ttl, int64_t* id, int64_t* granted_ttl) {
        bool is_done = false;
        EtcdError result;
        client.grant_lease(ttl, [&](EtcdError error, int64_t lease, int64_t t) {
            result = std::move(error);
            *id = lease;
            *granted_ttl = t;
            is_done = true;
        });
        REQUIRE(loop.run_until([&] { return is_done; }, 15000));
        return result;
    }
    EtcdError keep_alive(int64_t id, int64_t* ttl) {
        bool is_done = false;
        EtcdError result;
        client.keep_alive(id, [&](EtcdError error, int64_t t) {
            result = std::move(error);
            *ttl = t;
            is_done = true;
        });
        REQUIRE(loop.run_until([&] { return is_done; }, 15000));
        return result;
    }
    EtcdError revoke(int64_t id) {
        bool is_done = false;
        EtcdError result;
        client.revoke_lease(id, [&](EtcdError error) {
            result = std::move(error);
            is_done = true;
        });
        REQUIRE(loop.run_until([&] { return is_done; }, 15000));
        return result;
    }
    // Until a range succeeds (a freshly started etcd), bounded.
    bool wait_serving(uint64_t guard_ms = 15000) {
        const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(guard_ms);
        while (Clock::now() < deadline) {
            if (range("/").error.is_ok) return true;
            loop.run_for(100);
        }
        return false;
    }
};

// What a watch reported: every event in order, each batch's revision, and its end.
struct Recorder {
    std::vector<WatchEvent> events;
    std::vector<Clock::time_point> arrived;
    int64_t revision = 0;
    bool is_ended = false;
    EtcdError end;
    int batches = 0;

    uint64_t watch(EtcdClient& client, const std::string& prefix, int64_t start) {
        return client.watch_prefix(
            prefix, start,
            [this](const std::vector<WatchEvent>& batch, int64_t rev) {
                ++batches;
                for (const WatchEvent& e : batch) {
                    events.push_back(e);
                    arrived.push_back(Clock::now());
                }
                revision = rev;
            },
            [this](EtcdError error) {
                is_ended = true;
                end = std::move(error);
            });
    }
};

std::string describe(const std::vector<WatchEvent>& events) {
    std::string text;
    for (const WatchEvent& e : events)
        text += (e.type == WatchEvent::Type::put ? "put " : "delete ") + e.kv.key + "=" + e.kv.value + "@" +
                std::to_string(e.kv.mod_revision) + "; ";
    return text;
}

}  // namespace

TEST_CASE("etcd: put, range under a prefix, remove; latency on loopback", "[.etcd]") {
    EtcdProcess etcd;
    Loop loop;
    Sync sync{loop, loop.client({etcd.url()})};
    INFO(etcd.log());
    REQUIRE(sync.wait_serving());

    int64_t revision = 0;
    REQUIRE(sync.put("/fleet/nodes/a", "alpha", 0, &revision).is_ok);
    CHECK(revision > 0);
    REQUIRE(sync.put("/fleet/nodes/b", std::string("b\0\xff", 3)).is_ok);
    REQUIRE(sync.put("/fleet/nodez", "outside").is_ok);
    REQUIRE(sync.put("/fleet/nodes", "not under /fleet/nodes/").is_ok);

    RangeResult range = sync.range("/fleet/nodes/");
    REQUIRE(range.error.is_ok);
    REQUIRE(range.kvs.size() == 2);
    CHECK(range.kvs[0].key == "/fleet/nodes/a");
    CHECK(range.kvs[0].value == "alpha");
    CHECK(range.kvs[0].mod_revision == revision);
    CHECK(range.kvs[0].version == 1);
    CHECK(range.kvs[1].value == std::string("b\0\xff", 3));
    CHECK(range.revision >= revision + 3);

    CHECK(sync.range("/nothing/here/").kvs.empty());
    CHECK(sync.range("").kvs.size() == 4);  // the empty prefix: every key

    REQUIRE(sync.remove("/fleet/nodes/a").is_ok);
    CHECK(sync.remove("/fleet/nodes/never").is_ok);  // removing nothing is no error
    range = sync.range("/fleet/nodes/");
    REQUIRE(range.kvs.size() == 1);
    CHECK(range.kvs[0].key == "/fleet/nodes/b");

    // Latency: 200 puts one after another, then 200 ranges.
    constexpr int kCount = 200;
    Clock::time_point start = Clock::now();
    for (int i = 0; i < kCount; ++i) REQUIRE(sync.put("/bench/" + std::to_string(i % 10), "x").is_ok);
    const double put_ms = ms_since(start) / kCount;
    start = Clock::now();
    for (int i = 0; i < kCount; ++i) REQUIRE(sync.range("/bench/").error.is_ok);
    const double range_ms = ms_since(start) / kCount;
    WARN("etcd on loopback: put " << put_ms << " ms, range of 10 keys " << range_ms << " ms (mean of " << kCount
                                  << ", one at a time)");
}

TEST_CASE("etcd: leases are granted, kept alive, expire with their keys, and are revoked", "[.etcd]") {
    EtcdProcess etcd;
    Loop loop;
    Sync sync{loop, loop.client({etcd.url()})};
    INFO(etcd.log());
    REQUIRE(sync.wait_serving());

    int64_t lease = 0;
    int64_t ttl = 0;
    REQUIRE(sync.grant(2, &lease, &ttl).is_ok);
    CHECK(lease != 0);
    CHECK(ttl == 2);
    REQUIRE(sync.put("/fleet/alive/node-1", "up", lease).is_ok);
    RangeResult range = sync.range("/fleet/alive/");
    REQUIRE(range.kvs.size() == 1);
    CHECK(range.kvs[0].lease == lease);

    // Kept alive past its TTL, the key stays.
    for (int i = 0; i < 4; ++i) {
        loop.run_for(700);
        int64_t left = 0;
        REQUIRE(sync.keep_alive(lease, &left).is_ok);
        CHECK(left == 2);
    }
    CHECK(sync.range("/fleet/alive/").kvs.size() == 1);

    // Left alone, the lease expires and takes its key along (bounded wait).
    const Clock::time_point stopped = Clock::now();
    bool is_gone = false;
    while (!is_gone && ms_since(stopped) < 8000) {
        loop.run_for(200);
        is_gone = sync.range("/fleet/alive/").kvs.empty();
    }
    REQUIRE(is_gone);
    const double gone_after = ms_since(stopped);
    CHECK(gone_after >= 1500);
    int64_t left = 99;
    EtcdError error = sync.keep_alive(lease, &left);
    CHECK(error.is_ok);
    CHECK(left == 0);  // the lease is gone
    WARN("a key under a 2 s lease vanished " << gone_after << " ms after the last keep-alive");

    // A revoked lease takes its keys at once; an unknown one is etcd's error, readable.
    REQUIRE(sync.grant(60, &lease, &ttl).is_ok);
    REQUIRE(sync.put("/fleet/alive/node-2", "up", lease).is_ok);
    REQUIRE(sync.revoke(lease).is_ok);
    CHECK(sync.range("/fleet/alive/").kvs.empty());
    error = sync.revoke(lease);
    CHECK_FALSE(error.is_ok);
    CHECK(error.message == "etcd: etcdserver: requested lease not found");
    error = sync.put("/fleet/alive/node-3", "up", lease);
    CHECK(error.message == "etcd: etcdserver: requested lease not found");
}

TEST_CASE("etcd: a watch gets puts and deletes in order, from a start revision, and ends on compaction", "[.etcd]") {
    EtcdProcess etcd;
    Loop loop;
    EtcdClient& client = loop.client({etcd.url()});
    Sync sync{loop, client};
    INFO(etcd.log());
    REQUIRE(sync.wait_serving());

    int64_t first = 0;
    REQUIRE(sync.put("/fleet/overrides/eu", "drain", 0, &first).is_ok);
    REQUIRE(sync.put("/elsewhere", "not watched").is_ok);

    Recorder now;
    now.watch(client, "/fleet/overrides/", 0);
    Recorder history;
    const uint64_t history_id = history.watch(client, "/fleet/overrides/", first);
    loop.run_for(300);  // both streams set up (nothing is reported for that)
    CHECK(now.events.empty());

    // Each put timed from its start to the event's arrival.
    std::vector<Clock::time_point> sent;
    sent.push_back(Clock::now());
    REQUIRE(sync.put("/fleet/overrides/us", "weight=0").is_ok);
    sent.push_back(Clock::now());
    REQUIRE(sync.put("/fleet/overrides/eu", "normal").is_ok);
    sent.push_back(Clock::now());
    REQUIRE(sync.remove("/fleet/overrides/eu").is_ok);
    REQUIRE(sync.put("/elsewhere", "still not watched").is_ok);
    REQUIRE(loop.run_until([&] { return now.events.size() >= 3 && history.events.size() >= 4; }, 5000));
    loop.run_for(200);

    INFO(describe(now.events));
    REQUIRE(now.events.size() == 3);
    CHECK(now.events[0].type == WatchEvent::Type::put);
    CHECK(now.events[0].kv.key == "/fleet/overrides/us");
    CHECK(now.events[0].kv.value == "weight=0");
    CHECK(now.events[1].type == WatchEvent::Type::put);
    CHECK(now.events[1].kv.value == "normal");
    CHECK(now.events[1].kv.version == 2);
    CHECK(now.events[2].type == WatchEvent::Type::remove);
    CHECK(now.events[2].kv.key == "/fleet/overrides/eu");
    CHECK(now.events[2].kv.mod_revision > now.events[1].kv.mod_revision);
    CHECK(now.revision >= now.events[2].kv.mod_revision);
    CHECK_FALSE(now.is_ended);
    double worst = 0;
    for (std::size_t i = 0; i < 3; ++i)
        worst = std::max(worst, std::chrono::duration<double, std::milli>(now.arrived[i] - sent[i]).count());
    WARN("watch: an event arrives at most " << worst << " ms after its put was sent");

    INFO(describe(history.events));
    REQUIRE(history.events.size() == 4);  // the first put, from before the watch, then the same three
    CHECK(history.events[0].kv.key == "/fleet/overrides/eu");
    CHECK(history.events[0].kv.value == "drain");
    CHECK(history.events[0].kv.mod_revision == first);
    CHECK(history.events[3].type == WatchEvent::Type::remove);

    // Cancelled: nothing more, no end reported.
    client.cancel_watch(history_id);
    REQUIRE(sync.put("/fleet/overrides/ap", "x").is_ok);
    REQUIRE(loop.run_until([&] { return now.events.size() == 4; }, 5000));
    loop.run_for(200);
    CHECK(history.events.size() == 4);
    CHECK_FALSE(history.is_ended);

    // A start revision that has been compacted away: the stream ends and says so.
    int64_t latest = 0;
    REQUIRE(sync.put("/fleet/overrides/ap", "y", 0, &latest).is_ok);
    REQUIRE(etcd.etcdctl("compact " + std::to_string(latest)) == 0);
    Recorder compacted;
    compacted.watch(client, "/fleet/overrides/", first);
    REQUIRE(loop.run_until([&] { return compacted.is_ended; }, 5000));
    CHECK(compacted.events.empty());
    CHECK_FALSE(compacted.end.is_ok);
    CHECK(compacted.end.message == "etcd: watch from revision " + std::to_string(first) +
                                       " impossible: compacted up to revision " + std::to_string(latest));
    CHECK(client.watch_count() == 1);  // `now` only
}

TEST_CASE("etcd: a frozen or killed server ends watches and fails requests readably; a restart serves again",
          "[.etcd]") {
    EtcdProcess etcd;
    Loop loop;
    EtcdClient& client = loop.client({etcd.url()}, "", "", 1000);
    Sync sync{loop, client};
    INFO(etcd.log());
    REQUIRE(sync.wait_serving());
    const std::string host = etcd.url().substr(7);
    REQUIRE(sync.put("/fleet/kept", "across restarts").is_ok);

    // SIGSTOP: the connection stays open but nothing answers.
    Recorder frozen;
    frozen.watch(client, "/fleet/", 0);
    loop.run_for(300);
    etcd.signal(SIGSTOP);
    Clock::time_point start = Clock::now();
    EtcdError error = sync.put("/fleet/x", "y");
    const double failed_after = ms_since(start);
    CHECK_FALSE(error.is_ok);
    CHECK(error.message == "etcd " + host + ": no reply within 1000 ms");
    CHECK(failed_after < 1500);
    REQUIRE(loop.run_until([&] { return frozen.is_ended; }, 8000));
    const double watch_ended_after = ms_since(start);
    CHECK(frozen.end.message == "etcd " + host + ": watch ended, status check: no reply within 1000 ms");
    WARN("frozen etcd: a put failed after " << failed_after << " ms, the watch ended after " << watch_ended_after
                                            << " ms");

    // Killed: the watch ends at once, requests are refused.
    etcd.signal(SIGCONT);
    Recorder killed;
    killed.watch(client, "/fleet/", 0);
    loop.run_for(500);
    // (The put that timed out while etcd was frozen may still be applied now: its event may come too.)
    REQUIRE(sync.put("/fleet/x", "before the kill").is_ok);
    REQUIRE(loop.run_until([&] { return !killed.events.empty() && killed.events.back().kv.value == "before the kill"; },
                           5000));
    etcd.kill_now();
    start = Clock::now();
    REQUIRE(loop.run_until([&] { return killed.is_ended; }, 5000));
    const double killed_after = ms_since(start);
    CHECK_FALSE(killed.end.is_ok);
    CHECK(killed.end.message.rfind("etcd " + host + ": watch stream ended: ", 0) == 0);
    error = sync.put("/fleet/x", "z");
    CHECK(error.message == "etcd " + host + ": connection refused");
    RangeResult range = sync.range("/fleet/");
    CHECK(range.error.message == "etcd " + host + ": connection refused");
    WARN("killed etcd: the watch ended after " << killed_after << " ms: " << killed.end.message);

    // Restarted on the same data and ports: requests succeed again, the data is still there.
    etcd.start();
    REQUIRE(sync.wait_serving());
    range = sync.range("/fleet/kept");
    REQUIRE(range.error.is_ok);
    REQUIRE(range.kvs.size() == 1);
    CHECK(range.kvs[0].value == "across restarts");
    Recorder again;
    again.watch(client, "/fleet/", 0);
    loop.run_for(300);
    REQUIRE(sync.put("/fleet/x", "after restart").is_ok);
    REQUIRE(loop.run_until([&] { return again.events.size() == 1; }, 5000));
    CHECK(again.events[0].kv.value == "after restart");
}

TEST_CASE("etcd: endpoints are tried in order, the next on a transport error", "[.etcd]") {
    EtcdProcess etcd;
    Loop loop;
    const std::string closed = "http://127.0.0.1:" + std::to_string(free_port());
    EtcdClient& client = loop.client({closed, etcd.url()});
    Sync sync{loop, client};
    INFO(etcd.log());
    REQUIRE(sync.wait_serving());
    REQUIRE(sync.put("/fleet/failover", "ok").is_ok);
    RangeResult range = sync.range("/fleet/");
    REQUIRE(range.error.is_ok);
    CHECK(range.kvs.size() == 1);

    // A watch opened with the first endpoint first: it lands on the second.
    EtcdClient& watcher = loop.client({closed, etcd.url()});
    Recorder recorder;
    recorder.watch(watcher, "/fleet/", 0);
    loop.run_for(300);
    REQUIRE(sync.put("/fleet/failover", "seen").is_ok);
    REQUIRE(loop.run_until([&] { return recorder.events.size() == 1; }, 5000));
    CHECK_FALSE(recorder.is_ended);

    // Every endpoint down: the last one's error.
    Sync none{loop, loop.client({closed, closed + "/"})};
    const EtcdError error = none.put("/fleet/x", "y");
    CHECK(error.message == "etcd " + closed.substr(7) + ": connection refused");
    Recorder lost;
    lost.watch(none.client, "/fleet/", 0);
    REQUIRE(loop.run_until([&] { return lost.is_ended; }, 5000));
    CHECK(lost.end.message == "etcd " + closed.substr(7) + ": watch stream ended: connection refused");
}

TEST_CASE("etcd: with auth, the right password works, a wrong one is a readable error, a token expires and is renewed",
          "[.etcd]") {
    EtcdProcess etcd({"--auth-token-ttl=2"});  // simple tokens expire after 2 s unused
    Loop loop;
    Sync open{loop, loop.client({etcd.url()})};
    INFO(etcd.log());
    REQUIRE(open.wait_serving());
    REQUIRE(etcd.etcdctl("user add root:pw") == 0);
    REQUIRE(etcd.etcdctl("auth enable") == 0);

    Sync root{loop, loop.client({etcd.url()}, "root", "pw")};
    REQUIRE(root.put("/fleet/secret", "s3").is_ok);
    RangeResult range = root.range("/fleet/");
    REQUIRE(range.error.is_ok);
    REQUIRE(range.kvs.size() == 1);

    Sync wrong{loop, loop.client({etcd.url()}, "root", "nope")};
    EtcdError error = wrong.put("/fleet/secret", "x");
    CHECK(error.message == "etcd: etcdserver: authentication failed, invalid user ID or password");
    range = wrong.range("/fleet/");
    CHECK(range.error.message == "etcd: etcdserver: authentication failed, invalid user ID or password");
    Recorder refused;
    refused.watch(wrong.client, "/fleet/", 0);
    REQUIRE(loop.run_until([&] { return refused.is_ended; }, 5000));
    CHECK(refused.end.message == "etcd: etcdserver: authentication failed, invalid user ID or password");

    // No user at all: etcd's own words.
    error = open.put("/fleet/secret", "x");
    CHECK(error.message == "etcd: etcdserver: user name is empty");

    // The token expires unused; the next request gets a new one and succeeds, and so does a watch.
    loop.run_for(3500);
    REQUIRE(root.put("/fleet/secret", "renewed").is_ok);
    loop.run_for(3500);
    Recorder watch;
    watch.watch(root.client, "/fleet/", 0);
    loop.run_for(500);
    CHECK_FALSE(watch.is_ended);
    REQUIRE(root.put("/fleet/secret", "watched").is_ok);
    REQUIRE(loop.run_until([&] { return watch.events.size() == 1; }, 5000));
    CHECK(watch.events[0].kv.value == "watched");
    int64_t lease = 0;
    int64_t ttl = 0;
    REQUIRE(root.grant(10, &lease, &ttl).is_ok);
    REQUIRE(root.keep_alive(lease, &ttl).is_ok);
    REQUIRE(root.revoke(lease).is_ok);
}

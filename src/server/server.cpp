#include "server/server.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <uv.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "adapt/controller.hpp"
#include "admin/admin_server.hpp"
#include "admin/control_bridge.hpp"
#include "common/fnv1a.hpp"
#include "common/log.hpp"
#include "common/thread_priority.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/name.hpp"
#include "fleet/fleet_node.hpp"
#include "ops/member_store.hpp"
#include "probes/health_monitor.hpp"
#include "server/notifier.hpp"
#include "server/operations.hpp"
#include "server/privileges.hpp"
#include "server/snapshot_publisher.hpp"
#include "server/sockets.hpp"
#include "server/worker.hpp"
#include "zone/zone_builder.hpp"

namespace meridian::server {

namespace {

// SO_REUSEPORT would let us share a port with another process of the same user; a plain bind
// first proves that nobody else is there, so "address in use" is reported, not hidden.
bool is_address_free(const config::ListenAddress& address, int type, std::string* error) {
    const int fd = socket(address.address.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = address.text + ": cannot create socket: " + std::strerror(errno);
        return false;
    }
    if (address.address.ss_family == AF_INET6) {
        const int on = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.address_size) == 0;
    if (!ok)
        *error = std::string(type == SOCK_DGRAM ? "udp " : "tcp ") + address.text +
                 ": cannot bind: " + std::strerror(errno);
    close(fd);
    return ok;
}

class Control {
public:
    Control(config::ServerConfig config, std::unique_ptr<const answer::Snapshot> snapshot)
        : config_(std::move(config)), members_(config_.members.state_file), publisher_(config_.workers) {
        members_.load();
        publisher_.publish(members_.serve(*snapshot, config_.workers));
        loaded_ = std::move(snapshot);
    }

    int run();

private:
    bool open_sockets();
    bool start_admin();
    ReloadResult reload();
    void watch_config_files();
    void reload_geo();
    void watch_geo_databases();
    void wait_for_first_probes();
    int abandon_start();
    void publish(std::unique_ptr<const answer::Snapshot> snapshot);
    void adapt_step();
    void start_fleet();
    void update_fleet_entry();
    void schedule_signing();
    void sign_again();
    static void on_signal(uv_signal_t* handle, int signal);

    config::ServerConfig config_;
    ops::MemberStore members_;  // every snapshot is served through it
    SnapshotPublisher publisher_;
    TcpAdmission tcp_admission_{config_.tcp_max_connections, config_.tcp_max_connections_per_source};
    std::vector<std::unique_ptr<Worker>> workers_;
    uv_loop_t loop_{};
    uv_signal_t sigint_{}, sigterm_{}, sighup_{};
    uv_timer_t reclaim_timer_{};
    std::vector<std::unique_ptr<uv_fs_poll_t>> geo_watchers_;
    std::unique_ptr<fleet::FleetNode> fleet_;  // fleet mode only; outlives the health monitor
    std::unique_ptr<probes::HealthMonitor> health_;
    std::unique_ptr<probes::MemberFeeds> feeds_;
    std::unique_ptr<Operations> operations_;
    std::unique_ptr<admin::ControlBridge> bridge_;
    std::unique_ptr<admin::AdminServer> admin_;
    uv_timer_t tick_timer_{};
    adapt::Controller adapt_{adapt::Settings{config_.adaptive.max_step}};
    xfr::Counters transfer_counters_;
    std::unique_ptr<Notifier> notifier_;
    uv_timer_t adapt_timer_{};
    uv_timer_t reload_debounce_{};
    // The snapshot as loaded, before members from feeds and pushes: what signing starts from.
    std::unique_ptr<const answer::Snapshot> loaded_;
    uv_timer_t signing_timer_{};
    bool is_signing_timer_ready_ = false;
    struct ConfigWatch;
    std::vector<std::unique_ptr<ConfigWatch>> config_watchers_;
};

bool Control::open_sockets() {
    std::string error;
    for (const auto& address : config_.udp) {
        if (!is_address_free(address, SOCK_DGRAM, &error)) return log::error(error), false;
    }
    for (const auto& address : config_.tcp) {
        if (!is_address_free(address, SOCK_STREAM, &error)) return log::error(error), false;
    }
    const config::RrlConfig& r = config_.rrl;
    const WorkerLimits limits{config_.tcp_idle_timeout_ms,
                              config_.tcp_max_connections_per_worker,
                              config_.tcp_max_pending_output_bytes,
                              RrlSettings{r.is_enabled, r.responses_per_second, r.burst, r.slip, r.ipv4_prefix,
                                          r.ipv6_prefix, r.exempt},
                              config_.tcp_query_timeout_ms,
                              &tcp_admission_,
                              config_.admin.explain_per_second,
                              ReceiveQueueSizes{config_.udp_receive_buffer, kernel_default_receive_buffer(),
                                                config_.udp_overload_interval_ms},
                              &transfer_counters_,
                              config_.dnssec.cache_entries,
                              config_.dnssec.signatures_per_second};
    for (unsigned i = 0; i < config_.workers; ++i) {
        auto worker = std::make_unique<Worker>(i, limits, &publisher_);
        for (const auto& address : config_.udp) {
            const int fd = open_udp_socket(address, config_.udp_receive_buffer, &error);
            if (fd < 0) return log::error(error), false;
            worker->add_udp_socket(fd);
        }
        for (const auto& address : config_.tcp) {
            const int fd = open_tcp_listener(address, &error);
            if (fd < 0) return log::error(error), false;
            worker->add_tcp_listener(fd);
        }
        workers_.push_back(std::move(worker));
    }
    return true;
}

ReloadResult Control::reload() {
    sd_notify(0, "RELOADING=1");
    struct ReadyAgain {
        ~ReadyAgain() { sd_notify(0, "READY=1"); }
    } ready_again;  // whether the reload worked or not, the server is serving again
    Diagnostics diagnostics;
    auto config = config::load_server_config(config_.path, &diagnostics);
    std::unique_ptr<answer::Snapshot> snapshot;
    if (config) snapshot = config::load_snapshot(*config, &diagnostics, publisher_.current());
    ReloadResult result;
    if (!snapshot) {
        for (const auto& d : diagnostics.items()) {
            log::error(d.format());
            result.errors.push_back(d.format());
        }
        log::error("reload failed: still serving the previous configuration");
        operations_->count_reload(result);
        return result;
    }
    result.is_ok = true;
    result.zones = snapshot->zones.zones().size();
    // Before publishing: the signing timer is armed from what was loaded.
    loaded_ = std::move(snapshot);
    publish(members_.serve(*loaded_, config_.workers));
    watch_config_files();
    log::info("reloaded " + config_.path + ": " + std::to_string(result.zones) + " zones");
    operations_->count_reload(result);
    return result;
}

void Control::publish(std::unique_ptr<const answer::Snapshot> snapshot) {
    publisher_.publish(std::move(snapshot));
    // Probes and overrides follow the new zones before workers see them, so their health slots
    // are filled.
    if (health_) health_->apply(*publisher_.current());
    if (feeds_) feeds_->apply(*publisher_.current());
    if (operations_) operations_->apply_overrides();
    update_fleet_entry();
    adapt_step();  // the new zones' feedback boards start from what was learned, not from scratch
    for (auto& worker : workers_) worker->snapshot_changed();
    if (notifier_) notifier_->apply(*publisher_.current());
    schedule_signing();
}

// Signed zones are signed again when their signature window ends or one of their keys reaches a
// timing event (publish, activate, inactive, delete): docs/DNSSEC.md, "Rollovers".
void Control::schedule_signing() {
    if (!is_signing_timer_ready_) return;
    std::optional<int64_t> next;
    for (const zone::ServedZone& served : loaded_->zones.zones()) {
        if (const zone::Signing* signing = served.zone().signing())
            next = std::min(next.value_or(INT64_MAX), signing->next_event);
    }
    uv_timer_stop(&signing_timer_);
    if (!next) return;
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    // A little past the second it is due, so that the clock then reads that second.
    const int64_t delay = std::clamp<int64_t>(*next * 1000 - now_ms + 20, 0, int64_t{24} * 3600 * 1000);
    uv_timer_start(
        &signing_timer_, [](uv_timer_t* t) { static_cast<Control*>(t->data)->sign_again(); },
        static_cast<uint64_t>(delay), 0);
}

void Control::sign_again() {
    const int64_t now = std::time(nullptr);
    auto loaded = std::make_unique<answer::Snapshot>();
    loaded->settings = loaded_->settings;
    loaded->geo = publisher_.current()->geo;  // a geoip reload since loading is kept
    bool is_retry_needed = false;
    bool is_any_due = false;
    for (const zone::ServedZone& served : loaded_->zones.zones()) {
        std::shared_ptr<const zone::Zone> model = served.model;
        const zone::Signing* signing = model->signing();
        if (signing != nullptr && signing->next_event <= now) {
            is_any_due = true;
            std::string error;
            if (auto again = zone::ZoneBuilder::sign(model->unsigned_form(), signing->config, now, &error)) {
                model = std::move(again);
                log::info("dnssec: signed " + dns::name_to_text(model->origin()) + " again (" +
                          std::to_string(model->signing()->zone_signers.size()) + " zone-signing key(s), " +
                          std::to_string(model->signing()->key_signers.size()) + " key-signing key(s))");
            } else {
                log::error("dnssec: " + error + "; still serving the previous signatures, trying again in a minute");
                is_retry_needed = true;
            }
        }
        loaded->zones.add(std::move(model), served.runtime);
    }
    if (!is_any_due) {
        schedule_signing();  // woken early (the timer's 24-hour cap): nothing to sign yet
        return;
    }
    loaded_ = std::move(loaded);
    publish(members_.serve(*loaded_, config_.workers));
    if (is_retry_needed)
        uv_timer_start(
            &signing_timer_, [](uv_timer_t* t) { static_cast<Control*>(t->data)->sign_again(); }, 60000, 0);
}

namespace {

// What the fleet compares between nodes: a digest of the zone files' bytes (their *.toml files
// in name order for a directory). Server configs differ between nodes by design (ports, names).
std::string zone_files_digest(const config::ServerConfig& config) {
    Fnv1a hash;
    const auto mix_file = [&](const std::filesystem::path& path) {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr) return;
        for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) hash.mix(static_cast<uint8_t>(c));
        std::fclose(f);
        hash.mix(0);
    };
    for (const config::ZonePath& zone : config.zones) {
        std::error_code ec;
        if (!std::filesystem::is_directory(zone.path, ec)) {
            mix_file(zone.path);
            continue;
        }
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(zone.path, ec)) {
            if (entry.path().extension() == ".toml") files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) mix_file(file);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash.value()));
    return hex;
}

}  // namespace

void Control::start_fleet() {
    if (!config_.fleet.is_enabled) return;
    fleet::FleetNode::Hooks hooks;
    hooks.votes_changed = [this] { health_->recount(); };
    hooks.override_changed = [this](const std::string& zone, const std::string& region, const nlohmann::json* doc) {
        operations_->fleet_override(zone, region, doc);
    };
    fleet_ = std::make_unique<fleet::FleetNode>(&loop_, config_.fleet, std::move(hooks));
    health_->set_votes(fleet_.get(), health::VoteRule{config_.fleet.quorum, config_.fleet.min_voters});
    operations_->set_fleet(fleet_.get());
    update_fleet_entry();
    fleet_->start();
}

void Control::update_fleet_entry() {
    if (!fleet_) return;
    std::map<std::string, uint32_t> serials;
    for (const zone::ServedZone& served : publisher_.current()->zones.zones())
        serials[dns::name_to_text(served.zone().origin())] = served.zone().serial();
    fleet_->set_entry(std::move(serials), zone_files_digest(config_), config_.admin.listen);
}

// One step of the control loop over every zone served, publishing to each zone's feedback board.
void Control::adapt_step() {
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    const answer::Snapshot& snapshot = *publisher_.current();
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        zone::ZoneRuntime& runtime = *served.runtime;
        adapt_.step(served.zone().origin(), served.zone().policy(), runtime.health(), runtime.steering(),
                    &runtime.feedback(), now);
    }
    constexpr double kForgetAfterSeconds = 3600;  // what was learned about a removed region
    adapt_.forget_older_than(now - kForgetAfterSeconds);
}

// Zone files, their directories and the config are polled; a change reloads after a short
// quiet spell, so an editor's several writes make one reload.
namespace {

// The *.toml files of a zone directory, in order: what a reload would load from it.
std::vector<std::string> toml_files(const std::filesystem::path& directory) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(directory, ec)) {
        if (item.path().extension() == ".toml") names.push_back(item.path().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

// One watched path. A zone directory counts as changed only when its set of *.toml files does:
// the state files Meridian itself keeps there (forecasts, members) change it all the time.
struct Control::ConfigWatch {
    uv_fs_poll_t poll{};
    Control* control = nullptr;
    std::filesystem::path directory;  // empty: a file
    std::vector<std::string> tomls;   // of the directory, when last looked at
};

void Control::watch_config_files() {
    constexpr unsigned kPollIntervalMs = 1000;
    constexpr unsigned kQuietMs = 300;
    if (reload_debounce_.data == nullptr) {
        uv_timer_init(&loop_, &reload_debounce_);
        reload_debounce_.data = this;
    }
    std::vector<std::pair<std::string, bool>> paths{{config_.path, false}};  // path, is a directory
    for (const auto& entry : config_.zones) {
        std::error_code ec;
        const bool is_directory = std::filesystem::is_directory(entry.path, ec);
        paths.emplace_back(entry.path.string(), is_directory);
        if (is_directory) {
            for (const std::string& file : toml_files(entry.path)) paths.emplace_back(file, false);
        }
    }
    // Watched anew after each reload: zone files added since are watched too.
    for (auto& old : config_watchers_) {
        uv_fs_poll_stop(&old->poll);
        uv_close(reinterpret_cast<uv_handle_t*>(&old.release()->poll),
                 [](uv_handle_t* h) { delete static_cast<ConfigWatch*>(h->data); });
    }
    config_watchers_.clear();
    for (const auto& [path, is_directory] : paths) {
        auto watch = std::make_unique<ConfigWatch>();
        watch->control = this;
        if (is_directory) {
            watch->directory = path;
            watch->tomls = toml_files(path);
        }
        uv_fs_poll_init(&loop_, &watch->poll);
        watch->poll.data = watch.get();
        uv_fs_poll_start(
            &watch->poll,
            [](uv_fs_poll_t* handle, int, const uv_stat_t*, const uv_stat_t*) {
                auto* w = static_cast<ConfigWatch*>(handle->data);
                if (!w->directory.empty()) {
                    std::vector<std::string> now = toml_files(w->directory);
                    if (now == w->tomls) return;
                    w->tomls = std::move(now);
                }
                uv_timer_start(
                    &w->control->reload_debounce_,
                    [](uv_timer_t* t) {
                        auto* control = static_cast<Control*>(t->data);
                        log::info("configuration changed on disk: reloading");
                        control->reload();
                    },
                    kQuietMs, 0);
            },
            path.c_str(), kPollIntervalMs);
        config_watchers_.push_back(std::move(watch));
    }
}

bool Control::start_admin() {
    bridge_ = std::make_unique<admin::ControlBridge>(&loop_);
    if (config_.admin.listen.empty()) return true;
    char host[INET6_ADDRSTRLEN] = {};
    const auto& a = config_.admin.address;
    const geo::IpAddress ip = geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&a.address));
    const std::string address = geo::to_string(ip);
    std::snprintf(host, sizeof host, "%s", address.c_str());
    const uint16_t port = ntohs(reinterpret_cast<const sockaddr_in*>(&a.address)->sin_port);
    admin::Settings settings{host, port, config_.admin.token};
    admin_ = std::make_unique<admin::AdminServer>(settings, bridge_.get(),
                                                  operations_->handlers([this] { return reload(); }));
    std::string error;
    if (!admin_->start(&error)) {
        log::error(error);
        return false;
    }
    return true;
}

// A database replaced on disk: open the set again and, when every file is good, publish a
// snapshot with the same zones and the new databases. A broken file keeps the old ones.
void Control::reload_geo() {
    Diagnostics diagnostics;
    auto geo = config::open_geo_databases(config_, &diagnostics);
    if (!geo) {
        for (const auto& d : diagnostics.items()) log::error(d.format());
        log::error("geoip reload failed: still using the previous databases");
        return;
    }
    auto snapshot = std::make_unique<answer::Snapshot>(*publisher_.current());
    snapshot->geo = std::move(geo);
    publish(std::move(snapshot));
    log::info("reloaded geoip databases");
}

// Start-up failed after the loop began to own things: close everything, exit non-zero. Nothing
// has been answered yet (workers start last).
int Control::abandon_start() {
    if (admin_) admin_->stop();
    if (health_) health_->stop();
    if (fleet_) fleet_->stop();
    if (feeds_) feeds_->stop();
    if (operations_) operations_->stop();
    if (bridge_) bridge_->close();
    workers_.clear();
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return 1;
}

// Checks with initial = "wait" decide their regions' first state before any query is answered;
// the wait is bounded by the longest timeout of those checks.
void Control::wait_for_first_probes() {
    if (!health_->is_waiting()) return;
    log::info("waiting for the first round of health probes");
    uint32_t longest_ms = 0;
    for (const auto& served : publisher_.current()->zones.zones()) {
        for (const auto& check : served.zone().checks().checks)
            longest_ms = std::max(longest_ms, check.timeout_ms + check.jitter_ms);
    }
    const uint64_t deadline = uv_now(&loop_) + longest_ms + 1000;
    while (health_->is_waiting() && uv_now(&loop_) < deadline) uv_run(&loop_, UV_RUN_ONCE);
}

void Control::watch_geo_databases() {
    constexpr unsigned kPollIntervalMs = 1000;  // stat-based: survives replacement by rename
    for (const auto& database : config_.geoip) {
        auto watcher = std::make_unique<uv_fs_poll_t>();
        uv_fs_poll_init(&loop_, watcher.get());
        watcher->data = this;
        uv_fs_poll_start(
            watcher.get(),
            [](uv_fs_poll_t* handle, int status, const uv_stat_t*, const uv_stat_t*) {
                if (status == 0) static_cast<Control*>(handle->data)->reload_geo();
            },
            database.path.c_str(), kPollIntervalMs);
        geo_watchers_.push_back(std::move(watcher));
    }
}

void Control::on_signal(uv_signal_t* handle, int signal) {
    auto* self = static_cast<Control*>(handle->data);
    if (signal == SIGHUP) {
        self->reload();
        return;
    }
    log::info(std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    sd_notify(0, "STOPPING=1");
    uv_stop(&self->loop_);
}

int Control::run() {
    if (!open_sockets()) {
        workers_.clear();
        return 1;
    }
    uv_loop_init(&loop_);
    for (uv_signal_t* s : {&sigint_, &sigterm_, &sighup_}) {
        uv_signal_init(&loop_, s);
        s->data = this;
    }
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    uv_signal_start(&sighup_, on_signal, SIGHUP);
    uv_timer_init(&loop_, &signing_timer_);
    signing_timer_.data = this;
    is_signing_timer_ready_ = true;
    schedule_signing();
    uv_timer_init(&loop_, &reclaim_timer_);
    reclaim_timer_.data = this;
    uv_timer_start(
        &reclaim_timer_, [](uv_timer_t* t) { static_cast<Control*>(t->data)->publisher_.reclaim(); }, 1000, 1000);

    watch_geo_databases();
    watch_config_files();
    health_ = std::make_unique<probes::HealthMonitor>(&loop_,
                                                      probes::WebhookSettings{config_.alerts.webhook_url,
                                                                              config_.alerts.webhook_timeout_ms});
    health_->set_node(config_.fleet.is_enabled ? config_.fleet.node : config_.identity.id_server);
    health_->apply(*publisher_.current());
    operations_ = std::make_unique<Operations>(
        config_, &loop_, &publisher_, &workers_, health_.get(), &members_,
        [this](std::unique_ptr<const answer::Snapshot> snapshot) { publish(std::move(snapshot)); }, &adapt_);
    start_fleet();
    if (!start_admin()) return abandon_start();
    // Every socket is bound: root is no longer needed (and not kept unless allowed).
    std::string privilege_error;
    if (!drop_privileges({config_.user, config_.group, config_.allow_root}, &privilege_error)) {
        log::error(privilege_error);
        return abandon_start();
    }
    uv_timer_init(&loop_, &tick_timer_);
    tick_timer_.data = this;
    uv_timer_start(
        &tick_timer_, [](uv_timer_t* t) { static_cast<Control*>(t->data)->operations_->tick(); },
        config_.analytics.interval_ms, config_.analytics.interval_ms);
    uv_timer_init(&loop_, &adapt_timer_);
    adapt_timer_.data = this;
    uv_timer_start(
        &adapt_timer_, [](uv_timer_t* t) { static_cast<Control*>(t->data)->adapt_step(); },
        config_.adaptive.interval_ms, config_.adaptive.interval_ms);
    // Feeds start once the admin side exists to take what they read.
    feeds_ = std::make_unique<probes::MemberFeeds>(&loop_, [this](const probes::FeedRead& read) {
        return operations_->feed_read(read);
    });
    feeds_->apply(*publisher_.current());
    wait_for_first_probes();
    for (auto& worker : workers_) worker->start();
    // Secondaries are told once the zones are served, so the transfer they ask for is answered.
    notifier_ = std::make_unique<Notifier>(&loop_, &transfer_counters_);
    notifier_->apply(*publisher_.current());
    lower_to_control_plane_priority();  // this thread reloads and probes from now on
    std::string where;
    for (const auto& a : config_.udp) where += " udp " + a.text;
    for (const auto& a : config_.tcp) where += " tcp " + a.text;
    if (!config_.admin.listen.empty()) where += ", admin http " + config_.admin.listen;
    log::info("serving with " + std::to_string(config_.workers) + " workers on" + where);
    // Type=notify: systemd learns that the first snapshot is being served (a no-op elsewhere).
    sd_notify(0, "READY=1");

    uv_run(&loop_, UV_RUN_DEFAULT);

    if (admin_) admin_->stop();
    notifier_->stop();
    bridge_->close();
    for (auto& worker : workers_) worker->stop();
    health_->stop();
    if (fleet_) fleet_->stop();
    feeds_->stop();
    operations_->stop();
    workers_.clear();
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    log::info("stopped");
    return 0;
}

}  // namespace

int run_server(config::ServerConfig config, std::unique_ptr<const answer::Snapshot> snapshot) {
    signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error code, not a death
    Control control(std::move(config), std::move(snapshot));
    return control.run();
}

}  // namespace meridian::server

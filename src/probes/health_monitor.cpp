#include "probes/health_monitor.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <random>

#include "common/log.hpp"
#include "dns/name.hpp"
#include "health/schedule.hpp"

namespace meridian::probes {

void LatencyHistogram::add(uint32_t ms) noexcept {
    ++count;
    sum_ms += ms;
    for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
        if (ms <= kLatencyBucketsMs[i]) ++buckets[i];
    }
}

struct HealthMonitor::Target {
    std::string key;
    LatencyHistogram latency;
    ProbeTarget probe;
    health::TargetHealth health;
    std::vector<Subscriber> subscribers;
    uv_timer_t timer{};
    bool is_in_flight = false;
    HealthMonitor* monitor = nullptr;

    Target(ProbeTarget p, health::Clock::time_point now)
        : probe(std::move(p)), health(probe.spec.thresholds, probe.spec.initial, now) {}
};

struct HealthMonitor::StateFile {
    std::string path;
    std::string check;
    uv_fs_poll_t poll{};
    HealthMonitor* monitor = nullptr;
    std::vector<Subscriber> subscribers;
    std::map<std::string, std::unique_ptr<health::TargetHealth>> regions;  // by region name
    std::map<std::string, StateFileEntry> readings;  // the load and latency the file gave, by region
    bool is_waiting = false;
};

namespace {

// Everything that makes two probes the same probe.
std::string probe_key(const ProbeTarget& t) {
    const health::CheckSpec& s = t.spec;
    // An absolute URL says where to go; the region's address then plays no part.
    const std::string target = s.url.empty() ? geo::to_string(t.address) : std::string("-");
    std::string key = std::string(health::to_string(s.kind)) + "|" + target + "|" + std::to_string(s.port) + "|" +
                      s.url + "|" + s.path + "|" + s.host + "|" + std::to_string(s.status_min) + "-" +
                      std::to_string(s.status_max) + "|" + s.body_contains + "|" + s.query_name + "|" +
                      std::to_string(s.query_type) + "|" + std::to_string(s.expect_rcode) + "|" +
                      std::to_string(s.interval_ms) + "|" + std::to_string(s.timeout_ms) + "|" +
                      std::to_string(s.jitter_ms) + "|" + std::to_string(static_cast<int>(s.initial)) + "|" +
                      std::to_string(s.verify_tls);
    for (const std::string& k : s.load_field) key += "." + k;
    const health::Thresholds& th = s.thresholds;
    key += "|" + std::to_string(th.healthy_below_ms) + "," + std::to_string(th.degraded_below_ms) + "," +
           std::to_string(th.healthy_success) + "," + std::to_string(th.degraded_success) + "," +
           std::to_string(th.window) + "," + std::to_string(th.rise) + "," + std::to_string(th.fall);
    return key;
}

void write_slot(const std::shared_ptr<health::HealthBoard>& board, uint32_t slot, health::RegionHealth h) {
    h.override = board->read(slot).override;  // operators' overrides are not the monitor's to change
    board->write(slot, h);
}

}  // namespace

HealthMonitor::HealthMonitor(uv_loop_t* loop, WebhookSettings webhook)
    : loop_(loop), curl_(loop), webhook_(loop, std::move(webhook)), prober_(loop, &curl_),
      random_((uint64_t{std::random_device{}()} << 32) | std::random_device{}()) {}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::close_state_file(std::unique_ptr<StateFile> file) {
    StateFile* closing = file.release();  // owned by the close callback from here
    uv_fs_poll_stop(&closing->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&closing->poll),
             [](uv_handle_t* h) { delete static_cast<StateFile*>(h->data); });
}

void HealthMonitor::stop() {
    if (is_stopped_) return;
    is_stopped_ = true;
    for (auto& [key, target] : targets_) retire(target);
    targets_.clear();
    for (auto& [path, file] : state_files_) {
        close_state_file(std::move(file));
    }
    state_files_.clear();
    webhook_.close();
    curl_.close();
}

void HealthMonitor::retire(const std::shared_ptr<Target>& target) {
    uv_timer_stop(&target->timer);
    // The handle keeps its target alive until libuv lets go of it; an in-flight probe holds a
    // weak pointer only, so its result is dropped.
    target->timer.data = new std::shared_ptr<Target>(target);
    uv_close(reinterpret_cast<uv_handle_t*>(&target->timer),
             [](uv_handle_t* h) { delete static_cast<std::shared_ptr<Target>*>(h->data); });
}

void HealthMonitor::apply(const answer::Snapshot& snapshot) {
    const auto now = health::Clock::now();
    std::map<std::string, std::shared_ptr<Target>> kept;
    std::map<std::string, std::unique_ptr<StateFile>> files;
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const health::CheckPlan& plan = served.zone().checks();
        const std::string zone_name = dns::name_to_text(served.zone().origin());
        // The board lives in the zone's runtime; the subscriber's pointer keeps that alive.
        const std::shared_ptr<health::HealthBoard> board(served.runtime, &served.runtime->health());
        for (uint32_t i = 0; i < plan.regions.size(); ++i) {
            const health::RegionCheck& region = plan.regions[i];
            Subscriber who{board, i, zone_name, region.region};
            const health::CheckSpec* check = plan.check_of(i);
            if (check == nullptr || check->kind == health::CheckKind::none) {
                write_slot(board, i, health::RegionHealth{});
                continue;
            }
            const health::CheckSpec& spec = *check;
            if (spec.kind == health::CheckKind::file) {
                auto& file = files[spec.file_path];
                if (!file) {
                    auto old = state_files_.find(spec.file_path);
                    if (old != state_files_.end()) {
                        file = std::move(old->second);
                        state_files_.erase(old);
                        file->subscribers.clear();
                    } else {
                        file = std::make_unique<StateFile>();
                        file->path = spec.file_path;
                        file->check = spec.name;
                        file->monitor = this;
                        file->is_waiting = spec.initial == health::InitialState::wait;
                        uv_fs_poll_init(loop_, &file->poll);
                        file->poll.data = file.get();
                        uv_fs_poll_start(
                            &file->poll,
                            [](uv_fs_poll_t* handle, int, const uv_stat_t*, const uv_stat_t*) {
                                auto* f = static_cast<StateFile*>(handle->data);
                                f->monitor->reload_state_file(*f);
                            },
                            file->path.c_str(), std::min<uint32_t>(spec.interval_ms, 1000));
                    }
                }
                if (file->regions.find(region.region) == file->regions.end()) {
                    file->regions[region.region] = std::make_unique<health::TargetHealth>(spec.thresholds, spec.initial,
                                                                                          now);
                }
                file->subscribers.push_back(who);
                continue;
            }
            // The loader resolved where the probe goes (check address, check_address or the
            // region's first address); empty only when an absolute URL says where.
            ProbeTarget probe{spec, region.address.empty() ? geo::IpAddress{} : *geo::parse_address(region.address)};
            const std::string key = probe_key(probe);
            auto& target = kept[key];
            if (!target) {
                auto old = targets_.find(key);
                if (old != targets_.end()) {
                    target = old->second;
                    targets_.erase(old);
                    target->subscribers.clear();
                } else {
                    target = std::make_shared<Target>(probe, now);
                    target->key = key;
                    target->monitor = this;
                    uv_timer_init(loop_, &target->timer);
                    target->timer.data = target.get();
                    // The first run comes at once (spread over the jitter), so states are known soon.
                    schedule(target, static_cast<uint32_t>(random_.below(uint64_t{spec.jitter_ms} + 1)));
                }
            }
            target->subscribers.push_back(who);
        }
    }
    for (auto& [key, target] : targets_) retire(target);  // nobody probes these any more
    targets_ = std::move(kept);
    for (auto& [key, target] : targets_) publish(*target);
    for (auto& [path, file] : state_files_) {
        close_state_file(std::move(file));
    }
    state_files_ = std::move(files);
    for (auto& [path, file] : state_files_) reload_state_file(*file);
}

bool HealthMonitor::is_waiting() const {
    for (const auto& [key, target] : targets_) {
        if (target->health.is_waiting()) return true;
    }
    for (const auto& [path, file] : state_files_) {
        if (file->is_waiting) return true;
    }
    return false;
}

void HealthMonitor::schedule(const std::shared_ptr<Target>& target, uint32_t delay_ms) {
    uv_timer_start(
        &target->timer,
        [](uv_timer_t* timer) {
            auto* t = static_cast<Target*>(timer->data);
            t->monitor->run_probe(t->monitor->targets_.at(t->key));
        },
        delay_ms, 0);
}

void HealthMonitor::run_probe(const std::shared_ptr<Target>& target) {
    const health::CheckSpec& spec = target->probe.spec;
    // The next run is timed from this one's start; a probe still running (its timeout is within
    // the interval, so only by a hair) is not started twice.
    schedule(target, health::next_delay_ms(spec.interval_ms, spec.jitter_ms, &random_));
    if (target->is_in_flight) return;
    target->is_in_flight = true;
    std::weak_ptr<Target> weak = target;
    prober_.run(target->probe, [this, weak](const health::ProbeResult& result) {
        const auto t = weak.lock();
        if (!t || is_stopped_) return;
        t->is_in_flight = false;
        if (result.is_ok) t->latency.add(result.latency_ms);
        const auto transition = t->health.record(result, health::Clock::now());
        if (transition) {
            for (const Subscriber& who : t->subscribers) alert(who, t->probe.spec.name, *transition);
        }
        publish(*t);
    });
}

void HealthMonitor::publish(Target& target) {
    const health::RegionHealth h = target.health.snapshot();
    for (const Subscriber& who : target.subscribers) write_slot(who.board, who.slot, h);
}

void HealthMonitor::reload_state_file(StateFile& file) {
    std::map<std::string, StateFileEntry> entries;
    std::string error;
    const auto now = health::Clock::now();
    const bool is_readable = read_state_file(file.path, &entries, &error);
    // A broken file says nothing about the regions: they keep their states (also on boards of a
    // zone just reloaded), and the log says what is wrong.
    if (!is_readable) log::error("health: " + error + " (keeping the previous states)");
    file.is_waiting = false;
    for (const Subscriber& who : file.subscribers) {
        auto& region = file.regions[who.region];
        if (is_readable) {
            const auto it = entries.find(who.region);
            const StateFileEntry entry = it != entries.end()
                                             ? it->second
                                             : StateFileEntry{health::State::healthy, "not in the state file"};
            if (const auto transition = region->assign(entry.state, entry.reason, now))
                alert(who, file.check, *transition);
            file.readings[who.region] = entry;
        }
        health::RegionHealth h;
        h.state = region->state();
        if (const auto it = file.readings.find(who.region); it != file.readings.end()) {
            const StateFileEntry& reading = it->second;
            h.has_load = reading.has_load;
            h.load_centi = static_cast<uint32_t>(std::lround(reading.load * 100));
            h.has_measurement = reading.has_latency;
            h.latency_ms = static_cast<uint32_t>(std::lround(reading.latency_ms));
        }
        write_slot(who.board, who.slot, h);
    }
}

void HealthMonitor::alert(const Subscriber& who, const std::string& check, const health::Transition& t) {
    ++transitions_;
    const std::string line = "health: " + who.zone + " region " + who.region + " (check " + check +
                             "): " + health::to_string(t.from) + " → " + health::to_string(t.to) + ": " + t.reason;
    if (t.to == health::State::healthy) log::info(line);
    else log::warning(line);
    const nlohmann::json body = {{"zone", who.zone},
                                 {"region", who.region},
                                 {"check", check},
                                 {"from", health::to_string(t.from)},
                                 {"to", health::to_string(t.to)},
                                 {"reason", t.reason},
                                 {"time", std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()}};
    webhook_.post(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::vector<RegionStatus> HealthMonitor::status() const {
    std::vector<RegionStatus> out;
    for (const auto& [key, target] : targets_) {
        for (const Subscriber& who : target->subscribers) {
            out.push_back({who.zone, who.region, target->probe.spec.name, target->health.state(),
                           target->health.latency_ms(), target->health.success_rate(), target->health.last_reason(),
                           target->health.last_change(), target->latency, true});
        }
    }
    for (const auto& [path, file] : state_files_) {
        for (const Subscriber& who : file->subscribers) {
            const auto& h = file->regions.at(who.region);
            out.push_back(
                {who.zone, who.region, file->check, h->state(), 0, 1, h->last_reason(), h->last_change(), {}, false});
        }
    }
    return out;
}

}  // namespace meridian::probes

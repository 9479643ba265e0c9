#include "probes/health_monitor.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/fnv1a.hpp"
#include "common/log.hpp"
#include "dns/name.hpp"
#include "health/members.hpp"
#include "health/promql_template.hpp"
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
    std::string vote_key;  // fleet mode: the key's digest, the same on every node
    LatencyHistogram latency;
    ProbeTarget probe;
    health::TargetHealth health;
    std::vector<Subscriber> subscribers;
    uv_timer_t timer{};
    bool is_in_flight = false;
    HealthMonitor* monitor = nullptr;
    // Fleet mode: the state last cast as this node's vote, and the state the votes decided.
    bool has_cast = false;
    health::State cast_state = health::State::healthy;
    health::State decided;
    VoteStatus vote;

    Target(ProbeTarget p, health::Clock::time_point now)
        : probe(std::move(p)), health(probe.spec.thresholds, probe.spec.initial, now), decided(health.state()) {}

    std::string description() const {
        return std::string(health::to_string(probe.spec.kind)) + " probe of " +
               (probe.spec.url.empty() ? geo::to_string(probe.address) : probe.spec.url);
    }
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

health::RegionHealth with_load(health::RegionHealth h, double load) {
    h.has_load = true;
    const double centi = load * 100.0;
    h.load_centi = centi <= 0 ? 0 : static_cast<uint32_t>(std::min(centi, 16777215.0));
    return h;
}

}  // namespace

// A region whose addresses are judged one by one: what each member's source says and its
// probes found, and the region slot computed from them after every change.
struct HealthMonitor::MemberGroup {
    struct Entry {
        uint32_t slot = 0;
        bool is_ipv6 = false;
        std::string address;
        steer::Member source;
        health::RegionHealth probed;  // its probes' latest (per_address); healthy when not probed
        std::string reason;           // … and why
        bool is_answered = true;      // as the last aggregation found

        // Its slot: the probes' verdict under what its source says. A member its source marks
        // down is unhealthy, a draining one drained; a standby (weight 0) that is healthy waits
        // as degraded, answered only while no member with a weight can be.
        health::RegionHealth word() const {
            health::RegionHealth h = probed;
            h.override = health::Override::none;
            if (source.has_load && !h.has_load) h = with_load(h, source.load);
            if (source.state == steer::MemberState::down) h.state = health::State::unhealthy;
            else if (source.state == steer::MemberState::drain) h.override = health::Override::drain;
            else if (source.weight == 0 && h.state == health::State::healthy) h.state = health::State::degraded;
            return h;
        }
        // A member with weight 0 whose probes and source find nothing wrong: held back, not out.
        bool is_standby() const {
            return source.weight == 0 && source.state == steer::MemberState::up &&
                   probed.state == health::State::healthy;
        }
    };
    std::shared_ptr<health::HealthBoard> board;
    uint32_t region_slot = 0;
    std::string zone;
    std::string region;
    std::string check;
    bool is_per_address = false;
    uint32_t min_healthy = 1;  // resolved: a share of the members rounded up
    std::vector<Entry> members;
    health::RegionHealth region_check;  // what the region-level check says (not per_address)
    std::string region_reason;
    health::State state = health::State::healthy;  // the region's, as last aggregated
    std::string reason;
    health::Clock::time_point last_change;
};

namespace {

// Everything that makes two probes the same probe.
std::string probe_key(const ProbeTarget& t) {
    const health::CheckSpec& s = t.spec;
    const health::Thresholds& th = s.thresholds;
    // Timing and thresholds: two checks differing there judge the same target differently.
    const std::string judged = std::to_string(s.interval_ms) + "|" + std::to_string(s.timeout_ms) + "|" +
                               std::to_string(s.jitter_ms) + "|" + std::to_string(static_cast<int>(s.initial)) + "|" +
                               std::to_string(s.verify_tls) + "|" + std::to_string(th.healthy_below_ms) + "," +
                               std::to_string(th.degraded_below_ms) + "," + std::to_string(th.healthy_success) + "," +
                               std::to_string(th.degraded_success) + "," + std::to_string(th.window) + "," +
                               std::to_string(th.rise) + "," + std::to_string(th.fall);
    if (s.kind == health::CheckKind::prometheus) {
        // A query's target is its server and the query as expanded for the region.
        return "prometheus|" + s.url + "|" + t.promql + "|" + std::to_string(static_cast<int>(s.measure)) + "|" +
               std::to_string(s.max_age_ms) + "|" + judged;
    }
    // An absolute URL says where to go; the region's address then plays no part.
    const std::string target = s.url.empty() ? geo::to_string(t.address) : std::string("-");
    std::string key = std::string(health::to_string(s.kind)) + "|" + target + "|" + std::to_string(s.port) + "|" +
                      s.url + "|" + s.path + "|" + s.host + "|" + std::to_string(s.status_min) + "-" +
                      std::to_string(s.status_max) + "|" + s.body_contains + "|" + s.query_name + "|" +
                      std::to_string(s.query_type) + "|" + std::to_string(s.expect_rcode) + "|" + judged;
    for (const std::string& k : s.load_field) key += "." + k;
    return key;
}

// Fleet mode: a target's name in etcd, from everything that makes it the same probe.
std::string vote_key_of(const std::string& key) {
    Fnv1a hash;
    for (const char c : key) hash.mix(static_cast<uint8_t>(c));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash.value()));
    return hex;
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
    votes_ = nullptr;  // stopping is not withdrawing: the node's votes expire with its lease
    for (auto& [key, target] : targets_) retire(target);
    targets_.clear();
    prober_.cancel_all();
    for (auto& [path, file] : state_files_) {
        close_state_file(std::move(file));
    }
    state_files_.clear();
    webhook_.close();
    curl_.close();
}

void HealthMonitor::retire(const std::shared_ptr<Target>& target) {
    if (votes_ != nullptr && target->has_cast) votes_->withdraw(target->vote_key);
    uv_timer_stop(&target->timer);
    // The handle keeps its target alive until libuv lets go of it; an in-flight probe holds a
    // weak pointer only, so its result is dropped.
    target->timer.data = new std::shared_ptr<Target>(target);
    uv_close(reinterpret_cast<uv_handle_t*>(&target->timer),
             [](uv_handle_t* h) { delete static_cast<std::shared_ptr<Target>*>(h->data); });
}

std::shared_ptr<HealthMonitor::MemberGroup> HealthMonitor::make_group(const zone::ServedZone& served, uint32_t index,
                                                                      const std::shared_ptr<health::HealthBoard>& board,
                                                                      const std::string& zone_name,
                                                                      health::Clock::time_point now) {
    const steer::Region& region = served.zone().policy().regions[index];
    const health::CheckSpec* check = served.zone().checks().check_of(index);
    auto group = std::make_shared<MemberGroup>();
    group->board = board;
    group->region_slot = index;
    group->zone = zone_name;
    group->region = region.name;
    group->check = check != nullptr ? check->name : "none";
    group->is_per_address = check != nullptr && check->per_address;
    group->last_change = now;
    for (std::size_t m = 0; m < region.members.size(); ++m) {
        MemberGroup::Entry e;
        e.slot = region.first_member + static_cast<uint32_t>(m);
        e.is_ipv6 = m >= region.ipv4.size();
        e.address = geo::to_string(region.member_address(m));
        e.source = region.members[m];
        e.reason = group->is_per_address ? "assumed up until probed" : "not probed on its own";
        group->members.push_back(std::move(e));
    }
    if (group->is_per_address) {
        const auto n = static_cast<double>(group->members.size());
        group->min_healthy = check->min_healthy_fraction > 0
                                 ? static_cast<uint32_t>(std::ceil(check->min_healthy_fraction * n - 1e-9))
                                 : check->min_healthy;
    }
    // A region that stays keeps its state, so a reload or a new member list does not read as a
    // change of state.
    const std::string key = zone_name + "|" + region.name;
    if (const auto old = groups_.find(key); old != groups_.end()) {
        group->state = old->second->state;
        group->reason = old->second->reason;
        group->last_change = old->second->last_change;
    }
    return group;
}

void HealthMonitor::apply(const answer::Snapshot& snapshot) {
    const auto now = health::Clock::now();
    std::map<std::string, std::shared_ptr<Target>> kept;
    std::map<std::string, std::unique_ptr<StateFile>> files;
    std::map<std::string, std::shared_ptr<MemberGroup>> groups;
    // The target probing `probe`: kept from before, or new and scheduled.
    const auto target_for = [&](const ProbeTarget& probe) -> std::shared_ptr<Target>& {
        const std::string key = probe_key(probe);
        auto& target = kept[key];
        if (target) return target;
        if (auto old = targets_.find(key); old != targets_.end()) {
            target = old->second;
            targets_.erase(old);
            target->subscribers.clear();
            return target;
        }
        target = std::make_shared<Target>(probe, now);
        target->key = key;
        target->vote_key = vote_key_of(key);
        target->monitor = this;
        uv_timer_init(loop_, &target->timer);
        target->timer.data = target.get();
        // The first run comes at once (spread over the jitter), so states are known soon.
        schedule(target, static_cast<uint32_t>(random_.below(uint64_t{probe.spec.jitter_ms} + 1)));
        return target;
    };
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        const health::CheckPlan& plan = served.zone().checks();
        const steer::Policy& policy = served.zone().policy();
        const std::string zone_name = dns::name_to_text(served.zone().origin());
        // The board lives in the zone's runtime; the subscriber's pointer keeps that alive.
        const std::shared_ptr<health::HealthBoard> board(served.runtime, &served.runtime->health());
        for (uint32_t i = 0; i < plan.regions.size(); ++i) {
            const health::RegionCheck& region = plan.regions[i];
            Subscriber who{board, i, zone_name, region.region, nullptr, -1};
            if (i < policy.regions.size() && policy.regions[i].has_member_health) {
                who.group = make_group(served, i, board, zone_name, now);
                groups[zone_name + "|" + region.region] = who.group;
            }
            const health::CheckSpec* check = plan.check_of(i);
            if (check == nullptr || check->kind == health::CheckKind::none) {
                if (who.group) who.group->region_reason = "no check: up unless its members are not";
                write_region(who, health::RegionHealth{});
                continue;
            }
            const health::CheckSpec& spec = *check;
            if (spec.per_address && who.group) {
                // One target per address; identical probes (the same address and check in another
                // region or zone) are still one target.
                for (std::size_t m = 0; m < who.group->members.size(); ++m) {
                    MemberGroup::Entry& entry = who.group->members[m];
                    const ProbeTarget probe{spec, policy.regions[i].member_address(m), {}};
                    const auto& target = target_for(probe);
                    Subscriber member = who;
                    member.slot = entry.slot;
                    member.member = static_cast<int32_t>(m);
                    target->subscribers.push_back(std::move(member));
                    entry.probed = target->health.snapshot();
                    entry.reason = target->health.last_reason();
                }
                continue;
            }
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
            ProbeTarget probe{spec,
                              region.address.empty() ? geo::IpAddress{} : *geo::parse_address(region.address),
                              {}};
            if (spec.kind == health::CheckKind::prometheus) {
                // The loader checked that the template expands for this region.
                std::string error;
                probe.address = {};
                health::expand_promql(spec.promql, {zone_name, region.region, region.labels}, &probe.promql, &error);
            }
            target_for(probe)->subscribers.push_back(who);
        }
    }
    for (auto& [key, target] : targets_) retire(target);  // nobody probes these any more
    targets_ = std::move(kept);
    groups_ = std::move(groups);
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
        if (transition && votes_ != nullptr) {
            // The fleet decides the state; publish() alerts when the decision changes.
            log::info("health: " + t->description() + ": this node's verdict " + health::to_string(transition->from) +
                      " → " + health::to_string(transition->to) + ": " + transition->reason);
        } else if (transition) {
            for (const Subscriber& who : t->subscribers) {
                const std::string member = who.member >= 0 ? geo::to_string(t->probe.address) : std::string();
                alert(who, t->probe.spec.name, *transition, member);
            }
        }
        publish(*t);
    });
}

void HealthMonitor::set_votes(VoteBox* box, health::VoteRule rule) {
    votes_ = box;
    rule_ = rule;
    for (auto& [key, target] : targets_) {
        target->has_cast = false;
        target->vote = {};
    }
    recount();
}

void HealthMonitor::recount() {
    for (auto& [key, target] : targets_) publish(*target);
}

health::RegionHealth HealthMonitor::decide(Target& target) {
    health::RegionHealth h = target.health.snapshot();
    if (votes_ == nullptr) {
        target.decided = h.state;
        return h;
    }
    // No vote before the first result: a node just started would vote its check's initial state
    // (up, by default) and could outvote the fleet's view of a target that is down. Until then
    // the others' votes decide, and its own state stands only when too few of them are alive.
    const bool has_result = target.health.samples() > 0;
    if (has_result && (!target.has_cast || target.cast_state != h.state)) {
        const Verdict v{target.description(),        h.state,
                        h.has_measurement,           h.latency_ms,
                        h.success_permille / 1000.0, target.health.last_reason()};
        votes_->cast(target.vote_key, v);
        target.has_cast = true;
        target.cast_state = h.state;
    }
    health::Tally tally = votes_->others(target.vote_key);
    if (target.has_cast) tally.add(h.state);
    const health::VoteOutcome outcome = health::decide_by_vote(h.state, tally, rule_);
    target.vote = {true, h.state, tally, outcome.is_by_vote, outcome.reason};
    if (outcome.state != target.decided) {
        const health::Transition t{target.decided, outcome.state, target.health.last_reason() + "; " + outcome.reason};
        target.decided = outcome.state;
        for (const Subscriber& who : target.subscribers) {
            const std::string member = who.member >= 0 ? geo::to_string(target.probe.address) : std::string();
            alert(who, target.probe.spec.name, t, member);
        }
    }
    h.state = outcome.state;
    return h;
}

void HealthMonitor::publish(Target& target) {
    const health::RegionHealth h = decide(target);
    std::string reason = target.description() + ": " + target.health.last_reason();
    if (target.vote.is_voting) reason += "; " + target.vote.reason;
    for (const Subscriber& who : target.subscribers) {
        if (who.member < 0) {
            if (who.group) who.group->region_reason = reason;
            write_region(who, h);
            continue;
        }
        MemberGroup::Entry& entry = who.group->members[static_cast<std::size_t>(who.member)];
        entry.probed = h;
        entry.reason = target.health.last_reason();
        who.board->write(entry.slot, entry.word());
        aggregate(*who.group);
    }
}

void HealthMonitor::write_region(const Subscriber& who, const health::RegionHealth& h) {
    if (!who.group) {
        write_slot(who.board, who.slot, h);
        return;
    }
    who.group->region_check = h;
    aggregate(*who.group);
}

void HealthMonitor::aggregate(MemberGroup& group) {
    std::vector<health::MemberView> views;
    views.reserve(group.members.size());
    for (const MemberGroup::Entry& e : group.members) {
        const health::RegionHealth word = e.word();
        group.board->write(e.slot, word);  // members first: answers read them once the region is chosen
        views.push_back({word, e.is_ipv6, e.is_standby()});
    }
    const health::MemberSummary summary = health::summarise_members(views, group.is_per_address, group.min_healthy,
                                                                    group.region_check);
    for (std::size_t i = 0; i < group.members.size(); ++i) group.members[i].is_answered = summary.is_answered[i];
    const auto total = std::to_string(group.members.size());
    std::string reason;
    if (group.is_per_address) {
        reason = "per-address probes (check " + group.check + "): " + std::to_string(summary.healthy) + " of " + total +
                 " addresses healthy, " + std::to_string(group.min_healthy) + " needed";
    } else {
        reason = group.region_reason;
        if (summary.out > 0) reason += "; " + std::to_string(summary.out) + " of " + total + " addresses left out";
    }
    write_slot(group.board, group.region_slot, summary.region);
    if (summary.region.state != group.state) {
        const health::Transition t{group.state, summary.region.state, reason};
        group.state = summary.region.state;
        group.last_change = health::Clock::now();
        // Only a per-address region's state is made here; a region-level check alerts itself.
        if (group.is_per_address) {
            alert(Subscriber{group.board, group.region_slot, group.zone, group.region, nullptr, -1}, group.check, t);
        }
    }
    group.reason = std::move(reason);
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
        if (who.group) who.group->region_reason = "state file " + file.path + ": " + region->last_reason();
        write_region(who, h);
    }
}

void HealthMonitor::alert(const Subscriber& who, const std::string& check, const health::Transition& t,
                          const std::string& member) {
    ++transitions_;
    const std::string line = "health: " + who.zone + " region " + who.region +
                             (member.empty() ? "" : " address " + member) + " (check " + check +
                             "): " + health::to_string(t.from) + " → " + health::to_string(t.to) + ": " + t.reason;
    if (t.to == health::State::healthy) log::info(line);
    else log::warning(line);
    nlohmann::json body = {{"zone", who.zone},
                           {"region", who.region},
                           {"check", check},
                           {"from", health::to_string(t.from)},
                           {"to", health::to_string(t.to)},
                           {"reason", t.reason},
                           {"time", std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()}};
    if (!member.empty()) body["member"] = member;
    webhook_.post(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::vector<RegionStatus> HealthMonitor::status() const {
    std::vector<RegionStatus> out;
    std::map<std::string, std::size_t> shown;  // by zone and region: the region's entry in `out`
    const auto add = [&](const Subscriber& who, const std::string& check, health::State state, std::string reason,
                         health::Clock::time_point last_change) -> RegionStatus& {
        RegionStatus r;
        r.zone = who.zone;
        r.region = who.region;
        r.check = check;
        r.state = state;
        r.reason = who.group ? who.group->reason : std::move(reason);
        r.last_change = last_change;
        if (who.group) {
            for (const MemberGroup::Entry& e : who.group->members) {
                r.members.push_back({e.address, e.source.id, steer::to_string(e.source.state), e.source.weight,
                                     e.probed.state, e.is_answered, e.probed.has_measurement, e.probed.latency_ms,
                                     e.probed.success_permille / 1000.0, e.reason});
            }
        }
        shown[who.zone + "|" + who.region] = out.size();
        out.push_back(std::move(r));
        return out.back();
    };
    for (const auto& [key, target] : targets_) {
        const health::CheckSpec& spec = target->probe.spec;
        for (const Subscriber& who : target->subscribers) {
            if (who.member >= 0) {
                // A per-address region: one entry for the whole group, its probes' latencies added up.
                const auto it = shown.find(who.zone + "|" + who.region);
                RegionStatus* r = it != shown.end() ? &out[it->second] : nullptr;
                if (r == nullptr) {
                    const MemberGroup& g = *who.group;
                    const health::RegionHealth h = g.board->read(g.region_slot);
                    r = &add(who, spec.name, g.state, {}, g.last_change);
                    r->latency_ms = h.latency_ms;
                    r->success_rate = h.success_permille / 1000.0;
                    r->has_latency = h.has_measurement;
                    r->is_probed = true;
                }
                LatencyHistogram& sum = r->probe_latency;
                for (std::size_t b = 0; b < sum.buckets.size(); ++b) sum.buckets[b] += target->latency.buckets[b];
                sum.count += target->latency.count;
                sum.sum_ms += target->latency.sum_ms;
                continue;
            }
            std::string reason = target->description() + ": " + target->health.last_reason();
            if (target->vote.is_voting) reason += "; " + target->vote.reason;
            RegionStatus& r = add(who, spec.name, target->decided, std::move(reason), target->health.last_change());
            r.vote = target->vote;
            r.latency_ms = target->health.latency_ms();
            r.success_rate = target->health.success_rate();
            r.probe_latency = target->latency;
            r.is_probed = true;
            r.has_latency = target->health.snapshot().has_measurement;
        }
    }
    for (const auto& [path, file] : state_files_) {
        for (const Subscriber& who : file->subscribers) {
            const auto& h = file->regions.at(who.region);
            RegionStatus& r = add(who, file->check, h->state(), "state file " + path + ": " + h->last_reason(),
                                  h->last_change());
            if (const auto it = file->readings.find(who.region); it != file->readings.end() && it->second.has_latency) {
                r.has_latency = true;
                r.latency_ms = static_cast<uint32_t>(std::lround(it->second.latency_ms));
            }
        }
    }
    // Regions with members but no check: their members are all there is to show.
    for (const auto& [key, group] : groups_) {
        if (shown.count(key) != 0) continue;
        add(Subscriber{group->board, group->region_slot, group->zone, group->region, group, -1}, group->check,
            group->state, {}, group->last_change);
    }
    return out;
}

}  // namespace meridian::probes

#include "fleet/fleet_node.hpp"

#include <algorithm>
#include <chrono>

#include "common/log.hpp"

namespace meridian::fleet {

using nlohmann::json;

namespace {

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json parse(const std::string& text) { return json::parse(text, nullptr, /*allow_exceptions=*/false); }

EtcdSettings etcd_settings(const config::FleetConfig& c) {
    EtcdSettings s;
    s.endpoints = c.endpoints;
    s.user = c.user;
    s.password = c.password;
    s.ca_file = c.ca_file;
    s.cert_file = c.cert_file;
    s.key_file = c.key_file;
    s.verify_tls = c.verify_tls;
    s.timeout_ms = c.timeout_ms;
    return s;
}

constexpr uint32_t kRetryMaxMs = 5000;
constexpr uint64_t kRecountDelayMs = 20;  // watch events arriving together are counted once

}  // namespace

json NodeEntry::to_json() const {
    return json{{"serials", serials},
                {"config_digest", config_digest},
                {"last_vote", last_vote},
                {"started", started},
                {"admin", admin}};
}

std::optional<NodeEntry> NodeEntry::from_json(const std::string& text) {
    const json doc = parse(text);
    if (!doc.is_object()) return std::nullopt;
    NodeEntry e;
    if (const auto it = doc.find("serials"); it != doc.end() && it->is_object()) {
        for (const auto& [zone, serial] : it->items()) {
            if (serial.is_number_unsigned() && serial.get<uint64_t>() <= UINT32_MAX)
                e.serials[zone] = serial.get<uint32_t>();
        }
    }
    const auto text_of = [&](const char* key) {
        const auto it = doc.find(key);
        return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const auto number_of = [&](const char* key) -> int64_t {
        const auto it = doc.find(key);
        return it != doc.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
    };
    e.config_digest = text_of("config_digest");
    e.admin = text_of("admin");
    e.last_vote = number_of("last_vote");
    e.started = number_of("started");
    return e;
}

std::optional<health::State> vote_state(const std::string& text) {
    const json doc = parse(text);
    if (!doc.is_object()) return std::nullopt;
    const auto it = doc.find("state");
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    const std::string state = it->get<std::string>();
    for (const health::State s : {health::State::healthy, health::State::degraded, health::State::unhealthy}) {
        if (state == health::to_string(s)) return s;
    }
    return std::nullopt;
}

json vote_document(const probes::Verdict& v, const std::string& node, int64_t now) {
    json doc = {
        {"node", node},       {"target", v.target}, {"state", health::to_string(v.state)}, {"success", v.success_rate},
        {"reason", v.reason}, {"at", now}};
    doc["latency_ms"] = v.has_latency ? json(v.latency_ms) : json(nullptr);
    return doc;
}

FleetNode::FleetNode(uv_loop_t* loop, config::FleetConfig config, Hooks hooks)
    : loop_(loop), config_(std::move(config)), hooks_(std::move(hooks)), curl_(loop) {
    etcd_ = std::make_unique<EtcdClient>(loop, &curl_, etcd_settings(config_));
    for (uv_timer_t* t : {&keepalive_timer_, &retry_timer_, &recount_timer_}) {
        uv_timer_init(loop_, t);
        t->data = this;
    }
    entry_.started = unix_now();
    view_.node = config_.node;
    view_.prefix = config_.prefix;
    view_.endpoints = config_.endpoints;
    view_.quorum = config_.quorum;
    view_.min_voters = config_.min_voters;
    view_.lease_ttl_s = std::max<uint32_t>(1, config_.lease_ttl_ms / 1000);
    view_.partitioned_since = entry_.started;
    view_.error = "joining";
}

FleetNode::~FleetNode() { stop(); }

void FleetNode::start() {
    if (is_started_) return;
    is_started_ = true;
    log::info("fleet: node " + config_.node + " joining through etcd at " + config_.endpoints.front() +
              (config_.endpoints.size() > 1 ? " (and " + std::to_string(config_.endpoints.size() - 1) + " more)" : ""));
    join();
}

void FleetNode::stop() {
    if (is_stopped_) return;
    is_stopped_ = true;
    ++generation_;
    for (uv_timer_t* t : {&keepalive_timer_, &retry_timer_, &recount_timer_}) {
        uv_timer_stop(t);
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(t))) uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
    }
    // The lease is left to expire: the node's votes count for at most lease_ttl after it stops.
    etcd_->close();
    curl_.close();
}

void FleetNode::join() {
    if (is_stopped_ || is_joining_) return;
    is_joining_ = true;
    const uint64_t generation = ++generation_;
    const auto ttl_s = static_cast<int64_t>(std::max<uint32_t>(1, config_.lease_ttl_ms / 1000));
    etcd_->grant_lease(ttl_s, [this, generation](const EtcdError& error, int64_t lease, int64_t) {
        if (generation != generation_) return;
        if (!error.is_ok) return lost("granting a lease: " + error.message);
        lease_ = lease;
        put_entry();
        etcd_->range_prefix(config_.prefix, [this, generation](const RangeResult& listed) {
            if (generation != generation_) return;
            if (!listed.error.is_ok) return lost("listing " + config_.prefix + ": " + listed.error.message);
            votes_.clear();
            nodes_.clear();
            std::map<std::string, std::string> overrides;
            for (const KeyValue& kv : listed.kvs) {
                if (kv.key.rfind(config_.prefix + "overrides/", 0) == 0) {
                    overrides[kv.key] = kv.value;
                    continue;
                }
                take(kv, true);
            }
            // Overrides: the listing replaces what the node knew (cleared while it was away).
            for (const auto& [key, value] : known_overrides_) {
                if (overrides.count(key) == 0) take(KeyValue{key, value}, false);
            }
            for (const auto& [key, value] : overrides) {
                const auto known = known_overrides_.find(key);
                if (known == known_overrides_.end() || known->second != value) take(KeyValue{key, value}, true);
            }
            joined(listed.revision);
        });
    });
}

void FleetNode::joined(int64_t revision) {
    const uint64_t generation = generation_;
    watch_ = etcd_->watch_prefix(
        config_.prefix, revision + 1,
        [this, generation](const std::vector<WatchEvent>& events, int64_t) {
            if (generation != generation_) return;
            for (const WatchEvent& e : events) take(e.kv, e.type == WatchEvent::Type::put);
        },
        [this, generation](const EtcdError& error) {
            if (generation != generation_) return;
            has_watch_ = false;
            lost("the watch ended: " + (error.message.empty() ? std::string("closed by etcd") : error.message));
        });
    has_watch_ = true;
    is_joining_ = false;
    is_joined_ = true;
    // Every vote this node holds goes out under the new lease, those cast while it was joining too.
    for (const auto& [key, vote] : own_votes_) put_vote(key);
    if (is_entry_dirty_) put_entry();
    retry_ms_ = 500;
    ++view_.joins;
    const std::string others = std::to_string(nodes_.size()) + " other node" + (nodes_.size() == 1 ? "" : "s");
    if (has_been_cut_off_) {
        log::info("fleet: rejoined etcd as " + config_.node + " (" + others + " live); votes count again");
    } else {
        log::info("fleet: joined etcd as " + config_.node + " (" + others + " live)");
    }
    view_.is_partitioned = false;
    view_.partitioned_since = 0;
    view_.error.clear();
    const uint64_t every = std::max<uint64_t>(500, config_.lease_ttl_ms / 3);
    uv_timer_start(
        &keepalive_timer_, [](uv_timer_t* t) { static_cast<FleetNode*>(t->data)->keep_alive(); }, every, every);
    schedule_recount();
}

void FleetNode::lost(const std::string& reason) {
    if (is_stopped_) return;
    ++generation_;
    is_joining_ = false;
    if (has_watch_) etcd_->cancel_watch(watch_);
    has_watch_ = false;
    uv_timer_stop(&keepalive_timer_);
    if (is_joined_ || !has_been_cut_off_) {
        log::warning("fleet: cut off from etcd (" + reason +
                     "); this node goes by its own verdicts and keeps trying to rejoin");
        if (is_joined_) ++view_.partitions;
        has_been_cut_off_ = true;
        view_.partitioned_since = unix_now();
    }
    is_joined_ = false;
    view_.is_partitioned = true;
    view_.error = reason;
    if (!votes_.empty() || !nodes_.empty()) {
        votes_.clear();
        nodes_.clear();
        schedule_recount();
    }
    uv_timer_start(
        &retry_timer_, [](uv_timer_t* t) { static_cast<FleetNode*>(t->data)->join(); }, retry_ms_, 0);
    retry_ms_ = std::min(retry_ms_ * 2, kRetryMaxMs);
}

void FleetNode::keep_alive() {
    if (!is_joined_) return;
    const uint64_t generation = generation_;
    etcd_->keep_alive(lease_, [this, generation](const EtcdError& error, int64_t ttl_s) {
        if (generation != generation_) return;
        if (!error.is_ok) return lost("keeping the lease alive: " + error.message);
        if (ttl_s <= 0) return lost("the lease expired");
    });
    if (is_entry_dirty_) put_entry();
}

void FleetNode::put_entry() {
    is_entry_dirty_ = false;
    const uint64_t generation = generation_;
    etcd_->put(config_.prefix + "nodes/" + config_.node, entry_.to_json().dump(), lease_,
               [this, generation](const EtcdError& error, int64_t) {
                   if (generation != generation_ || error.is_ok) return;
                   lost("writing this node's entry: " + error.message);
               });
}

void FleetNode::put_vote(const std::string& key) {
    const auto vote = own_votes_.find(key);
    if (vote == own_votes_.end()) return;
    ++view_.votes_cast;
    const uint64_t generation = generation_;
    etcd_->put(vote_path(key), vote->second.dump(-1, ' ', false, json::error_handler_t::replace), lease_,
               [this, generation](const EtcdError& error, int64_t) {
                   if (generation != generation_ || error.is_ok) return;
                   lost("writing a vote: " + error.message);
               });
}

void FleetNode::cast(const std::string& key, const probes::Verdict& verdict) {
    const int64_t now = unix_now();
    own_votes_[key] = vote_document(verdict, config_.node, now);
    entry_.last_vote = now;
    is_entry_dirty_ = true;
    if (is_joined_) put_vote(key);
}

void FleetNode::withdraw(const std::string& key) {
    if (own_votes_.erase(key) == 0 || !is_joined_) return;
    const uint64_t generation = generation_;
    etcd_->remove(vote_path(key), [this, generation](const EtcdError& error) {
        if (generation != generation_ || error.is_ok) return;
        lost("removing a vote: " + error.message);
    });
}

health::Tally FleetNode::others(const std::string& key) const {
    health::Tally tally;
    if (!is_joined_) return tally;
    const auto it = votes_.find(key);
    if (it == votes_.end()) return tally;
    for (const auto& [node, state] : it->second) {
        if (tally.voters() + 1 >= health::kMaxVoters) break;  // this node's own vote is added after
        tally.add(state);
    }
    return tally;
}

void FleetNode::take(const KeyValue& kv, bool is_put) {
    if (kv.key.rfind(config_.prefix, 0) != 0) return;
    const std::string rest = kv.key.substr(config_.prefix.size());
    const auto split = [](const std::string& path, std::size_t at) {
        return std::make_pair(path.substr(0, at), path.substr(at + 1));
    };
    if (rest.rfind("votes/", 0) == 0) {
        const std::string tail = rest.substr(6);
        const std::size_t slash = tail.rfind('/');
        if (slash == std::string::npos) return;
        const auto [target, node] = split(tail, slash);
        if (node == config_.node || target.empty()) return;
        if (is_put) {
            const auto state = vote_state(kv.value);
            if (!state) return;
            votes_[target][node] = *state;
        } else if (const auto it = votes_.find(target); it != votes_.end()) {
            it->second.erase(node);
            if (it->second.empty()) votes_.erase(it);
        }
        schedule_recount();
    } else if (rest.rfind("nodes/", 0) == 0) {
        const std::string node = rest.substr(6);
        if (node == config_.node || node.empty()) return;
        if (!is_put) {
            if (const auto it = nodes_.find(node); it != nodes_.end()) {
                gone_[node] = {it->second, unix_now()};
                nodes_.erase(it);
                log::warning("fleet: node " + node + " left the fleet (its lease ran out: stopped, dead or cut off)");
            }
            return;
        }
        if (auto entry = NodeEntry::from_json(kv.value)) {
            if (gone_.erase(node) != 0) log::info("fleet: node " + node + " is back");
            nodes_[node] = std::move(*entry);
        }
    } else if (rest.rfind("overrides/", 0) == 0) {
        const std::string tail = rest.substr(10);
        const std::size_t slash = tail.find('/');
        if (slash == std::string::npos) return;
        const auto [zone, region] = split(tail, slash);
        if (is_put) {
            const json doc = parse(kv.value);
            if (!doc.is_object()) {
                log::warning("fleet: override " + kv.key + " is not a JSON object; ignored");
                return;
            }
            known_overrides_[kv.key] = kv.value;
            ++view_.overrides_applied;
            hooks_.override_changed(zone, region, &doc);
        } else {
            known_overrides_.erase(kv.key);
            ++view_.overrides_applied;
            hooks_.override_changed(zone, region, nullptr);
        }
    }
}

void FleetNode::schedule_recount() {
    if (is_stopped_ || uv_is_active(reinterpret_cast<uv_handle_t*>(&recount_timer_))) return;
    uv_timer_start(
        &recount_timer_,
        [](uv_timer_t* t) {
            auto* self = static_cast<FleetNode*>(t->data);
            if (self->hooks_.votes_changed) self->hooks_.votes_changed();
        },
        kRecountDelayMs, 0);
}

void FleetNode::set_entry(std::map<std::string, uint32_t> serials, std::string config_digest, std::string admin) {
    NodeEntry next = entry_;
    next.serials = std::move(serials);
    next.config_digest = std::move(config_digest);
    next.admin = std::move(admin);
    if (next == entry_) return;
    entry_ = std::move(next);
    is_entry_dirty_ = true;
    if (is_joined_) put_entry();
}

void FleetNode::write_override(const std::string& zone, const std::string& region, const json* override,
                               int64_t expires_in_s, const std::function<void(const std::string& error)>& done) {
    if (!is_joined_) return done("not in touch with etcd (" + view_.error + ")");
    const std::string key = config_.prefix + "overrides/" + zone + "/" + region;
    if (override == nullptr) {
        etcd_->remove(key, [done](const EtcdError& error) { done(error.is_ok ? std::string() : error.message); });
        return;
    }
    const std::string value = override->dump(-1, ' ', false, json::error_handler_t::replace);
    const auto put = [this, key, value, done](int64_t lease) {
        etcd_->put(key, value, lease,
                   [done](const EtcdError& error, int64_t) { done(error.is_ok ? std::string() : error.message); });
    };
    if (expires_in_s <= 0) return put(0);
    // The override's own lease ends when it does, so etcd removes it from every node's view.
    etcd_->grant_lease(expires_in_s, [put, done](const EtcdError& error, int64_t lease, int64_t) {
        if (!error.is_ok) return done(error.message);
        put(lease);
    });
}

namespace {

ops::FleetNodeView node_view(const std::string& name, const NodeEntry& entry) {
    ops::FleetNodeView n;
    n.node = name;
    n.serials = entry.serials;
    n.config_digest = entry.config_digest;
    n.last_vote = entry.last_vote;
    n.started = entry.started;
    n.admin = entry.admin;
    return n;
}

}  // namespace

ops::FleetView FleetNode::view() const {
    ops::FleetView view = view_;
    ops::FleetNodeView self = node_view(config_.node, entry_);
    self.is_self = true;
    view.nodes.push_back(std::move(self));
    for (const auto& [name, entry] : nodes_) {
        ops::FleetNodeView n = node_view(name, entry);
        for (const auto& [zone, serial] : entry.serials) {
            const auto mine = entry_.serials.find(zone);
            if (mine == entry_.serials.end() || mine->second != serial) n.serial_mismatch.push_back(zone);
        }
        for (const auto& [zone, serial] : entry_.serials) {
            if (entry.serials.count(zone) == 0) n.serial_mismatch.push_back(zone);
        }
        n.is_config_mismatch = entry.config_digest != entry_.config_digest;
        view.nodes.push_back(std::move(n));
    }
    constexpr int64_t kForgetGoneAfterSeconds = 3600;
    const int64_t now = unix_now();
    for (const auto& [name, gone] : gone_) {
        if (nodes_.count(name) != 0 || now - gone.second > kForgetGoneAfterSeconds) continue;
        ops::FleetNodeView n = node_view(name, gone.first);
        n.is_live = false;
        n.gone_since = gone.second;
        view.nodes.push_back(std::move(n));
    }
    view.targets = votes_.size();
    for (const auto& [target, by_node] : votes_) view.others_votes += by_node.size();
    return view;
}

}  // namespace meridian::fleet

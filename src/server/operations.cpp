#include "server/operations.hpp"

#include "common/log.hpp"
#include "config/snapshot_loader.hpp"
#include "explain/explain.hpp"
#include "ops/metrics_view.hpp"
#include "ops/override_request.hpp"
#include "ops/recommendations.hpp"
#include "ops/status_view.hpp"

namespace meridian::server {

namespace {

using nlohmann::json;

// Bytes that are not UTF-8 (a zone name in a request, a line of an operator's file quoted in an
// error) are written as U+FFFD rather than making dump() throw on the control loop.
admin::Reply json_reply(int status, const json& body) {
    return {status, body.dump(2, ' ', false, json::error_handler_t::replace) + "\n", "application/json"};
}

}  // namespace

Operations::Operations(const config::ServerConfig& config, uv_loop_t* loop, SnapshotPublisher* publisher,
                       const std::vector<std::unique_ptr<Worker>>* workers, probes::HealthMonitor* health,
                       ops::MemberStore* members, std::function<void(std::unique_ptr<const answer::Snapshot>)> publish,
                       const adapt::Controller* controller)
    : config_(config), publisher_(publisher), workers_(workers), health_(health), members_(members),
      controller_(controller), publish_(std::move(publish)),
      analytics_(config.analytics, config.forecast, loop,
                 probes::WebhookSettings{config.alerts.webhook_url, config.alerts.webhook_timeout_ms}),
      client_mix_(config.recommendations.half_life_ms) {
    analytics_.forecasts().load();
    Diagnostics matrix;
    ops::check_latency_matrix(config.recommendations, &matrix);
    for (const Diagnostic& d : matrix.items())
        log::warning(d.format() + " (the recommendations estimate latencies from distance until it is fixed)");
}

admin::Handlers Operations::handlers(std::function<ReloadResult()> reload) {
    admin::Handlers h;
    h.status = [this] { return status(); };
    h.metrics = [this] { return metrics(); };
    h.check = [this] { return check(); };
    h.reload = [reload = std::move(reload)] {
        const ReloadResult result = reload();
        return json_reply(result.is_ok ? 200 : 422, ops::reload_reply(result));
    };
    h.set_override = [this](const std::string& zone, const std::string& region, const json& request) {
        return set_override(zone, region, request);
    };
    h.clear_override = [this](const std::string& zone, const std::string& region) {
        return clear_override(zone, region);
    };
    h.explain = [this](const std::string& name, const std::string& client, const std::string& type,
                       const std::vector<std::string>& down) { return explain(name, client, type, down); };
    h.recommendations = [this](const std::string& zone) { return recommendations(zone); };
    h.members = [this](const std::string& method, const std::string& zone, const std::string& region,
                       const std::string& body) { return members(method, zone, region, body); };
    return h;
}

ops::Readings Operations::readings() const {
    ops::Readings r{.snapshot = *publisher_->current(),
                    .workers = {},
                    .overloaded_udp_sockets = 0,
                    .monitored = ops::index_monitored(health_->status()),
                    .health_transitions = health_->transitions(),
                    .overrides = overrides_,
                    .alerts = analytics_.alerts(),
                    .trends = analytics_.trends(),
                    .reloads = reloads_,
                    .forecasts = &analytics_.forecasts(),
                    .node = config_.identity.id_server,
                    .uptime_seconds = ops::epoch_seconds(std::chrono::system_clock::now()) -
                                      ops::epoch_seconds(started_),
                    .members = members_,
                    .controller = controller_,
                    .fleet = fleet_ != nullptr ? std::optional<ops::FleetView>(fleet_->view()) : std::nullopt,
                    .transfers = {}};
    auto get = [](const std::atomic<uint64_t>& n) { return n.load(std::memory_order_relaxed); };
    for (const auto& worker : *workers_) {
        r.workers.push_back(&worker->stats());
        r.overloaded_udp_sockets += worker->overloaded_udp_sockets();
        const answer::SigningCounters& c = worker->signer().counters();
        r.signing.hits += get(c.hits);
        r.signing.signed_now += get(c.misses);
        r.signing.over_budget += get(c.refused);
        r.signing.failures += get(c.failures);
        r.signing.evictions += get(c.evictions);
        r.signing.entries += get(c.entries);
        r.signing.cache_bytes += get(c.entries) * worker->signer().entry_bytes();
    }
    if (!workers_->empty() && workers_->front()->limits().transfers != nullptr) {
        const xfr::Counters& c = *workers_->front()->limits().transfers;
        r.transfers = {get(c.transfers),      get(c.up_to_date),    get(c.refused),
                       get(c.tsig_errors),    get(c.notifies_sent), get(c.notifies_acknowledged),
                       get(c.notifies_failed)};
    }
    return r;
}

admin::Reply Operations::status() const { return json_reply(200, ops::status_document(readings())); }

admin::Reply Operations::metrics() const { return {200, ops::metrics_text(readings()), ops::kMetricsContentType}; }

void Operations::apply_overrides() { overrides_.apply(*publisher_->current()); }

namespace {

// Fleet mode: "scope" is "fleet" (the default) or "node"; taken out of the request before the
// override itself is read. Without a fleet only "node" makes sense.
bool take_scope(json* request, bool has_fleet, bool* is_fleet, std::string* error) {
    *is_fleet = has_fleet;
    if (!request->is_object() || !request->contains("scope")) return true;
    const json scope = (*request)["scope"];
    request->erase("scope");
    if (scope == "node") *is_fleet = false;
    else if (scope == "fleet" && has_fleet) *is_fleet = true;
    else if (scope == "fleet") *error = "\"scope\": \"fleet\" needs fleet mode ([fleet] in the server config)";
    else *error = "\"scope\" must be \"fleet\" or \"node\"";
    return error->empty();
}

admin::Reply cut_off_reply(const fleet::FleetNode& fleet) {
    return admin::error_reply(503, "this node is cut off from etcd (" + fleet.view().error +
                                       "): the fleet cannot be reached; \"scope\": \"node\" sets it on this node only");
}

void log_fleet_write(const std::string& what, const std::string& error) {
    if (!error.empty()) log::error("fleet: " + what + " was not written to etcd: " + error);
}

}  // namespace

admin::Reply Operations::set_override(const std::string& zone, const std::string& region, const json& request) {
    const ops::RegionKey key = ops::RegionKey::from_request(zone, region);
    const answer::Snapshot& snapshot = *publisher_->current();
    if (!ops::find_region(snapshot, key))
        return admin::error_reply(404, "no region " + key.region + " in zone " + key.zone);
    std::string error;
    json body = request;
    bool is_fleet = false;
    if (!take_scope(&body, fleet_ != nullptr, &is_fleet, &error)) return admin::error_reply(400, error);
    auto o = ops::read_override_request(body, std::chrono::system_clock::now(), &error);
    if (!o) return admin::error_reply(400, error);
    json reply = ops::override_set_reply(key, *o);
    if (is_fleet) {
        if (!fleet_->is_joined()) return cut_off_reply(*fleet_);
        // Applied here at once; the other nodes apply it when their watch brings it.
        o->is_fleet = true;
        o->by = config_.fleet.node;
        const json doc = ops::fleet_override_document(key, *o, o->by);
        const int64_t expires_in = o->is_expiring() ? ops::epoch_seconds(o->expires) - ops::epoch_seconds(o->set_at)
                                                    : 0;
        const std::string what = "the override of " + key.to_string();
        fleet_->write_override(key.zone, key.region, &doc, expires_in,
                               [what](const std::string& e) { log_fleet_write(what, e); });
    }
    overrides_.set(snapshot, key, *o);
    reply["scope"] = is_fleet ? "fleet" : "node";
    return json_reply(200, reply);
}

admin::Reply Operations::clear_override(const std::string& zone, const std::string& region) {
    const ops::RegionKey key = ops::RegionKey::from_request(zone, region);
    const ops::Override* o = overrides_.find(key);
    const bool is_fleet = o != nullptr && o->is_fleet;
    if (is_fleet && !fleet_->is_joined()) return cut_off_reply(*fleet_);
    switch (overrides_.clear(*publisher_->current(), key)) {
    case ops::OverrideStore::Cleared::no_region:
        return admin::error_reply(404, "no region " + key.region + " in zone " + key.zone);
    case ops::OverrideStore::Cleared::no_override:
        return admin::error_reply(404, "region " + key.to_string() + " has no override");
    case ops::OverrideStore::Cleared::cleared: break;
    }
    json reply = ops::override_cleared_reply(key);
    if (is_fleet) {
        // A fleet override is cleared for every node.
        const std::string what = "clearing the override of " + key.to_string();
        fleet_->write_override(key.zone, key.region, nullptr, 0,
                               [what](const std::string& e) { log_fleet_write(what, e); });
    }
    reply["scope"] = is_fleet ? "fleet" : "node";
    return json_reply(200, reply);
}

void Operations::fleet_override(const std::string& zone, const std::string& region, const json* doc) {
    const ops::RegionKey key = ops::RegionKey::from_request(zone, region);
    const answer::Snapshot& snapshot = *publisher_->current();
    if (doc == nullptr) {
        const ops::Override* o = overrides_.find(key);
        if (o == nullptr || !o->is_fleet) return;  // a node's own override stays
        overrides_.clear(snapshot, key);
        log::info("fleet: override of " + key.to_string() + " cleared");
        return;
    }
    std::string error;
    const auto o = ops::read_fleet_override(*doc, &error);
    if (!o) {
        log::warning("fleet: override of " + key.to_string() + " ignored: " + error);
        return;
    }
    if (o->is_expiring() && o->expires <= std::chrono::system_clock::now()) return;
    // This node's own write, applied when it was asked (etcd keeps whole seconds).
    if (const ops::Override* now = overrides_.find(key);
        now != nullptr && now->is_fleet && now->action == o->action && now->by == o->by &&
        ops::epoch_seconds(now->set_at) == ops::epoch_seconds(o->set_at))
        return;
    if (!overrides_.set(snapshot, key, *o)) {
        log::warning("fleet: override of " + key.to_string() + " names a region this node does not serve");
        return;
    }
    log::info(std::string("fleet: override of ") + key.to_string() + ": " + ops::action_name(o->action) + " by " +
              o->by + (o->reason.empty() ? "" : " (" + o->reason + ")"));
}

// explain::explain answers trace lines, or a line starting with "error:" for a request it
// cannot run (a bad client address, type or name): that is the client's mistake, a 400.
admin::Reply Operations::explain(const std::string& name, const std::string& client, const std::string& type,
                                 const std::vector<std::string>& down) const {
    const std::vector<std::string> lines = explain::explain(*publisher_->current(),
                                                            explain::Request{name, type, client, down});
    const std::string prefix = "error:";
    for (const std::string& line : lines) {
        if (line.rfind(prefix, 0) != 0) continue;
        std::string message = line.substr(prefix.size());
        if (!message.empty() && message.front() == ' ') message.erase(0, 1);
        return admin::error_reply(400, message);
    }
    return json_reply(200, json{{"lines", lines}});
}

admin::Reply Operations::check() const {
    Diagnostics diagnostics;
    auto config = config::load_server_config(config_.path, &diagnostics);
    std::unique_ptr<answer::Snapshot> snapshot;
    if (config) snapshot = config::load_snapshot(*config, &diagnostics);
    if (snapshot) ops::check_latency_matrix(config->recommendations, &diagnostics);
    ReloadResult result{snapshot != nullptr && !diagnostics.has_errors(),
                        snapshot ? snapshot->zones.zones().size() : 0,
                        {}};
    for (const auto& d : diagnostics.items()) result.errors.push_back(d.format());
    return json_reply(result.is_ok ? 200 : 422, ops::reload_reply(result));
}

void Operations::count_reload(const ReloadResult& result) { reloads_.count(result); }

void Operations::tick() {
    const answer::Snapshot& snapshot = *publisher_->current();
    overrides_.expire(snapshot, std::chrono::system_clock::now());
    analytics_.tick(snapshot, ops::index_monitored(health_->status()));
    const auto now = std::chrono::steady_clock::now();
    client_mix_.update(snapshot, std::chrono::duration<double>(now - last_tick_).count());
    last_tick_ = now;
}

admin::Reply Operations::recommendations(const std::string& zone) const {
    bool is_unknown_zone = false;
    const json doc = ops::recommendations_document(readings(), client_mix_, config_.recommendations, zone,
                                                   &is_unknown_zone);
    if (is_unknown_zone) return admin::error_reply(404, "no zone " + zone);
    return json_reply(200, doc);
}

namespace {

// PATCH's body: {"members": [...], "remove": ["ADDRESS", ...]}, either part optional.
bool read_patch(const std::string& body, std::vector<config::RegionMember>* upserts,
                std::vector<geo::IpAddress>* removals, std::string* error) {
    const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object() ||
        (!request.contains("members") && !request.contains("remove"))) {
        *error = "the body must be a JSON object: {\"members\": [{\"address\": ...}], \"remove\": [\"ADDRESS\"]}";
        return false;
    }
    if (request.contains("members")) {
        // Each member is checked here; the list they make, once merged, by the store.
        const config::MemberRules any{config::AddressFamily::any, steer::kMaxMembers, true};
        const std::string members = json{{"members", request["members"]}}.dump(-1, ' ', false,
                                                                               json::error_handler_t::replace);
        if (!config::parse_member_document(members, any, upserts, error)) return false;
    }
    if (request.contains("remove")) {
        const json& remove = request["remove"];
        if (!remove.is_array() || remove.size() > steer::kMaxMembers) {
            *error = "\"remove\" is an array of addresses";
            return false;
        }
        for (const json& a : remove) {
            const auto address = a.is_string() ? geo::parse_address(a.get<std::string>()) : std::nullopt;
            if (!address) {
                *error = "remove: " + a.dump(-1, ' ', false, json::error_handler_t::replace) + " is not an IP address";
                return false;
            }
            removals->push_back(*address);
        }
    }
    return true;
}

}  // namespace

admin::Reply Operations::members(const std::string& method, const std::string& zone, const std::string& region,
                                 const std::string& body) {
    const answer::Snapshot& snapshot = *publisher_->current();
    if (region.empty()) {
        const json document = ops::members_document(*members_, snapshot, zone);
        if (document.is_null()) return admin::error_reply(404, "no zone " + zone);
        return json_reply(200, document);
    }
    const ops::RegionKey key = ops::RegionKey::from_request(zone, region);
    if (method == "GET") {
        const ops::RegionRef ref = ops::find_region(snapshot, key);
        if (!ref) return admin::error_reply(404, "no region " + key.region + " in zone " + key.zone);
        if (!ref.served->zone().policy().regions[ref.index].cname.empty())
            return admin::error_reply(409, "region " + key.to_string() + " is a CNAME region: it has no addresses");
        return json_reply(200, ops::region_members_json(*members_, *ref.served, ref.index));
    }
    ops::MemberChange change;
    std::string error;
    if (method == "PUT") {
        std::vector<config::RegionMember> list;
        const config::MemberRules rules{config::AddressFamily::any, steer::kMaxMembers, true};
        if (!config::parse_member_document(body, rules, &list, &error)) return admin::error_reply(400, error);
        change = members_->set(snapshot, key, std::move(list), ops::MemberSource::push);
    } else if (method == "PATCH") {
        std::vector<config::RegionMember> upserts;
        std::vector<geo::IpAddress> removals;
        if (!read_patch(body, &upserts, &removals, &error)) return admin::error_reply(400, error);
        change = members_->patch(snapshot, key, upserts, removals);
    } else {
        change = members_->reset(snapshot, key);
    }
    if (!change.ok()) return admin::error_reply(change.status, change.error);
    publish_(members_->rebuild(snapshot, key.zone, config_.workers));
    const ops::RegionRef ref = ops::find_region(*publisher_->current(), key);
    const json reply = ops::region_members_json(*members_, *ref.served, ref.index);
    log::info("members: " + key.to_string() + " " +
              (method == "DELETE" ? "reset to the zone file's" : "set by push to") + " " +
              std::to_string(reply["members"].size()) + " addresses");
    return json_reply(200, reply);
}

bool Operations::feed_read(const probes::FeedRead& read) {
    const answer::Snapshot& snapshot = *publisher_->current();
    const ops::RegionKey key{read.zone, read.region};
    if (read.is_unchanged) {
        members_->feed_unchanged(key, read.source);
        return true;
    }
    bool is_changed = false;
    const bool is_taken = members_->feed_read(snapshot, key, read.source, read.error.empty() ? &read.body : nullptr,
                                              read.error, &is_changed);
    if (!is_changed) return is_taken;
    publish_(members_->rebuild(snapshot, key.zone, config_.workers));
    const ops::MemberSet* set = members_->find(key);
    log::info("members: " + key.to_string() + " set by its feed to " +
              std::to_string(set != nullptr ? set->members.size() : 0) + " addresses");
    return true;
}

void Operations::stop() { analytics_.stop(); }

}  // namespace meridian::server

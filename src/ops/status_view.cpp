#include "ops/status_view.hpp"

#include <chrono>

#include "dns/name.hpp"
#include "zone/signing.hpp"

namespace meridian::ops {

namespace {

using nlohmann::json;

SystemClock::time_point to_system(health::Clock::time_point t) {
    return SystemClock::now() - std::chrono::duration_cast<SystemClock::duration>(health::Clock::now() - t);
}

// Answers per second in the last closed bucket and forecast for the next, or null before the
// first bucket closes.
json demand_json(const Readings& readings, const SeriesKey& key) {
    if (readings.forecasts == nullptr) return nullptr;
    const auto r = readings.forecasts->reading(key);
    if (!r) return nullptr;
    json history = json::array();
    if (r->history != nullptr) {
        for (const DemandForecasts::Point& p : *r->history)
            history.push_back({p.start_seconds, p.actual_per_second,
                               p.forecast_per_second ? json(*p.forecast_per_second) : json(nullptr)});
    }
    return {{"actual_per_second", r->actual_per_second},
            {"forecast_per_second", r->forecast_per_second},
            {"mape_percent", r->mape ? json(*r->mape) : json(nullptr)},
            {"seasonal", r->is_seasonal},
            {"history", history}};
}

// Each address of a region with member health: what its source says, what probes found, and
// whether answers carry it now.
json members_json(const probes::RegionStatus& status) {
    json members = json::array();
    for (const probes::MemberStatus& m : status.members) {
        members.push_back({{"address", m.address},
                           {"id", m.id.empty() ? json(nullptr) : json(m.id)},
                           {"source_state", m.source_state},
                           {"weight", m.weight},
                           {"state", health::to_string(m.state)},
                           {"answered", m.is_answered},
                           {"latency_ms", m.has_latency ? json(m.latency_ms) : json(nullptr)},
                           {"success_rate", m.success_rate},
                           {"reason", m.reason}});
    }
    return members;
}

// A region with a cost: its price, its commit and what this period has used of it, its share of
// the answers of the zone's regions with a cost, and the spend so far (none for a rank).
json cost_json(const Readings& readings, const steer::Region& region, std::string_view origin, double zone_answers) {
    if (!region.has_cost) return nullptr;
    // The control loop knows a region by its zone's wire-form origin.
    const adapt::Controller::RegionState* s = readings.controller != nullptr
                                                  ? readings.controller->region(origin, region.name)
                                                  : nullptr;
    const double answers = s != nullptr ? s->period_answers : 0;
    const double used = s != nullptr ? s->period_volume : 0;
    const auto period_ms = static_cast<int64_t>(region.commit_period_ms);
    json period = nullptr;
    if (s != nullptr && s->period >= 0)
        period = {{"start", s->period * period_ms / 1000}, {"end", (s->period + 1) * period_ms / 1000}};
    return {{"unit", steer::to_string(region.cost_unit)},
            {"price", region.cost},
            {"per_answer", region.cost_per_answer()},
            {"commit", region.commit > 0 ? json(region.commit) : json(nullptr)},
            {"used", used},
            {"commit_used", region.commit > 0 && used >= region.commit},
            {"answers", answers},
            {"share", zone_answers > 0 ? answers / zone_answers : 0.0},
            {"period", period},
            {"spend", region.cost_unit == steer::CostUnit::rank ? json(nullptr) : json(used * region.cost)}};
}

json region_json(const Readings& readings, const zone::ServedZone& served, const RegionKey& key, std::size_t i) {
    const health::CheckSpec* check = served.zone().checks().check_of(i);
    const health::RegionHealth board = served.runtime->health().read(i);
    json r = {{"name", key.region},
              {"state", health::to_string(board.state)},
              {"latency_ms", board.has_measurement ? json(board.latency_ms) : json(nullptr)},
              {"success_rate", board.success_permille / 1000.0},
              {"check", check != nullptr ? check->name : "none"},
              {"answers", served.runtime->steering().region_answers(i)},
              {"reason", ""},
              {"last_change", nullptr},
              {"override", nullptr},
              {"members", nullptr}};
    if (check == nullptr || check->kind == health::CheckKind::none) r["reason"] = "no check: always up";
    r["member_source"] = nullptr;
    r["feed"] = nullptr;
    if (served.zone().policy().regions[i].cname.empty()) {
        const MemberSet* set = readings.members != nullptr ? readings.members->find(key) : nullptr;
        r["member_source"] = set != nullptr ? to_string(set->source) : "zone file";
    }
    if (const FeedStatus* feed = readings.members != nullptr ? readings.members->feed_status(key) : nullptr) {
        const auto epoch_or_null = [](SystemClock::time_point t) {
            return t == SystemClock::time_point{} ? json(nullptr) : json(epoch_seconds(t));
        };
        r["feed"] = {{"source", feed->source},
                     {"reads", feed->reads},
                     {"not_modified", feed->not_modified},
                     {"rejected", feed->rejected},
                     {"last_read", epoch_or_null(feed->last_read)},
                     {"error", feed->error.empty() ? json(nullptr) : json(feed->error)},
                     {"error_since", feed->error.empty() ? json(nullptr) : epoch_or_null(feed->error_since)}};
    }
    if (const auto it = readings.monitored.find(key); it != readings.monitored.end()) {
        r["reason"] = it->second.reason;
        r["last_change"] = epoch_seconds(to_system(it->second.last_change));
        if (!it->second.members.empty() || served.zone().policy().regions[i].has_member_health)
            r["members"] = members_json(it->second);
        if (const probes::VoteStatus& v = it->second.vote; v.is_voting) {
            r["vote"] = {{"own", health::to_string(v.own)},
                         {"voters", v.tally.voters()},
                         {"healthy", v.tally.healthy},
                         {"degraded", v.tally.degraded},
                         {"unhealthy", v.tally.unhealthy},
                         {"decided_by", v.is_by_vote ? "vote" : "own"},
                         {"reason", v.reason}};
        }
    }
    if (const Override* o = readings.overrides.find(key)) {
        r["override"] = {{"action", action_name(o->action)},
                         {"reason", o->reason},
                         {"set_at", epoch_seconds(o->set_at)},
                         {"expires_at", o->is_expiring() ? json(epoch_seconds(o->expires)) : json(nullptr)},
                         {"scope", o->is_fleet ? "fleet" : "node"}};
        if (o->is_fleet) r["override"]["by"] = o->by;
    }
    const Trend* trend = readings.trends.find(key);
    r["query_rate"] = {{"moving_average", trend != nullptr ? trend->moving_average() : 0.0},
                       {"forecast", trend != nullptr ? trend->forecast() : 0.0}};
    // What the control loop learned (docs/POLICY.md, "Capacity, shed load and adaptive weights").
    const steer::Region& region = served.zone().policy().regions[i];
    const steer::RegionFeedback learned = served.runtime->feedback().region(i);
    r["learned"] = {{"capacity", region.capacity > 0 ? json(region.capacity) : json(nullptr)},
                    {"capacity_factor", learned.capacity_factor / 1000.0},
                    {"load_factor", learned.load_factor / 1000.0},
                    {"latency_ewma_ms", learned.has_latency ? json(learned.latency_tenths_ms / 10.0) : json(nullptr)}};
    r["demand"] = demand_json(readings, SeriesKey{key.zone, true, key.region});
    // This commit period's answers of every region of the zone with a cost, for the shares.
    double zone_answers = 0;
    for (const steer::Region& other : served.zone().policy().regions) {
        const adapt::Controller::RegionState* s = other.has_cost && readings.controller != nullptr
                                                      ? readings.controller->region(served.zone().origin(), other.name)
                                                      : nullptr;
        zone_answers += s != nullptr ? s->period_answers : 0;
    }
    r["cost"] = cost_json(readings, region, served.zone().origin(), zone_answers);
    return r;
}

// An adaptive route's effective weights (shares of 1), or null until the control loop has some.
json adaptive_weights(const zone::ServedZone& served, const steer::Route& route) {
    if (route.strategy != steer::Strategy::adaptive) return nullptr;
    const steer::FeedbackBoard& board = served.runtime->feedback();
    json weights = json::object();
    for (std::size_t t = 0; t < route.targets.size(); ++t) {
        const auto learned = board.learned_weight(route.first_slot, t);
        if (!learned) return nullptr;
        weights[served.zone().policy().regions[route.targets[t].region].name] = *learned /
                                                                                static_cast<double>(steer::kShareScale);
    }
    return weights;
}

// A signed zone's keys and signatures: what `meridiand ds` and a rollover's next step depend on.
json signing_json(const zone::Signing& signing) {
    const auto uses = [](const std::vector<const dnssec::Key*>& keys, const dnssec::Key* key) {
        return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    const auto time_or_null = [](const std::optional<int64_t>& t) { return t ? json(*t) : json(nullptr); };
    json keys = json::array();
    for (const auto& key : signing.config->keys) {
        keys.push_back({{"tag", key->tag},
                        {"algorithm", static_cast<int>(key->algorithm)},
                        {"flags", key->flags},
                        {"file", key->path},
                        {"published", key->timing.is_published(signing.signed_at)},
                        {"signs_zone", uses(signing.zone_signers, key.get())},
                        {"signs_keys", uses(signing.key_signers, key.get())},
                        {"publish", time_or_null(key->timing.publish)},
                        {"activate", time_or_null(key->timing.activate)},
                        {"inactive", time_or_null(key->timing.inactive)},
                        {"delete", time_or_null(key->timing.remove)}});
    }
    return {{"keys", keys},
            {"inception", signing.window.inception},
            {"expiration", signing.window.expiration},
            {"signed_at", signing.signed_at},
            {"next_signing", signing.next_event}};
}

json zone_json(const Readings& readings, const zone::ServedZone& served) {
    const std::string origin = dns::name_to_text(served.zone().origin());
    const steer::Policy& policy = served.zone().policy();
    const stats::SteerStats& steering = served.runtime->steering();
    uint64_t queries = 0;
    for (std::size_t b = 0; b < stats::kQtypes; ++b)
        queries += served.runtime->queries().qtype_total(static_cast<stats::QtypeBucket>(b));
    json regions = json::array();
    for (std::size_t i = 0; i < policy.regions.size(); ++i) {
        regions.push_back(region_json(readings, served, RegionKey{origin, policy.regions[i].name}, i));
    }
    json names = json::array();
    for (std::size_t n = 0; n < policy.names.size(); ++n) {
        const steer::SteeredName& name = policy.names[n];
        json routes = json::array();
        for (std::size_t r = 0; r < name.routes.size(); ++r) {
            json route = {{"route", r + 1},
                          {"line", name.routes[r].where.line},
                          {"strategy", steer::to_string(name.routes[r].strategy)},
                          {"answers", steering.route_answers(n, static_cast<int>(r))}};
            if (name.routes[r].strategy == steer::Strategy::adaptive)
                route["weights"] = adaptive_weights(served, name.routes[r]);
            routes.push_back(std::move(route));
        }
        const std::string owner = dns::name_to_text(name.owner);
        names.push_back({{"name", owner},
                         {"routes", routes},
                         {"fail_answers", steering.route_answers(n, -1)},
                         {"demand", demand_json(readings, SeriesKey{origin, false, owner})}});
    }
    json zone_json = {{"origin", origin},   {"serial", served.zone().serial()},
                      {"queries", queries}, {"regions", regions},
                      {"names", names},     {"dnssec", nullptr}};
    if (const zone::Signing* signing = served.zone().signing()) zone_json["dnssec"] = signing_json(*signing);
    return zone_json;
}

json fleet_json(const FleetView& f) {
    json nodes = json::array();
    for (const FleetNodeView& n : f.nodes) {
        nodes.push_back({{"node", n.node},
                         {"self", n.is_self},
                         {"serials", n.serials},
                         {"config_digest", n.config_digest},
                         {"last_vote", n.last_vote > 0 ? json(n.last_vote) : json(nullptr)},
                         {"started", n.started},
                         {"admin", n.admin.empty() ? json(nullptr) : json(n.admin)},
                         {"serial_mismatch", n.serial_mismatch},
                         {"config_mismatch", n.is_config_mismatch},
                         {"live", n.is_live},
                         {"gone_since", n.is_live ? json(nullptr) : json(n.gone_since)}});
    }
    return {{"node", f.node},
            {"prefix", f.prefix},
            {"endpoints", f.endpoints},
            {"partitioned", f.is_partitioned},
            {"partitioned_since", f.is_partitioned ? json(f.partitioned_since) : json(nullptr)},
            {"error", f.error.empty() ? json(nullptr) : json(f.error)},
            {"quorum", f.quorum},
            {"min_voters", f.min_voters},
            {"lease_ttl_seconds", f.lease_ttl_s},
            {"votes_cast", f.votes_cast},
            {"joins", f.joins},
            {"partitions", f.partitions},
            {"overrides_applied", f.overrides_applied},
            {"targets_voted", f.targets},
            {"other_votes", f.others_votes},
            {"nodes", nodes}};
}

}  // namespace

json status_document(const Readings& readings) {
    json zones = json::array();
    for (const zone::ServedZone& served : readings.snapshot.zones.zones()) zones.push_back(zone_json(readings, served));
    json alerts = json::array();
    for (const Alert& a : readings.alerts) {
        alerts.push_back({{"rule", a.rule},
                          {"severity", a.severity},
                          {"zone", a.zone},
                          {"region", a.region},
                          {"message", a.message}});
    }
    uint64_t udp = 0, tcp = 0;
    for (const stats::WorkerStats* worker : readings.workers) {
        udp += worker->queries[0].get();
        tcp += worker->queries[1].get();
    }
    json doc = {{"node", readings.node},
                {"uptime_seconds", readings.uptime_seconds},
                {"workers", readings.workers.size()},
                {"queries", {{"udp", udp}, {"tcp", tcp}}},
                {"zones", zones},
                {"alerts", alerts},
                {"health_transitions", readings.health_transitions},
                {"transfers",
                 {{"served", readings.transfers.served},
                  {"up_to_date", readings.transfers.up_to_date},
                  {"refused", readings.transfers.refused},
                  {"tsig_errors", readings.transfers.tsig_errors},
                  {"notifies_sent", readings.transfers.notifies_sent},
                  {"notifies_acknowledged", readings.transfers.notifies_acknowledged},
                  {"notifies_failed", readings.transfers.notifies_failed}}},
                {"reloads",
                 {{"succeeded", readings.reloads.succeeded()},
                  {"failed", readings.reloads.failed()},
                  {"last_errors", readings.reloads.last_errors()}}}};
    doc["fleet"] = readings.fleet ? fleet_json(*readings.fleet) : json(nullptr);
    return doc;
}

}  // namespace meridian::ops

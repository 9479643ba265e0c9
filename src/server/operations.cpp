#include "server/operations.hpp"

#include <algorithm>
#include <cstdio>

#include "config/snapshot_loader.hpp"
#include "dns/name.hpp"
#include "explain/explain.hpp"
#include "ops/override_request.hpp"
#include "zone/zone.hpp"

namespace meridian::server {

namespace {

using nlohmann::json;
using SystemClock = std::chrono::system_clock;

using ops::epoch_seconds;

SystemClock::time_point to_system(health::Clock::time_point t) {
    return SystemClock::now() - std::chrono::duration_cast<SystemClock::duration>(health::Clock::now() - t);
}

admin::Reply json_reply(int status, const json& body) { return {status, body.dump(2) + "\n", "application/json"}; }

// Prometheus text format: label values escape backslash, quote and newline.
std::string label(const std::string& value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

// Prometheus text exposition: each family's HELP/TYPE once, then all its samples together,
// families in the order they were declared, whatever order samples arrive in.
class MetricsText {
public:
    void family(const std::string& name, const char* type, const char* help) {
        order_.push_back(name);
        families_[name] = "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels, double value) {
        std::string line = name;
        if (!labels.empty()) {
            line += '{';
            for (std::size_t i = 0; i < labels.size(); ++i) {
                line += (i ? "," : "") + labels[i].first + "=\"" + label(labels[i].second) + "\"";
            }
            line += '}';
        }
        char number[64];
        std::snprintf(number, sizeof number, " %.17g\n", value);
        line += number;
        families_[family_of(name)] += line;
    }
    std::string take() {
        std::string out;
        for (const std::string& name : order_) out += families_[name];
        return out;
    }

private:
    // Histogram samples (_bucket, _sum, _count) belong to their family.
    std::string family_of(const std::string& name) const {
        if (families_.count(name) != 0) return name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string s(suffix);
            if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
                const std::string base = name.substr(0, name.size() - s.size());
                if (families_.count(base) != 0) return base;
            }
        }
        return name;
    }

    std::vector<std::string> order_;
    std::map<std::string, std::string> families_;
};

}  // namespace

Operations::Operations(const config::ServerConfig& config, uv_loop_t* loop, SnapshotPublisher* publisher,
                       const std::vector<std::unique_ptr<Worker>>* workers, probes::HealthMonitor* health)
    : config_(config), publisher_(publisher), workers_(workers), health_(health),
      analytics_(config.analytics, loop, probes::WebhookSettings{config.alerts.webhook_url, config.alerts.webhook_timeout_ms}) {}

void Operations::stop() { analytics_.stop(); }

admin::Handlers Operations::handlers(std::function<ReloadResult()> reload) {
    admin::Handlers h;
    h.status = [this] { return status(); };
    h.metrics = [this] { return metrics(); };
    h.check = [this] { return check(); };
    h.reload = [reload] {
        const ReloadResult result = reload();
        return json_reply(result.is_ok ? 200 : 422, ops::reload_reply(result));
    };
    h.set_override = [this](const std::string& zone, const std::string& region, const json& request) {
        return set_override(zone, region, request);
    };
    h.clear_override = [this](const std::string& zone, const std::string& region) { return clear_override(zone, region); };
    h.explain = [this](const std::string& name, const std::string& client, const std::string& type,
                       const std::vector<std::string>& down) { return explain(name, client, type, down); };
    return h;
}

json Operations::region_json(const ops::RegionKey& key, const zone::ServedZone& served, std::size_t i,
                             const ops::MonitoredRegions& monitored) const {
    const health::CheckSpec* check = served.zone().checks().check_of(i);
    const health::RegionHealth board = served.runtime->health().read(i);
    json r = {{"name", key.region},
              {"state", health::to_string(board.state)},
              {"latency_ms", board.latency_ms},
              {"success_rate", board.success_permille / 1000.0},
              {"check", check != nullptr ? check->name : "none"},
              {"answers", served.runtime->steering().region_answers(i)},
              {"reason", ""},
              {"last_change", nullptr},
              {"override", nullptr}};
    if (const auto it = monitored.find(key); it != monitored.end()) {
        r["reason"] = it->second.reason;
        r["last_change"] = epoch_seconds(to_system(it->second.last_change));
    }
    if (const ops::Override* o = overrides_.find(key)) {
        r["override"] = {{"action", ops::action_name(o->action)},
                         {"reason", o->reason},
                         {"set_at", epoch_seconds(o->set_at)},
                         {"expires_at", o->is_expiring() ? json(epoch_seconds(o->expires)) : json(nullptr)}};
    }
    const ops::Trend* trend = analytics_.trends().find(key);
    r["query_rate"] = {{"moving_average", trend != nullptr ? trend->moving_average() : 0.0},
                       {"forecast", trend != nullptr ? trend->forecast() : 0.0}};
    return r;
}

admin::Reply Operations::status() const {
    const answer::Snapshot& snapshot = *publisher_->current();
    const ops::MonitoredRegions monitored = ops::index_monitored(health_->status());

    json zones = json::array();
    for (const auto& zone : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(zone.zone().origin());
        const steer::Policy& policy = zone.zone().policy();
        uint64_t queries = 0;
        for (std::size_t b = 0; b < stats::kQtypes; ++b) queries += zone.runtime->queries().qtype_total(static_cast<stats::QtypeBucket>(b));
        json regions = json::array();
        for (std::size_t i = 0; i < policy.regions.size(); ++i) {
            regions.push_back(region_json(ops::RegionKey{origin, policy.regions[i].name}, zone, i, monitored));
        }
        json names = json::array();
        for (std::size_t n = 0; n < policy.names.size(); ++n) {
            const steer::SteeredName& name = policy.names[n];
            json routes = json::array();
            for (std::size_t r = 0; r < name.routes.size(); ++r) {
                routes.push_back({{"route", r + 1},
                                  {"line", name.routes[r].where.line},
                                  {"strategy", steer::to_string(name.routes[r].strategy)},
                                  {"answers", zone.runtime->steering().route_answers(n, static_cast<int>(r))}});
            }
            names.push_back({{"name", dns::name_to_text(name.owner)},
                             {"routes", routes},
                             {"fail_answers", zone.runtime->steering().route_answers(n, -1)}});
        }
        zones.push_back({{"origin", origin}, {"serial", zone.zone().serial()}, {"queries", queries}, {"regions", regions}, {"names", names}});
    }
    json alerts = json::array();
    for (const ops::Alert& a : analytics_.alerts()) {
        alerts.push_back({{"rule", a.rule}, {"severity", a.severity}, {"zone", a.zone}, {"region", a.region}, {"message", a.message}});
    }
    uint64_t udp = 0, tcp = 0;
    for (const auto& worker : *workers_) {
        udp += worker->stats().queries[0].get();
        tcp += worker->stats().queries[1].get();
    }
    const json body = {
        {"node", config_.identity.id_server},
        {"uptime_seconds", epoch_seconds(SystemClock::now()) - epoch_seconds(started_)},
        {"workers", workers_->size()},
        {"queries", {{"udp", udp}, {"tcp", tcp}}},
        {"zones", zones},
        {"alerts", alerts},
        {"health_transitions", health_->transitions()},
        {"reloads", {{"succeeded", reloads_.succeeded()}, {"failed", reloads_.failed()}, {"last_errors", reloads_.last_errors()}}}};
    return json_reply(200, body);
}

admin::Reply Operations::metrics() const {
    MetricsText m;
    const auto sum = [this](auto pick) {
        uint64_t total = 0;
        for (const auto& worker : *workers_) total += pick(worker->stats()).get();
        return total;
    };
    const auto overloaded_udp_sockets = [this] {
        unsigned n = 0;
        for (const auto& worker : *workers_) n += worker->overloaded_udp_sockets();
        return n;
    };
    m.family("meridian_queries_total", "counter", "DNS queries received, by transport.");
    m.sample("meridian_queries_total", {{"transport", "udp"}}, static_cast<double>(sum([](auto& s) -> auto& { return s.queries[0]; })));
    m.sample("meridian_queries_total", {{"transport", "tcp"}}, static_cast<double>(sum([](auto& s) -> auto& { return s.queries[1]; })));
    m.family("meridian_responses_total", "counter", "Responses sent, by transport and rcode.");
    for (std::size_t t = 0; t < 2; ++t) {
        for (std::size_t r = 0; r < stats::kRcodes; ++r) {
            m.sample("meridian_responses_total",
                     {{"transport", t == 0 ? "udp" : "tcp"}, {"rcode", std::string(stats::name_of(static_cast<stats::RcodeBucket>(r)))}},
                     static_cast<double>(sum([t, r](auto& s) -> auto& { return s.rcodes[t][r]; })));
        }
    }
    m.family("meridian_dropped_total", "counter", "Packets not answered at all (shorter than a header, or QR=1).");
    m.sample("meridian_dropped_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.dropped; })));
    m.family("meridian_malformed_total", "counter", "Malformed queries (answered FORMERR).");
    m.sample("meridian_malformed_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.malformed; })));
    m.family("meridian_truncated_total", "counter", "Responses sent with TC=1.");
    m.sample("meridian_truncated_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.truncated; })));
    m.family("meridian_send_failures_total", "counter", "UDP replies the socket did not take.");
    m.sample("meridian_send_failures_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.send_failed; })));
    m.family("meridian_rrl_total", "counter", "UDP responses held back by response rate limiting, by action.");
    m.sample("meridian_rrl_total", {{"action", "dropped"}}, static_cast<double>(sum([](auto& s) -> auto& { return s.rrl_dropped; })));
    m.sample("meridian_rrl_total", {{"action", "slipped"}}, static_cast<double>(sum([](auto& s) -> auto& { return s.rrl_slipped; })));
    m.family("meridian_udp_overloads_total", "counter",
             "Times a UDP receive queue stayed non-empty for udp_overload_interval_ms and was cut to the kernel's default size.");
    m.sample("meridian_udp_overloads_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.udp_overloads; })));
    m.family("meridian_udp_overloaded", "gauge", "UDP sockets whose receive queue is cut down for overload right now.");
    m.sample("meridian_udp_overloaded", {}, static_cast<double>(overloaded_udp_sockets()));
    m.family("meridian_tcp_refused_total", "counter", "TCP connections closed at once for being over a connection cap.");
    m.sample("meridian_tcp_refused_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.tcp_refused; })));
    m.family("meridian_client_address_total", "counter", "Steered answers by where the client address came from.");
    m.sample("meridian_client_address_total", {{"source", "ecs"}}, static_cast<double>(sum([](auto& s) -> auto& { return s.ecs; })));
    m.sample("meridian_client_address_total", {{"source", "packet"}}, static_cast<double>(sum([](auto& s) -> auto& { return s.source; })));

    const answer::Snapshot& snapshot = *publisher_->current();
    const ops::MonitoredRegions monitored = ops::index_monitored(health_->status());
    m.family("meridian_zone_queries_total", "counter", "Queries answered from a zone, by qtype.");
    for (const auto& zone : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(zone.zone().origin());
        for (std::size_t b = 0; b < stats::kQtypes; ++b) {
            const auto bucket = static_cast<stats::QtypeBucket>(b);
            m.sample("meridian_zone_queries_total", {{"zone", origin}, {"qtype", std::string(stats::name_of(bucket))}},
                     static_cast<double>(zone.runtime->queries().qtype_total(bucket)));
        }
    }
    m.family("meridian_zone_responses_total", "counter", "Responses from a zone, by rcode.");
    for (const auto& zone : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(zone.zone().origin());
        for (std::size_t b = 0; b < stats::kRcodes; ++b) {
            const auto bucket = static_cast<stats::RcodeBucket>(b);
            m.sample("meridian_zone_responses_total", {{"zone", origin}, {"rcode", std::string(stats::name_of(bucket))}},
                     static_cast<double>(zone.runtime->queries().rcode_total(bucket)));
        }
    }
    m.family("meridian_steered_answers_total", "counter", "Steered answers by name and the route that answered (route=\"fail\": the fail policy).");
    m.family("meridian_region_answers_total", "counter", "Steered answers that included a region.");
    m.family("meridian_region_state", "gauge", "Region health: 0 healthy, 1 degraded, 2 unhealthy.");
    m.family("meridian_region_latency_ms", "gauge", "Recent probe latency of a region.");
    m.family("meridian_region_success_ratio", "gauge", "Probe success rate of a region over its window.");
    m.family("meridian_region_override", "gauge", "Operator override of a region: 0 none, 1 up, 2 down, 3 drain.");
    m.family("meridian_probe_latency_ms", "histogram", "Latency of successful probes.");
    std::string steered, regions, states, latencies, successes, overrides, histograms;
    for (const auto& zone : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(zone.zone().origin());
        const steer::Policy& policy = zone.zone().policy();
        for (std::size_t n = 0; n < policy.names.size(); ++n) {
            const std::string name = dns::name_to_text(policy.names[n].owner);
            for (std::size_t r = 0; r <= policy.names[n].routes.size(); ++r) {
                const bool is_fail = r == policy.names[n].routes.size();
                m.sample("meridian_steered_answers_total", {{"zone", origin}, {"name", name}, {"route", is_fail ? "fail" : std::to_string(r + 1)}},
                         static_cast<double>(zone.runtime->steering().route_answers(n, is_fail ? -1 : static_cast<int>(r))));
            }
        }
        for (std::size_t i = 0; i < policy.regions.size(); ++i) {
            const std::vector<std::pair<std::string, std::string>> labels{{"zone", origin}, {"region", policy.regions[i].name}};
            const health::RegionHealth h = zone.runtime->health().read(i);
            m.sample("meridian_region_answers_total", labels, static_cast<double>(zone.runtime->steering().region_answers(i)));
            m.sample("meridian_region_state", labels, static_cast<double>(static_cast<int>(h.state)));
            m.sample("meridian_region_latency_ms", labels, h.latency_ms);
            m.sample("meridian_region_success_ratio", labels, h.success_permille / 1000.0);
            m.sample("meridian_region_override", labels, static_cast<double>(static_cast<int>(h.override)));
            const auto it = monitored.find(ops::RegionKey{origin, policy.regions[i].name});
            if (it == monitored.end() || !it->second.is_probed) continue;
            const probes::LatencyHistogram& hist = it->second.probe_latency;
            for (std::size_t b = 0; b < probes::kLatencyBucketsMs.size(); ++b) {
                auto with_le = labels;
                with_le.emplace_back("le", std::to_string(probes::kLatencyBucketsMs[b]));
                m.sample("meridian_probe_latency_ms_bucket", with_le, static_cast<double>(hist.buckets[b]));
            }
            auto inf = labels;
            inf.emplace_back("le", "+Inf");
            m.sample("meridian_probe_latency_ms_bucket", inf, static_cast<double>(hist.count));
            m.sample("meridian_probe_latency_ms_sum", labels, hist.sum_ms);
            m.sample("meridian_probe_latency_ms_count", labels, static_cast<double>(hist.count));
        }
    }
    m.family("meridian_health_transitions_total", "counter", "Region health state changes.");
    m.sample("meridian_health_transitions_total", {}, static_cast<double>(health_->transitions()));
    m.family("meridian_reloads_total", "counter", "Configuration reloads, by result.");
    m.sample("meridian_reloads_total", {{"result", "success"}}, static_cast<double>(reloads_.succeeded()));
    m.sample("meridian_reloads_total", {{"result", "failure"}}, static_cast<double>(reloads_.failed()));
    m.family("meridian_alerts", "gauge", "Active alerts by rule and severity.");
    for (const char* rule : {"region_latency", "region_success", "healthy_regions"}) {
        for (const char* severity : {"warning", "critical"}) {
            const auto n = std::count_if(analytics_.alerts().begin(), analytics_.alerts().end(),
                                         [&](const ops::Alert& a) { return a.rule == rule && a.severity == severity; });
            m.sample("meridian_alerts", {{"rule", rule}, {"severity", severity}}, static_cast<double>(n));
        }
    }
    return {200, m.take(), "text/plain; version=0.0.4; charset=utf-8"};
}

void Operations::apply_overrides() { overrides_.apply(*publisher_->current()); }

admin::Reply Operations::set_override(const std::string& zone, const std::string& region, const json& request) {
    const ops::RegionKey key = ops::RegionKey::from_request(zone, region);
    const answer::Snapshot& snapshot = *publisher_->current();
    if (!ops::find_region(snapshot, key)) return admin::error_reply(404, "no region " + key.region + " in zone " + key.zone);
    std::string error;
    const auto o = ops::read_override_request(request, SystemClock::now(), &error);
    if (!o) return admin::error_reply(400, error);
    overrides_.set(snapshot, key, *o);
    return json_reply(200, ops::override_set_reply(key, *o));
}

admin::Reply Operations::clear_override(const std::string& zone, const std::string& region) {
    const ops::RegionKey key = ops::RegionKey::from_request(zone, region);
    switch (overrides_.clear(*publisher_->current(), key)) {
    case ops::OverrideStore::Cleared::no_region: return admin::error_reply(404, "no region " + key.region + " in zone " + key.zone);
    case ops::OverrideStore::Cleared::no_override: return admin::error_reply(404, "region " + key.to_string() + " has no override");
    case ops::OverrideStore::Cleared::cleared: break;
    }
    return json_reply(200, ops::override_cleared_reply(key));
}

admin::Reply Operations::explain(const std::string& name, const std::string& client, const std::string& type,
                                 const std::vector<std::string>& down) const {
    explain::Request request{name, type, client, down};
    const std::vector<std::string> lines = explain::explain(*publisher_->current(), request);
    const bool is_error = !lines.empty() && lines.front().rfind("error:", 0) == 0;
    return {is_error ? 400 : 200, json{{"lines", lines}}.dump(2) + "\n", "application/json"};
}

admin::Reply Operations::check() const {
    Diagnostics diagnostics;
    auto config = config::load_server_config(config_.path, &diagnostics);
    std::unique_ptr<answer::Snapshot> snapshot;
    if (config) snapshot = config::load_snapshot(*config, &diagnostics);
    ReloadResult result{snapshot != nullptr, snapshot ? snapshot->zones.zones().size() : 0, {}};
    for (const auto& d : diagnostics.items()) result.errors.push_back(d.format());
    return json_reply(result.is_ok ? 200 : 422, ops::reload_reply(result));
}

void Operations::count_reload(const ReloadResult& result) { reloads_.count(result); }

void Operations::tick() {
    const answer::Snapshot& snapshot = *publisher_->current();
    overrides_.expire(snapshot, SystemClock::now());
    analytics_.tick(snapshot, ops::index_monitored(health_->status()));
}

}  // namespace meridian::server

#include "ops/metrics_view.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "dns/name.hpp"
#include "zone/signing.hpp"

namespace meridian::ops {

namespace {

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
                std::string base = name.substr(0, name.size() - s.size());
                if (families_.count(base) != 0) return base;
            }
        }
        return name;
    }

    std::vector<std::string> order_;
    std::map<std::string, std::string> families_;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

void demand_samples(MetricsText& m, const Readings& readings, const SeriesKey& key, const Labels& labels) {
    if (readings.forecasts == nullptr) return;
    const auto r = readings.forecasts->reading(key);
    if (!r) return;
    Labels actual = labels;
    actual.emplace_back("value", "actual");
    Labels forecast = labels;
    forecast.emplace_back("value", "forecast");
    m.sample("meridian_demand_answers_per_second", actual, r->actual_per_second);
    m.sample("meridian_demand_answers_per_second", forecast, r->forecast_per_second);
    if (r->mape) m.sample("meridian_demand_forecast_mape_percent", labels, *r->mape);
}

// Each address of a region with member health, and how many answers carry.
void member_samples(MetricsText& m, const probes::RegionStatus& status, const Labels& labels) {
    if (status.members.empty()) return;
    double answered = 0;
    for (const probes::MemberStatus& member : status.members) {
        Labels with = labels;
        with.emplace_back("address", member.address);
        m.sample("meridian_member_answered", with, member.is_answered ? 1 : 0);
        m.sample("meridian_member_state", with, static_cast<double>(static_cast<int>(member.state)));
        if (member.has_latency) m.sample("meridian_member_latency_ms", with, member.latency_ms);
        answered += member.is_answered ? 1 : 0;
    }
    Labels with = labels;
    with.emplace_back("members", "answered");
    m.sample("meridian_region_members", with, answered);
    with.back().second = "total";
    m.sample("meridian_region_members", with, static_cast<double>(status.members.size()));
}

}  // namespace

std::string metrics_text(const Readings& readings) {
    MetricsText m;
    const auto sum = [&readings](auto pick) {
        uint64_t total = 0;
        for (const stats::WorkerStats* worker : readings.workers) total += pick(*worker).get();
        return total;
    };
    m.family("meridian_queries_total", "counter", "DNS queries received, by transport.");
    m.sample("meridian_queries_total", {{"transport", "udp"}},
             static_cast<double>(sum([](auto& s) -> auto& { return s.queries[0]; })));
    m.sample("meridian_queries_total", {{"transport", "tcp"}},
             static_cast<double>(sum([](auto& s) -> auto& { return s.queries[1]; })));
    m.family("meridian_responses_total", "counter", "Responses sent, by transport and rcode.");
    for (std::size_t t = 0; t < 2; ++t) {
        for (std::size_t r = 0; r < stats::kRcodes; ++r) {
            m.sample("meridian_responses_total",
                     {{"transport", t == 0 ? "udp" : "tcp"},
                      {"rcode", std::string(stats::name_of(static_cast<stats::RcodeBucket>(r)))}},
                     static_cast<double>(sum([ t, r ](auto& s) -> auto& { return s.rcodes[t][r]; })));
        }
    }
    m.family("meridian_dropped_total", "counter", "Packets not answered at all (shorter than a header, or QR=1).");
    m.sample("meridian_dropped_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.dropped; })));
    m.family("meridian_malformed_total", "counter", "Malformed queries (answered FORMERR).");
    m.sample("meridian_malformed_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.malformed; })));
    m.family("meridian_truncated_total", "counter", "Responses sent with TC=1.");
    m.sample("meridian_truncated_total", {}, static_cast<double>(sum([](auto& s) -> auto& { return s.truncated; })));
    m.family("meridian_send_failures_total", "counter", "UDP replies the socket did not take.");
    m.sample("meridian_send_failures_total", {},
             static_cast<double>(sum([](auto& s) -> auto& { return s.send_failed; })));
    m.family("meridian_rrl_total", "counter", "UDP responses held back by response rate limiting, by action.");
    m.sample("meridian_rrl_total", {{"action", "dropped"}},
             static_cast<double>(sum([](auto& s) -> auto& { return s.rrl_dropped; })));
    m.sample("meridian_rrl_total", {{"action", "slipped"}},
             static_cast<double>(sum([](auto& s) -> auto& { return s.rrl_slipped; })));
    m.family("meridian_udp_overloads_total", "counter",
             "Times a UDP receive queue stayed non-empty for udp_overload_interval_ms and was cut to the kernel's "
             "default size.");
    m.sample("meridian_udp_overloads_total", {},
             static_cast<double>(sum([](auto& s) -> auto& { return s.udp_overloads; })));
    m.family("meridian_udp_overloaded", "gauge", "UDP sockets whose receive queue is cut down for overload right now.");
    m.sample("meridian_udp_overloaded", {}, static_cast<double>(readings.overloaded_udp_sockets));
    m.family("meridian_tcp_refused_total", "counter",
             "TCP connections closed at once for being over a connection cap.");
    m.sample("meridian_tcp_refused_total", {},
             static_cast<double>(sum([](auto& s) -> auto& { return s.tcp_refused; })));
    const TransferCounts& xfr = readings.transfers;
    m.family("meridian_transfers_total", "counter",
             "Zone transfer requests (AXFR, IXFR) and signed queries by result (docs/TRANSFERS.md).");
    m.sample("meridian_transfers_total", {{"result", "served"}}, static_cast<double>(xfr.served));
    m.sample("meridian_transfers_total", {{"result", "up_to_date"}}, static_cast<double>(xfr.up_to_date));
    m.sample("meridian_transfers_total", {{"result", "refused"}}, static_cast<double>(xfr.refused));
    m.sample("meridian_transfers_total", {{"result", "tsig_error"}}, static_cast<double>(xfr.tsig_errors));
    m.family("meridian_notifies_total", "counter",
             "NOTIFY datagrams sent to secondaries (retries included), and notifications acknowledged or failed.");
    m.sample("meridian_notifies_total", {{"result", "sent"}}, static_cast<double>(xfr.notifies_sent));
    m.sample("meridian_notifies_total", {{"result", "acknowledged"}}, static_cast<double>(xfr.notifies_acknowledged));
    m.sample("meridian_notifies_total", {{"result", "failed"}}, static_cast<double>(xfr.notifies_failed));
    const SigningCounts& sig = readings.signing;
    m.family("meridian_dnssec_signatures_total", "counter",
             "Signatures answers needed beyond the zone's own (steered answers, wildcard expansions, denials): from "
             "the workers' caches, made now, refused over the signing budget, or failed (docs/DNSSEC.md).");
    m.sample("meridian_dnssec_signatures_total", {{"result", "cached"}}, static_cast<double>(sig.hits));
    m.sample("meridian_dnssec_signatures_total", {{"result", "signed"}}, static_cast<double>(sig.signed_now));
    m.sample("meridian_dnssec_signatures_total", {{"result", "over_budget"}}, static_cast<double>(sig.over_budget));
    m.sample("meridian_dnssec_signatures_total", {{"result", "failed"}}, static_cast<double>(sig.failures));
    m.family("meridian_dnssec_cache_entries", "gauge", "Signatures held in the workers' caches.");
    m.sample("meridian_dnssec_cache_entries", {}, static_cast<double>(sig.entries));
    m.family("meridian_dnssec_cache_bytes", "gauge", "Memory the held signatures take.");
    m.sample("meridian_dnssec_cache_bytes", {}, static_cast<double>(sig.cache_bytes));
    m.family("meridian_dnssec_cache_evictions_total", "counter", "Cached signatures replaced by newer ones.");
    m.sample("meridian_dnssec_cache_evictions_total", {}, static_cast<double>(sig.evictions));
    m.family("meridian_dnssec_signature_expiration_seconds", "gauge",
             "When the signatures a signed zone serves now expire (seconds since the epoch).");
    m.family("meridian_dnssec_next_signing_seconds", "gauge",
             "When a signed zone is signed again: its next window or key timing event (seconds since the epoch).");
    m.family("meridian_dnssec_keys", "gauge", "A signed zone's keys: published (DNSKEY served) and signing.");
    for (const auto& zone : readings.snapshot.zones.zones()) {
        const zone::Signing* signing = zone.zone().signing();
        if (signing == nullptr) continue;
        const std::string origin = dns::name_to_text(zone.zone().origin());
        m.sample("meridian_dnssec_signature_expiration_seconds", {{"zone", origin}},
                 static_cast<double>(signing->window.expiration));
        m.sample("meridian_dnssec_next_signing_seconds", {{"zone", origin}}, static_cast<double>(signing->next_event));
        std::size_t published = 0;
        for (const auto& key : signing->config->keys) published += key->timing.is_published(signing->signed_at) ? 1 : 0;
        std::vector<const dnssec::Key*> signers = signing->zone_signers;
        for (const dnssec::Key* k : signing->key_signers) {
            if (std::find(signers.begin(), signers.end(), k) == signers.end()) signers.push_back(k);
        }
        m.sample("meridian_dnssec_keys", {{"zone", origin}, {"state", "published"}}, static_cast<double>(published));
        m.sample("meridian_dnssec_keys", {{"zone", origin}, {"state", "signing"}}, static_cast<double>(signers.size()));
    }
    m.family("meridian_client_address_total", "counter", "Steered answers by where the client address came from.");
    m.sample("meridian_client_address_total", {{"source", "ecs"}},
             static_cast<double>(sum([](auto& s) -> auto& { return s.ecs; })));
    m.sample("meridian_client_address_total", {{"source", "packet"}},
             static_cast<double>(sum([](auto& s) -> auto& { return s.source; })));

    const answer::Snapshot& snapshot = readings.snapshot;
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
            m.sample("meridian_zone_responses_total",
                     {{"zone", origin}, {"rcode", std::string(stats::name_of(bucket))}},
                     static_cast<double>(zone.runtime->queries().rcode_total(bucket)));
        }
    }
    m.family("meridian_steered_answers_total", "counter",
             "Steered answers by name and the route that answered (route=\"fail\": the fail policy).");
    m.family("meridian_region_answers_total", "counter", "Steered answers that included a region.");
    m.family("meridian_region_state", "gauge", "Region health: 0 healthy, 1 degraded, 2 unhealthy.");
    m.family("meridian_region_latency_ms", "gauge",
             "Recent probe latency of a region (absent while none is measured: file and none checks, no probe yet).");
    m.family("meridian_region_success_ratio", "gauge", "Probe success rate of a region over its window.");
    m.family("meridian_region_override", "gauge", "Operator override of a region: 0 none, 1 up, 2 down, 3 drain.");
    m.family("meridian_probe_latency_ms", "histogram", "Latency of successful probes.");
    m.family("meridian_member_answered", "gauge",
             "Whether answers carry an address of a region with member health (1) or leave it out (0).");
    m.family("meridian_member_state", "gauge",
             "Probe verdict on one address of a region: 0 healthy, 1 degraded, 2 unhealthy.");
    m.family("meridian_member_latency_ms", "gauge", "Recent probe latency of one address (per-address checks).");
    m.family("meridian_region_members", "gauge",
             "Addresses of a region with member health, by what answers do with them.");
    m.family("meridian_region_capacity_factor", "gauge",
             "Share of what a region is offered that it takes, for its capacity (1: all).");
    m.family("meridian_region_load_factor", "gauge", "Share a region keeps for its reported load and shed watermarks.");
    m.family("meridian_region_latency_ewma_ms", "gauge", "The control loop's moving average of a region's latency.");
    m.family("meridian_adaptive_weight", "gauge", "Effective share of a region in an adaptive route.");
    m.family("meridian_demand_answers_per_second", "gauge",
             "Answers per second to a region or steered name: the last closed bucket (actual) and the next "
             "bucket's Holt-Winters forecast (forecast).");
    m.family("meridian_demand_forecast_mape_percent", "gauge",
             "Mean absolute percentage error of the one-bucket forecasts over the last season.");
    for (const auto& zone : snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(zone.zone().origin());
        const steer::Policy& policy = zone.zone().policy();
        for (std::size_t n = 0; n < policy.names.size(); ++n) {
            const std::string name = dns::name_to_text(policy.names[n].owner);
            demand_samples(m, readings, SeriesKey{origin, false, name}, {{"zone", origin}, {"name", name}});
            for (std::size_t r = 0; r <= policy.names[n].routes.size(); ++r) {
                const bool is_fail = r == policy.names[n].routes.size();
                m.sample("meridian_steered_answers_total",
                         {{"zone", origin}, {"name", name}, {"route", is_fail ? "fail" : std::to_string(r + 1)}},
                         static_cast<double>(
                             zone.runtime->steering().route_answers(n, is_fail ? -1 : static_cast<int>(r))));
            }
            for (std::size_t r = 0; r < policy.names[n].routes.size(); ++r) {
                const steer::Route& route = policy.names[n].routes[r];
                if (route.strategy != steer::Strategy::adaptive) continue;
                for (std::size_t t = 0; t < route.targets.size(); ++t) {
                    const auto learned = zone.runtime->feedback().learned_weight(route.first_slot, t);
                    if (!learned) continue;
                    m.sample("meridian_adaptive_weight",
                             {{"zone", origin},
                              {"name", name},
                              {"route", std::to_string(r + 1)},
                              {"region", policy.regions[route.targets[t].region].name}},
                             *learned / static_cast<double>(steer::kShareScale));
                }
            }
        }
        for (std::size_t i = 0; i < policy.regions.size(); ++i) {
            const std::vector<std::pair<std::string, std::string>> labels{{"zone", origin},
                                                                          {"region", policy.regions[i].name}};
            const health::RegionHealth h = zone.runtime->health().read(i);
            m.sample("meridian_region_answers_total", labels,
                     static_cast<double>(zone.runtime->steering().region_answers(i)));
            m.sample("meridian_region_state", labels, static_cast<double>(static_cast<int>(h.state)));
            if (h.has_measurement) m.sample("meridian_region_latency_ms", labels, h.latency_ms);
            m.sample("meridian_region_success_ratio", labels, h.success_permille / 1000.0);
            m.sample("meridian_region_override", labels, static_cast<double>(static_cast<int>(h.override)));
            demand_samples(m, readings, SeriesKey{origin, true, policy.regions[i].name}, labels);
            const steer::RegionFeedback learned = zone.runtime->feedback().region(i);
            m.sample("meridian_region_capacity_factor", labels, learned.capacity_factor / 1000.0);
            m.sample("meridian_region_load_factor", labels, learned.load_factor / 1000.0);
            if (learned.has_latency)
                m.sample("meridian_region_latency_ewma_ms", labels, learned.latency_tenths_ms / 10.0);
            const auto it = readings.monitored.find(RegionKey{origin, policy.regions[i].name});
            if (it != readings.monitored.end()) member_samples(m, it->second, labels);
            if (it == readings.monitored.end() || !it->second.is_probed) continue;
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
    if (const auto& f = readings.fleet) {
        m.family("meridian_fleet_partitioned", "gauge", "1 while this node is cut off from etcd (own verdicts only).");
        m.sample("meridian_fleet_partitioned", {}, f->is_partitioned ? 1 : 0);
        m.family("meridian_fleet_nodes", "gauge", "Live nodes of the fleet, this one included.");
        m.sample("meridian_fleet_nodes", {},
                 static_cast<double>(std::count_if(f->nodes.begin(), f->nodes.end(),
                                                   [](const FleetNodeView& n) { return n.is_live; })));
        m.family("meridian_fleet_node_mismatch", "gauge",
                 "1 for a node serving another zone serial or other zone files than this one.");
        for (const FleetNodeView& n : f->nodes) {
            if (n.is_self || !n.is_live) continue;
            m.sample("meridian_fleet_node_mismatch", {{"node", n.node}},
                     !n.serial_mismatch.empty() || n.is_config_mismatch ? 1 : 0);
        }
        m.family("meridian_fleet_votes_cast_total", "counter", "This node's verdicts written to etcd.");
        m.sample("meridian_fleet_votes_cast_total", {}, static_cast<double>(f->votes_cast));
        m.family("meridian_fleet_other_votes", "gauge", "Other nodes' live votes this node counts.");
        m.sample("meridian_fleet_other_votes", {}, static_cast<double>(f->others_votes));
        m.family("meridian_fleet_joins_total", "counter", "Times this node joined or rejoined the fleet.");
        m.sample("meridian_fleet_joins_total", {}, static_cast<double>(f->joins));
        m.family("meridian_fleet_partitions_total", "counter", "Times this node was cut off from etcd.");
        m.sample("meridian_fleet_partitions_total", {}, static_cast<double>(f->partitions));
    }
    m.family("meridian_health_transitions_total", "counter", "Region health state changes.");
    m.sample("meridian_health_transitions_total", {}, static_cast<double>(readings.health_transitions));
    m.family("meridian_reloads_total", "counter", "Configuration reloads, by result.");
    m.sample("meridian_reloads_total", {{"result", "success"}}, static_cast<double>(readings.reloads.succeeded()));
    m.sample("meridian_reloads_total", {{"result", "failure"}}, static_cast<double>(readings.reloads.failed()));
    m.family("meridian_alerts", "gauge", "Active alerts by rule and severity.");
    for (const char* rule : {"region_latency", "region_success", "healthy_regions"}) {
        for (const char* severity : {"warning", "critical"}) {
            const auto n = std::count_if(readings.alerts.begin(), readings.alerts.end(),
                                         [&](const Alert& a) { return a.rule == rule && a.severity == severity; });
            m.sample("meridian_alerts", {{"rule", rule}, {"severity", severity}}, static_cast<double>(n));
        }
    }
    return m.take();
}

}  // namespace meridian::ops

#include "ops/recommendations.hpp"

#include <optional>

#include "adapt/latency_matrix.hpp"
#include "common/log.hpp"
#include "dns/name.hpp"

namespace meridian::ops {

namespace {

using nlohmann::json;

std::string with_dot(std::string zone) {
    if (zone.empty() || zone.back() != '.') zone += '.';
    for (char& c : zone) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return zone;
}

json recommendation_json(const steer::Policy& policy, const adapt::Recommendation& r, const std::string& key) {
    json countries = json::array();
    for (const auto& c : r.countries) countries.push_back(std::string(c.data(), 2));
    json fallback = json::array();
    for (const uint32_t f : r.fallback) fallback.push_back(policy.regions[f].name);
    const steer::Route& route = policy.names[r.name].routes[r.before_route];
    return {{"summary", adapt::summary(policy, r)},
            {"route", r.before_route + 1},
            {"route_line", route.where.line},
            {"countries", countries},
            {"region", policy.regions[r.region].name},
            {"fallback", fallback},
            {"current_ms", r.current_ms},
            {"proposed_ms", r.proposed_ms},
            {"expected_gain_ms", r.gain_ms()},
            {"share_percent", r.share * 100},
            {"samples", r.samples},
            {"estimated", r.is_estimated},
            {"capacity_limited", r.is_capacity_limited},
            {"toml", adapt::toml_snippet(policy, r, key, route.where.line)}};
}

}  // namespace

void check_latency_matrix(const config::RecommendConfig& config, Diagnostics* diagnostics) {
    if (!config.latency_matrix.empty()) (void)adapt::LatencyMatrix::load(config.latency_matrix.string(), diagnostics);
}

std::string name_key(const std::string& owner, const std::string& origin) {
    if (owner == origin) return "@";
    if (owner.size() > origin.size() && owner.compare(owner.size() - origin.size(), origin.size(), origin) == 0 &&
        owner[owner.size() - origin.size() - 1] == '.')
        return owner.substr(0, owner.size() - origin.size() - 1);
    return owner;
}

json recommendations_document(const Readings& readings, const ClientMix& mix, const config::RecommendConfig& config,
                              const std::string& zone, bool* is_unknown_zone) {
    *is_unknown_zone = false;
    json doc = {{"min_gain_ms", config.min_gain_ms},
                {"half_life_seconds", config.half_life_ms / 1000},
                {"samples", {{"cells", mix.size()}, {"lost", mix.lost()}, {"dropped", mix.dropped()}}}};
    std::optional<adapt::LatencyMatrix> matrix;
    if (config.latency_matrix.empty()) {
        doc["latency_matrix"] = nullptr;
    } else {
        Diagnostics diagnostics;
        matrix = adapt::LatencyMatrix::load(config.latency_matrix.string(), &diagnostics);
        json m = {{"file", config.latency_matrix.string()}};
        if (matrix) {
            m["entries"] = matrix->size();
        } else {
            json errors = json::array();
            for (const Diagnostic& d : diagnostics.items()) errors.push_back(d.format());
            m["errors"] = errors;
            log::warning("latency matrix " + config.latency_matrix.string() +
                         " not used: " + diagnostics.items().front().format());
        }
        doc["latency_matrix"] = m;
    }
    const std::string wanted = zone.empty() ? "" : with_dot(zone);
    json zones = json::array();
    for (const zone::ServedZone& served : readings.snapshot.zones.zones()) {
        const std::string origin = dns::name_to_text(served.zone().origin());
        if (!wanted.empty() && origin != wanted) continue;
        const steer::Policy& policy = served.zone().policy();
        adapt::RecommendInput input;
        input.policy = &policy;
        input.mix = mix.cells(served);
        input.matrix = matrix ? &*matrix : nullptr;
        input.min_gain_ms = config.min_gain_ms;
        for (const steer::Region& region : policy.regions) {
            const Trend* trend = readings.trends.find(RegionKey{origin, region.name});
            input.region_rate.push_back(trend != nullptr ? trend->moving_average() : 0.0);
        }
        std::vector<double> sampled(policy.names.size(), 0.0);
        for (const adapt::MixCell& c : input.mix) sampled[c.name] += c.answers;
        for (const steer::SteeredName& name : policy.names) {
            double rate = 0;
            if (readings.forecasts != nullptr) {
                if (const auto r = readings.forecasts->reading(SeriesKey{origin, false, dns::name_to_text(name.owner)}))
                    rate = r->actual_per_second;
            }
            input.name_rate.push_back(rate);
        }
        const std::vector<adapt::Recommendation> found = adapt::recommend(input);
        json names = json::array();
        for (uint32_t n = 0; n < policy.names.size(); ++n) {
            const std::string owner = dns::name_to_text(policy.names[n].owner);
            const std::string key = name_key(owner, origin);
            json list = json::array();
            for (const adapt::Recommendation& r : found)
                if (r.name == n) list.push_back(recommendation_json(policy, r, key));
            names.push_back(
                {{"name", owner}, {"key", key}, {"sampled_answers", sampled[n]}, {"recommendations", list}});
        }
        zones.push_back({{"zone", origin}, {"names", names}});
    }
    if (!wanted.empty() && zones.empty()) *is_unknown_zone = true;
    doc["zones"] = zones;
    return doc;
}

}  // namespace meridian::ops

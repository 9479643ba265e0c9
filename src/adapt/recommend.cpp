#include "adapt/recommend.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "geo/country_locations.hpp"
#include "geo/distance.hpp"

namespace meridian::adapt {

namespace {

using Country = std::array<char, 2>;

std::string country_text(Country c) { return {c.data(), 2}; }

std::string fixed(double value, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, value);
    return text;
}

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

template <typename T, typename Render>
std::string toml_list(const std::vector<T>& items, Render render) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ", ") + render(items[i]);
    return out + "]";
}

bool is_answering(const steer::Region& region) {
    return !region.ipv4.empty() || !region.ipv6.empty() || !region.cname.empty();
}

// The answers of one name, route and country, by region.
struct Group {
    double answers = 0;
    std::map<uint32_t, double> by_region;
};

struct Candidate {
    Country country{};
    double answers = 0;
    double answers_to_best = 0;  // already going to the best region
    double current_ms = 0;
    double best_ms = 0;
    bool is_estimated = false;
};

}  // namespace

std::optional<Rtt> rtt_of(const steer::Policy& policy, const LatencyMatrix* matrix, Country country, uint32_t region) {
    if (region >= policy.regions.size()) return std::nullopt;
    const steer::Region& r = policy.regions[region];
    if (matrix != nullptr) {
        if (const auto ms = matrix->rtt_ms(country, r.name)) return Rtt{*ms, false};
    }
    if (!r.has_location) return std::nullopt;
    const geo::CountryLocation* at = geo::location_of_country(country_text(country));
    if (at == nullptr) return std::nullopt;
    const double km = geo::great_circle_km(at->latitude, at->longitude, r.latitude, r.longitude);
    return Rtt{kRttBaseMs + kRttMsPerKm * km, true};
}

std::vector<Recommendation> recommend(const RecommendInput& input) {
    std::vector<Recommendation> out;
    if (input.policy == nullptr) return out;
    const steer::Policy& policy = *input.policy;

    std::map<uint32_t, double> name_total;
    std::map<std::tuple<uint32_t, int32_t, Country>, Group> groups;
    for (const MixCell& cell : input.mix) {
        if (cell.name >= policy.names.size() || cell.answers <= 0) continue;
        name_total[cell.name] += cell.answers;
        if (cell.route < 0 || static_cast<std::size_t>(cell.route) >= policy.names[cell.name].routes.size() ||
            cell.country[0] == 0 || cell.region >= policy.regions.size())
            continue;
        Group& g = groups[{cell.name, cell.route, cell.country}];
        g.answers += cell.answers;
        g.by_region[cell.region] += cell.answers;
    }

    // (name, route, best region) → its countries.
    std::map<std::tuple<uint32_t, int32_t, uint32_t>, std::vector<Candidate>> moves;
    for (const auto& [key, group] : groups) {
        const auto& [name, route, country] = key;
        Candidate c{country, group.answers, 0, 0, 0, false};
        bool is_known = true;
        for (const auto& [region, answers] : group.by_region) {
            const auto rtt = rtt_of(policy, input.matrix, country, region);
            if (!rtt) {
                is_known = false;
                break;
            }
            c.current_ms += answers * rtt->ms / group.answers;
            c.is_estimated = c.is_estimated || rtt->is_estimated;
        }
        if (!is_known) continue;
        std::optional<uint32_t> best;
        Rtt best_rtt;
        for (uint32_t r = 0; r < policy.regions.size(); ++r) {
            if (!is_answering(policy.regions[r])) continue;
            const auto rtt = rtt_of(policy, input.matrix, country, r);
            if (rtt && (!best || rtt->ms < best_rtt.ms)) {
                best = r;
                best_rtt = *rtt;
            }
        }
        if (!best || c.current_ms - best_rtt.ms < input.min_gain_ms) continue;
        c.best_ms = best_rtt.ms;
        c.is_estimated = c.is_estimated || best_rtt.is_estimated;
        if (const auto it = group.by_region.find(*best); it != group.by_region.end()) c.answers_to_best = it->second;
        moves[{name, route, *best}].push_back(c);
    }

    // What each region may still take, in answers per second, shared by every recommendation
    // that sends it more; negative: no capacity, no limit.
    std::vector<double> room(policy.regions.size(), -1);
    for (std::size_t r = 0; r < policy.regions.size(); ++r) {
        if (policy.regions[r].capacity == 0) continue;
        const double sent = r < input.region_rate.size() ? input.region_rate[r] : 0;
        room[r] = std::max(0.0, policy.regions[r].capacity * kCapacityHeadroom - sent);
    }
    // The moves with the most to gain take a region's room first.
    std::vector<std::pair<double, decltype(moves)::iterator>> order;
    for (auto it = moves.begin(); it != moves.end(); ++it) {
        double benefit = 0;
        for (const Candidate& c : it->second) benefit += c.answers * (c.current_ms - c.best_ms);
        order.emplace_back(benefit / name_total[std::get<0>(it->first)], it);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });

    for (auto& [benefit, it] : order) {
        const auto& [name, route, region] = it->first;
        std::vector<Candidate>& candidates = it->second;
        const double total = name_total[name];
        std::sort(candidates.begin(), candidates.end(),
                  [](const Candidate& a, const Candidate& b) { return a.answers > b.answers; });
        const double name_rate = name < input.name_rate.size() ? input.name_rate[name] : 0;
        Recommendation rec;
        rec.name = name;
        rec.before_route = static_cast<uint32_t>(route);
        rec.region = region;
        double current = 0, proposed = 0;
        for (const Candidate& c : candidates) {
            if (room[region] >= 0) {
                // A region with a capacity takes a country only when what it adds is known and fits.
                const double added = (c.answers - c.answers_to_best) / total * name_rate;
                if (name_rate <= 0 || added > room[region]) {
                    rec.is_capacity_limited = true;
                    continue;
                }
                room[region] -= added;
            }
            rec.countries.push_back(c.country);
            rec.samples += c.answers;
            current += c.answers * c.current_ms;
            proposed += c.answers * c.best_ms;
            rec.is_estimated = rec.is_estimated || c.is_estimated;
        }
        if (rec.countries.empty() || rec.samples < input.min_samples || rec.samples / total < input.min_share) continue;
        std::sort(rec.countries.begin(), rec.countries.end());
        rec.current_ms = current / rec.samples;
        rec.proposed_ms = proposed / rec.samples;
        rec.share = rec.samples / total;
        // The route's own regions after the best one, as many as a route may list.
        for (const steer::Target& t : policy.names[name].routes[rec.before_route].targets) {
            if (t.region != region && rec.fallback.size() + 1 < steer::kMaxRouteTargets)
                rec.fallback.push_back(t.region);
        }
        out.push_back(std::move(rec));
    }
    std::stable_sort(out.begin(), out.end(), [](const Recommendation& a, const Recommendation& b) {
        return a.gain_ms() * a.share > b.gain_ms() * b.share;
    });
    return out;
}

std::string summary(const steer::Policy& policy, const Recommendation& r) {
    const steer::Route& route = policy.names[r.name].routes[r.before_route];
    std::string now = steer::to_string(route.strategy);
    now += " of ";
    for (std::size_t i = 0; i < route.targets.size(); ++i)
        now += (i == 0 ? "" : ", ") + policy.regions[route.targets[i].region].name;
    std::string countries;
    for (std::size_t i = 0; i < r.countries.size(); ++i)
        countries += (i == 0 ? "" : ", ") + country_text(r.countries[i]);
    return "route " + std::to_string(r.before_route + 1) + ": send " + countries + " to " +
           policy.regions[r.region].name + " instead of " + now + ": expected -" + fixed(r.gain_ms(), 1) + " ms for " +
           fixed(r.share * 100, 1) + " % of answers" + (r.is_estimated ? " (estimated from distance)" : "");
}

std::string toml_snippet(const steer::Policy& policy, const Recommendation& r, const std::string& name_key,
                         uint32_t route_line) {
    const steer::Route& route = policy.names[r.name].routes[r.before_route];
    const steer::Condition& when = route.when;
    std::vector<std::pair<std::string, std::string>> parts;
    if (!when.continents.empty())
        parts.emplace_back("continent", toml_list(when.continents,
                                                  [](const geo::Code<2>& c) { return quoted(std::string(c.view())); }));
    parts.emplace_back("country", toml_list(r.countries, [](Country c) { return quoted(country_text(c)); }));
    if (!when.subdivisions.empty())
        parts.emplace_back("subdivision", toml_list(when.subdivisions, [](const steer::Subdivision& s) {
                               return quoted(std::string(s.country.view()) + "-" + std::string(s.code.view()));
                           }));
    if (!when.asns.empty())
        parts.emplace_back("asn", toml_list(when.asns, [](uint32_t a) { return std::to_string(a); }));
    if (!when.cidr_sets.empty()) {
        std::vector<std::string> cidrs;
        for (const uint32_t i : when.cidr_sets) {
            const steer::CidrSet& set = policy.cidr_sets[i];
            if (!set.name.empty()) cidrs.push_back(set.name);
            else
                for (const geo::Network& n : set.networks) cidrs.push_back(geo::to_string(n));
        }
        parts.emplace_back("cidr", toml_list(cidrs, quoted));
    }
    if (!when.location_sets.empty()) {
        std::vector<std::string> names;
        for (const uint32_t i : when.location_sets) names.push_back(policy.location_sets[i].name);
        parts.emplace_back("location", toml_list(names, quoted));
    }
    std::string when_text = "{ ";
    for (std::size_t i = 0; i < parts.size(); ++i)
        when_text += (i == 0 ? "" : ", ") + parts[i].first + " = " + parts[i].second;
    when_text += " }";
    std::vector<std::string> to{policy.regions[r.region].name};
    for (const uint32_t f : r.fallback) to.push_back(policy.regions[f].name);

    const std::string table = "names." + quoted(name_key) + ".route";
    std::string out = "# " + summary(policy, r) + "\n";
    out += "# Paste just before route " + std::to_string(r.before_route + 1) + " of " + quoted(name_key) +
           (route_line > 0 ? " (line " + std::to_string(route_line) + ")" : "") + ".\n";
    out += "[[" + table + "]]\n";
    out += "when = " + when_text + "\n";
    out += "to = " + toml_list(to, quoted) + "\n";
    out += "strategy = \"failover\"\n";
    return out;
}

}  // namespace meridian::adapt

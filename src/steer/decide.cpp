#include "steer/decide.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/fnv1a.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "geo/distance.hpp"

namespace meridian::steer {

const char* to_string(Strategy strategy) noexcept {
    switch (strategy) {
    case Strategy::weighted: return "weighted";
    case Strategy::failover: return "failover";
    case Strategy::nearest: return "nearest";
    case Strategy::all: return "all";
    case Strategy::sticky: return "sticky";
    case Strategy::latency: return "latency";
    case Strategy::performance: return "performance";
    case Strategy::least_loaded: return "least_loaded";
    case Strategy::adaptive: return "adaptive";
    case Strategy::cost: return "cost";
    }
    return "?";
}

bool parse_strategy(std::string_view text, Strategy* out) noexcept {
    for (const Strategy s :
         {Strategy::weighted, Strategy::failover, Strategy::nearest, Strategy::all, Strategy::sticky, Strategy::latency,
          Strategy::performance, Strategy::least_loaded, Strategy::adaptive, Strategy::cost}) {
        if (text == to_string(s)) {
            *out = s;
            return true;
        }
    }
    return false;
}

uint64_t hash_region_name(std::string_view name) noexcept {
    Fnv1a hash;
    for (const char c : name) hash.mix(static_cast<uint8_t>(c));
    return hash.value();
}

uint8_t cidr_set_scope(const CidrSet& set, const geo::IpAddress& address, bool* is_match) noexcept {
    uint8_t scope = 0;
    uint8_t longest_match = 0;
    *is_match = false;
    for (const geo::Network& network : set.networks) {
        if (network.address.family != address.family) continue;
        const unsigned shared = geo::common_prefix_length(network.address, address);
        if (shared >= network.prefix_length) {
            *is_match = true;
            longest_match = std::max(longest_match, network.prefix_length);
        } else {
            // The first differing bit keeps this client's block clear of the network.
            scope = std::max<uint8_t>(scope, static_cast<uint8_t>(shared + 1));
        }
    }
    // Inside: every address of the matching network matches too (a longer non-matching network
    // nested inside cannot exclude it, since sets only add addresses).
    return *is_match ? longest_match : scope;
}

namespace {

template <typename T>
bool contains(const std::vector<T>& values, const T& value) noexcept {
    return std::find(values.begin(), values.end(), value) != values.end();
}

bool subdivision_matches(const std::vector<Subdivision>& wanted, const geo::Facts& facts) noexcept {
    for (const Subdivision& s : wanted) {
        if (s.country == facts.country && s.code == facts.subdivision) return true;
    }
    return false;
}

bool location_set_matches(const LocationSet& set, const geo::Facts& facts) noexcept {
    return (!facts.continent.empty() && contains(set.continents, facts.continent)) ||
           (!facts.country.empty() && contains(set.countries, facts.country)) ||
           (!facts.subdivision.empty() && subdivision_matches(set.subdivisions, facts)) ||
           (facts.asn != 0 && contains(set.asns, facts.asn));
}

// Looks facts up at most once per decision.
class Locator {
public:
    Locator(const ClientAddress& client, const geo::GeoDatabases* databases) noexcept
        : client_(client), databases_(databases) {}

    const geo::Facts& facts() noexcept {
        if (!is_done_) {
            if (databases_ != nullptr && client_.address.is_valid()) facts_ = databases_->lookup(client_.address);
            is_done_ = true;
        }
        return facts_;
    }
    bool was_used() const noexcept { return is_done_; }

private:
    const ClientAddress& client_;
    const geo::GeoDatabases* databases_;
    geo::Facts facts_;
    bool is_done_ = false;
};

// Retrying a failed query costs a resolver about this long; `performance` charges each failed
// probe this much (see docs/POLICY.md).
constexpr double kRetryCostMs = 1000.0;

struct Candidate {
    uint32_t region;
    uint32_t weight;
    health::RegionHealth health;
    double key;          // the strategy's sort key, smaller first
    uint16_t admission;  // permille: the chance it takes an answer offered to it (capacity, load)
};
using Candidates = std::array<Candidate, kMaxRouteTargets>;

// Room for a decision's candidates, left uninitialised: every slot is written before it is read,
// and kMaxRouteTargets default-constructed RegionHealth values cost more than the rest of the decision.
union CandidateRoom {
    // NOLINTNEXTLINE(modernize-use-equals-default): = default would be deleted (slots is not trivial)
    CandidateRoom() noexcept {}
    Candidates slots;
};

class Decider {
public:
    Decider(const Policy& policy, Boards boards, const ClientAddress& client, const geo::GeoDatabases* databases,
            Random* random, Trace* trace) noexcept
        : policy_(policy), health_(boards.health), feedback_(boards.feedback), client_(client),
          locator_(client, databases), random_(random), trace_(trace) {}

    Decision decide(const SteeredName& name, uint16_t qtype) noexcept;
    // The client's country, when this decision looked the client up anyway.
    void note_location(Decision* decision) noexcept {
        if (!locator_.was_used()) return;
        decision->is_located = true;
        decision->country = locator_.facts().country;
    }

private:
    bool matches(const Condition& when) noexcept;
    std::size_t candidates(const SteeredName& name, const Route& route, uint16_t qtype, bool apply_health,
                           Candidates* out, bool* is_pruned) noexcept;
    void choose(const Route& route, Candidates* candidates, std::size_t n, uint8_t answers,
                Decision* decision) noexcept;
    std::size_t admit(Candidates* candidates, std::size_t n) noexcept;
    void scale_weights(Candidates* candidates, std::size_t n) noexcept;
    void explain_feedback(const Region& region, const Route& route, const RegionFeedback& learned,
                          uint32_t weight) noexcept;
    health::RegionHealth health_of(uint32_t region) const noexcept {
        if (health_ == nullptr || region >= health_->size()) return {};
        return health_->read(region);
    }
    RegionFeedback feedback_of(uint32_t region) const noexcept {
        if (feedback_ == nullptr || region >= feedback_->regions()) return {};
        return feedback_->region(region);
    }
    // An adaptive route's published weight for its target `index`, or the configured one.
    uint32_t weight_of(const Route& route, std::size_t index, uint32_t configured) const noexcept {
        if (route.strategy != Strategy::adaptive || feedback_ == nullptr) return configured;
        return feedback_->learned_weight(route.first_slot, index).value_or(configured);
    }
    void note_scope(unsigned prefix) noexcept { scope_ = std::max(scope_, std::min(prefix, client_.address.width())); }
    // Trace lines are built only when a trace was asked for: the query path allocates nothing.
    void say(const char* line) noexcept {
        if (trace_ != nullptr) trace_->lines.emplace_back(line);
    }
    template <typename MakeLine>
    void say_with(MakeLine make_line) noexcept {
        if (trace_ != nullptr) trace_->lines.push_back(make_line());
    }

    const Policy& policy_;
    const health::HealthBoard* health_;  // null: every region healthy
    const FeedbackBoard* feedback_;      // null: nothing learned
    const ClientAddress& client_;
    Locator locator_;
    Random* random_;
    Trace* trace_;
    unsigned scope_ = 0;
    bool is_ipv6_ = false;  // the query asks for AAAA: the family whose members count
};

bool Decider::matches(const Condition& when) noexcept {
    if (!when.cidr_sets.empty()) {
        bool any = false;
        for (const uint32_t index : when.cidr_sets) {
            bool is_match = false;
            note_scope(cidr_set_scope(policy_.cidr_sets[index], client_.address, &is_match));
            any = any || is_match;
        }
        if (!any) return false;
    }
    if (!when.needs_geo()) return true;
    const geo::Facts& facts = locator_.facts();
    note_scope(facts.prefix_length);
    if (!when.continents.empty() && (facts.continent.empty() || !contains(when.continents, facts.continent)))
        return false;
    if (!when.countries.empty() && (facts.country.empty() || !contains(when.countries, facts.country))) return false;
    if (!when.subdivisions.empty() && !subdivision_matches(when.subdivisions, facts)) return false;
    if (!when.asns.empty() && (facts.asn == 0 || !contains(when.asns, facts.asn))) return false;
    if (!when.location_sets.empty()) {
        bool any = false;
        for (const uint32_t index : when.location_sets)
            any = any || location_set_matches(policy_.location_sets[index], facts);
        if (!any) return false;
    }
    return true;
}

// FNV-1a over the client's prefix and the region's name hash: the per-(client, region) draw of
// rendezvous hashing, stable across processes, restarts and edits elsewhere in the zone.
uint64_t sticky_hash(const geo::IpAddress& address, unsigned prefix, uint64_t region) noexcept {
    Fnv1a hash;
    const geo::IpAddress network = geo::masked(address, prefix);
    for (unsigned bit = 0; bit < prefix; bit += 8) hash.mix(network.bytes[bit / 8]);
    hash.mix(static_cast<uint8_t>(prefix));
    for (int i = 0; i < 8; ++i) hash.mix(static_cast<uint8_t>(region >> (8 * i)));
    uint64_t h = hash.value();
    // A final avalanche so nearby inputs spread over the whole range (splitmix64's finaliser).
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

// The route's regions that can answer this query type and, with `apply_health`, are fit to:
// unhealthy, drained, forced-down and too-slow regions are left out, and degraded ones too
// while a healthy one remains (unless the name says otherwise).
std::size_t Decider::candidates(const SteeredName& name, const Route& route, uint16_t qtype, bool apply_health,
                                Candidates* out, bool* is_pruned) noexcept {
    std::size_t n = 0;
    std::size_t healthy = 0;
    for (std::size_t index = 0; index < route.targets.size(); ++index) {
        const Target& t = route.targets[index];
        const Region& region = policy_.regions[t.region];
        if (!region.answers(qtype)) {
            say_with([&] {
                return "candidate " + region.name + ": no " + (qtype == dns::rrtype::AAAA ? "AAAA" : "A") +
                       " records, skipped";
            });
            continue;
        }
        health::RegionHealth h = health_of(t.region);
        const char* pruned_because = nullptr;
        if (h.override == health::Override::force_up) h.state = health::State::healthy;
        if (name.degraded == DegradedUse::healthy && h.state == health::State::degraded)
            h.state = health::State::healthy;
        if (name.degraded == DegradedUse::never && h.state == health::State::degraded)
            h.state = health::State::unhealthy;
        const bool is_assumed_down = trace_ != nullptr &&
                                     std::find(trace_->assume_down.begin(), trace_->assume_down.end(), region.name) !=
                                         trace_->assume_down.end();
        if (is_assumed_down) pruned_because = "assumed down (what-if)";
        else if (h.override == health::Override::force_down) pruned_because = "forced down";
        else if (h.override == health::Override::drain) pruned_because = "drained";
        else if (h.override == health::Override::force_up) pruned_because = nullptr;  // the operator's word wins
        else if (h.state == health::State::unhealthy) pruned_because = "unhealthy";
        else if (region.has_member_health && (qtype == dns::rrtype::AAAA ? h.lacks_ipv6 : h.lacks_ipv4))
            pruned_because = qtype == dns::rrtype::AAAA ? "no AAAA member can answer" : "no A member can answer";
        else if (route.max_latency_ms != 0 && h.has_measurement && h.latency_ms > route.max_latency_ms)
            pruned_because = "too slow";
        const RegionFeedback learned = feedback_of(t.region);
        const uint32_t weight = weight_of(route, index, t.weight);
        if (trace_ != nullptr) {
            char line[200];
            std::snprintf(line, sizeof line, "candidate %s: %s, latency %u ms, success %.1f %%, weight %u%s%s",
                          region.name.c_str(), health::to_string(h.state), h.latency_ms, h.success_permille / 10.0,
                          t.weight, pruned_because != nullptr && apply_health ? ", pruned: " : "",
                          pruned_because != nullptr && apply_health ? pruned_because : "");
            say(line);
            explain_feedback(region, route, learned, weight);
        }
        if (apply_health && pruned_because != nullptr) {
            *is_pruned = true;
            continue;
        }
        // The loader refuses routes with more targets than slots (kMaxRouteTargets).
        (*out)[n++] = {t.region, weight, h, 0, learned.admission()};
        healthy += h.state == health::State::healthy ? 1 : 0;
    }
    if (apply_health && healthy > 0 && healthy < n) {
        // Degraded regions wait while a healthy one can answer.
        std::size_t kept = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if ((*out)[i].health.state == health::State::healthy) (*out)[kept++] = (*out)[i];
        }
        say("degraded candidates held back: a healthy one remains");
        *is_pruned = true;
        n = kept;
    }
    return n;
}

void Decider::explain_feedback(const Region& region, const Route& route, const RegionFeedback& learned,
                               uint32_t weight) noexcept {
    const bool is_adaptive = route.strategy == Strategy::adaptive;
    if (!is_adaptive && region.capacity == 0 && !region.has_shed) return;
    char latency[32] = "none yet";
    if (learned.has_latency) std::snprintf(latency, sizeof latency, "%.1f ms", learned.latency_tenths_ms / 10.0);
    char effective[48] = "";
    if (is_adaptive) {
        if (feedback_ == nullptr || feedback_->weight(route.first_slot) == kNoWeight)
            std::snprintf(effective, sizeof effective, ", effective weight %u (configured)", weight);
        else std::snprintf(effective, sizeof effective, ", effective weight %.1f %%", weight / 10000.0);
    }
    char line[200];
    std::snprintf(line, sizeof line, "  %s: latency EWMA %s, capacity factor %.2f, load factor %.2f%s",
                  region.name.c_str(), latency, learned.capacity_factor / 1000.0, learned.load_factor / 1000.0,
                  effective);
    say(line);
}

// Weighted strategies: a region over capacity or shedding load has its weight scaled down by its
// admission, so its surplus spreads over the others by their weights; when every candidate is at
// zero the weights stay as they are (nothing better to send to).
void Decider::scale_weights(Candidates* c, std::size_t n) noexcept {
    Candidates& candidates = *c;
    bool is_scaled = false;
    uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        is_scaled = is_scaled || candidates[i].admission < kWholeShare;
        total += uint64_t{candidates[i].weight} * candidates[i].admission;
    }
    if (!is_scaled) return;
    if (total == 0) {
        say("every candidate is over capacity or shedding: weights as they are");
        return;
    }
    for (std::size_t i = 0; i < n; ++i)
        candidates[i].weight = static_cast<uint32_t>(uint64_t{candidates[i].weight} * candidates[i].admission /
                                                     kWholeShare);
    say("weights scaled by each region's capacity and load factors");
}

// Ordered strategies: going down the ranking, each candidate takes the answer with its admission's
// chance; those that decline move behind those that take it, keeping their order. A region at 80 %
// of what it may take therefore passes 20 % of its answers to the next-best, never all at once.
// Returns how many took it (0: every candidate declined, and the ranking stands).
std::size_t Decider::admit(Candidates* c, std::size_t n) noexcept {
    Candidates& candidates = *c;
    bool is_limited = false;
    for (std::size_t i = 0; i < n; ++i) is_limited = is_limited || candidates[i].admission < kWholeShare;
    if (!is_limited) return n;
    std::array<bool, kMaxRouteTargets> takes{};
    std::size_t taken = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const uint16_t a = candidates[i].admission;
        takes[i] = a >= kWholeShare || (a > 0 && random_->below(kWholeShare) < a);
        taken += takes[i] ? 1 : 0;
    }
    if (taken == 0) {
        say("every candidate is over capacity or shedding: the ranking stands");
        return 0;
    }
    if (taken == n) return n;
    CandidateRoom room;
    Candidates& declined = room.slots;
    std::size_t kept = 0;
    std::size_t spilled = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (takes[i]) candidates[kept++] = candidates[i];
        else declined[spilled++] = candidates[i];
    }
    for (std::size_t i = 0; i < spilled; ++i) {
        if (trace_ != nullptr) {
            char line[160];
            std::snprintf(line, sizeof line, "spill: %s passes this answer on (it takes %.1f %% of those offered)",
                          policy_.regions[declined[i].region].name.c_str(), declined[i].admission / 10.0);
            say(line);
        }
        candidates[kept + i] = declined[i];
    }
    return taken;
}

void Decider::choose(const Route& route, Candidates* c, std::size_t n, uint8_t answers, Decision* d) noexcept {
    Candidates& candidates = *c;
    const bool is_weighted = route.strategy == Strategy::weighted || route.strategy == Strategy::sticky ||
                             route.strategy == Strategy::adaptive;
    if (is_weighted) scale_weights(c, n);
    std::size_t want = std::min<std::size_t>(answers, n);
    if (is_weighted) {
        // Weight 0 means "send nothing here" (a soft drain) — unless every weight is 0.
        const auto weighted = static_cast<std::size_t>(
            std::count_if(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n),
                          [](const Candidate& x) { return x.weight > 0; }));
        if (weighted > 0) want = std::min(want, weighted);
    }
    // Insertion sort: stable, and unlike std::stable_sort it never allocates (n ≤ 64).
    auto sort_by_key = [&] {
        for (std::size_t i = 1; i < n; ++i) {
            const Candidate moving = candidates[i];
            std::size_t j = i;
            for (; j > 0 && moving.key < candidates[j - 1].key; --j) candidates[j] = candidates[j - 1];
            candidates[j] = moving;
        }
    };

    switch (route.strategy) {
    case Strategy::failover:
    case Strategy::all: break;  // route order
    case Strategy::weighted:
    case Strategy::adaptive: {
        // Without replacement: each pick removes the winner and draws again over the rest.
        for (std::size_t i = 0; i < want; ++i) {
            uint64_t total = 0;
            for (std::size_t j = i; j < n; ++j) total += candidates[j].weight;
            uint64_t draw = random_->below(total);
            std::size_t pick = i;
            for (std::size_t j = i; j < n; ++j) {
                if (draw < candidates[j].weight) {
                    pick = j;
                    break;
                }
                draw -= candidates[j].weight;
            }
            std::swap(candidates[i], candidates[pick]);
        }
        break;
    }
    case Strategy::sticky: {
        const unsigned width = client_.address.width();
        const unsigned limit = client_.address.family == 4 ? kStickyPrefixV4 : kStickyPrefixV6;
        const auto prefix = std::min<unsigned>({client_.source_prefix, limit, width});
        note_scope(prefix);
        // Weighted rendezvous: the smallest −ln(u)/weight wins; weights and health unchanged →
        // the same winner for the same prefix.
        for (std::size_t i = 0; i < n; ++i) {
            const uint64_t h = sticky_hash(client_.address, prefix,
                                           hash_region_name(policy_.regions[candidates[i].region].name));
            const double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;  // (0,1)
            candidates[i].key = candidates[i].weight == 0 ? HUGE_VAL
                                                          : -std::log(u) / static_cast<double>(candidates[i].weight);
        }
        sort_by_key();
        break;
    }
    case Strategy::nearest: {
        const geo::Facts& facts = locator_.facts();
        note_scope(facts.prefix_length);
        if (!facts.has_location) {
            say("client location unknown: nearest falls back to the route's order");
            break;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const Region& region = policy_.regions[candidates[i].region];
            const double km = region.has_location ? geo::great_circle_km(facts.latitude, facts.longitude,
                                                                         region.latitude, region.longitude)
                                                  : HUGE_VAL;
            candidates[i].key = km * (1.0 - region.bias / 100.0);
            if (trace_ != nullptr) {
                char line[160];
                std::snprintf(line, sizeof line, "distance to %s: %.0f km, bias %+.0f%% → %.0f", region.name.c_str(),
                              km, region.bias, candidates[i].key);
                say(line);
            }
        }
        sort_by_key();
        break;
    }
    case Strategy::cost: {
        // Cheapest first; a region whose commit is used up after every one with room, still by
        // price. Capacity and shed load spill down this order (admit(), below); a route's
        // max_latency has already left out the regions too slow for it.
        // Used-up regions are ranked above the dearest one, in the same scale, so their prices
        // still order them (an offset far larger would swallow the prices in rounding).
        double dearest = 0;
        for (std::size_t i = 0; i < n; ++i)
            dearest = std::max(dearest, policy_.regions[candidates[i].region].cost_per_answer());
        for (std::size_t i = 0; i < n; ++i) {
            const Region& region = policy_.regions[candidates[i].region];
            const bool is_used = feedback_of(candidates[i].region).is_commit_used;
            candidates[i].key = region.cost_per_answer() + (is_used ? dearest + 1.0 : 0.0);
            if (trace_ != nullptr) {
                char line[160];
                std::snprintf(line, sizeof line, "cost of %s: %.6g per answer%s", region.name.c_str(),
                              region.cost_per_answer(), is_used ? ", commit used up: after the others" : "");
                say(line);
            }
        }
        sort_by_key();
        break;
    }
    case Strategy::latency:
    case Strategy::performance:
    case Strategy::least_loaded: {
        // Regions without the measurement go last, in route order.
        for (std::size_t i = 0; i < n; ++i) {
            const health::RegionHealth& h = candidates[i].health;
            double key = HUGE_VAL;
            if (route.strategy == Strategy::latency && h.has_measurement) {
                key = h.latency_ms;
            } else if (route.strategy == Strategy::performance && h.has_measurement) {
                key = h.latency_ms + (1.0 - h.success_permille / 1000.0) * kRetryCostMs;
            } else if (route.strategy == Strategy::least_loaded && h.has_load) {
                key = h.load_centi / 100.0;
            }
            candidates[i].key = key;
        }
        sort_by_key();
        break;
    }
    }
    if (!is_weighted) {
        const std::size_t taken = admit(c, n);
        if (route.strategy == Strategy::all && taken > 0) want = std::min(want, taken);
    }
    for (std::size_t i = 0; i < want; ++i) {
        d->regions[d->count++] = candidates[i].region;
        // An address left out of the region's answer shortens the TTL like a region left out.
        d->is_pruned = d->is_pruned || candidates[i].health.is_member_pruned(is_ipv6_);
    }
}

Decision Decider::decide(const SteeredName& name, uint16_t qtype) noexcept {
    is_ipv6_ = qtype == dns::rrtype::AAAA;
    Decision decision;
    if (trace_ != nullptr) {
        say_with([&] {
            return std::string("client ") + geo::to_string(client_.address) + "/" +
                   std::to_string(client_.source_prefix) +
                   (client_.is_from_ecs ? " from ECS" : " from the packet source");
        });
    }
    CandidateRoom room;
    Candidates& found = room.slots;
    int first_matched = -1;
    for (std::size_t i = 0; i < name.routes.size(); ++i) {
        const Route& route = name.routes[i];
        if (!matches(route.when)) {
            say_with([&] {
                return "route " + std::to_string(i + 1) + " (line " + std::to_string(route.where.line) + "): no match";
            });
            continue;
        }
        say_with([&] {
            return "route " + std::to_string(i + 1) + " (line " + std::to_string(route.where.line) +
                   "): matched, strategy " + to_string(route.strategy);
        });
        if (first_matched < 0) first_matched = static_cast<int>(i);
        const std::size_t n = candidates(name, route, qtype, /*apply_health=*/true, &found, &decision.is_pruned);
        if (n == 0) {
            // Nothing fit to answer here: the next matching route may have (health-aware fallback).
            say_with([&] { return "route " + std::to_string(i + 1) + ": no candidate left, trying the next route"; });
            continue;
        }
        decision.route = static_cast<int>(i);
        const uint8_t answers = route.strategy == Strategy::all ? static_cast<uint8_t>(kMaxAnswers) : name.answers;
        choose(route, &found, n, answers, &decision);
        break;
    }
    if (decision.route < 0 && first_matched >= 0) {
        decision.is_pruned = true;
        switch (name.fail) {
        case FailPolicy::open: {
            // Every candidate is down: answering with all of them beats answering with none.
            say_with(
                [&] { return "every candidate is down: fail open with route " + std::to_string(first_matched + 1); });
            const Route& route = name.routes[static_cast<std::size_t>(first_matched)];
            bool ignored = false;
            const std::size_t n = candidates(name, route, qtype, /*apply_health=*/false, &found, &ignored);
            const uint8_t answers = route.strategy == Strategy::all ? static_cast<uint8_t>(kMaxAnswers) : name.answers;
            choose(route, &found, n, answers, &decision);
            decision.route = first_matched;
            break;
        }
        case FailPolicy::closed: say("every candidate is down: fail closed (NODATA)"); break;
        case FailPolicy::region:
            say_with([&] {
                return "every candidate is down: the fallback region " + policy_.regions[name.fail_region].name;
            });
            if (policy_.regions[name.fail_region].answers(qtype)) decision.regions[decision.count++] = name.fail_region;
            break;
        case FailPolicy::cname:
            say("every candidate is down: the fallback CNAME");
            decision.cname = &name.fail_cname;
            break;
        }
    }
    decision.ttl = decision.is_pruned ? name.pruned_ttl : name.ttl;
    if (trace_ != nullptr && locator_.was_used()) {
        const geo::Facts& f = locator_.facts();
        char place[64] = "unknown";
        if (f.has_location) {
            std::snprintf(place, sizeof place, "%.4f,%.4f%s", f.latitude, f.longitude,
                          f.is_location_from_country ? " (the country's capital)" : "");
        }
        char line[200];
        std::snprintf(line, sizeof line,
                      "location continent=%s country=%s subdivision=%s asn=%u coordinates=%s prefix=/%u%s",
                      f.continent.empty() ? "-" : std::string(f.continent.view()).c_str(),
                      f.country.empty() ? "-" : std::string(f.country.view()).c_str(),
                      f.subdivision.empty() ? "-" : std::string(f.subdivision.view()).c_str(), f.asn, place,
                      f.prefix_length, f.is_found ? "" : " (not in any database)");
        trace_->lines.insert(trace_->lines.begin() + 1, line);
    }
    decision.scope_prefix = static_cast<uint8_t>(scope_);
    if (trace_ != nullptr) {
        std::string chosen;
        for (uint8_t i = 0; i < decision.count; ++i)
            chosen += (i ? ", " : "") + policy_.regions[decision.regions[i]].name;
        if (decision.cname != nullptr) chosen = "CNAME " + dns::name_to_text(*decision.cname);
        say_with([&] {
            return "answer " + (chosen.empty() ? std::string("none (NODATA)") : chosen) + ", ttl " +
                   std::to_string(decision.ttl) + (decision.is_pruned ? " (pruned)" : "") + ", scope /" +
                   std::to_string(decision.scope_prefix);
        });
    }
    return decision;
}

}  // namespace

Decision decide(const Policy& policy, Boards boards, const SteeredName& name, uint16_t qtype,
                const ClientAddress& client, const geo::GeoDatabases* databases, Random* random,
                Trace* trace) noexcept {
    Decider decider(policy, boards, client, databases, random, trace);
    Decision decision = decider.decide(name, qtype);
    decider.note_location(&decision);
    return decision;
}

}  // namespace meridian::steer

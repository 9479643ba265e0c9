#include "config/policy_reader.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "steer/policy_check.hpp"

namespace meridian::config {

namespace {

class PolicyReader {
public:
    PolicyReader(TableReader& root, const NameResolver& resolve, steer::Policy* policy)
        : root_(root), resolve_(resolve), policy_(*policy), diagnostics_(root.diagnostics()) {}

    void read();

private:
    void read_region(const std::string& name, const toml::table& table);
    void read_cidr_set(const std::string& name, const toml::node& node);
    void read_location_set(const std::string& name, const toml::table& table);
    void read_name(const std::string& key, const toml::table& table, const toml::key& where);
    void read_route(steer::SteeredName* name, const toml::table& table, steer::Strategy default_strategy);
    void read_condition(const toml::table& when, steer::Condition* condition);

    // A string or an array of strings, each with its location.
    std::vector<std::pair<std::string, SourceLocation>> strings(const toml::node& node, const std::string& what);
    bool read_code(const std::string& text, const SourceLocation& where, std::size_t size, const char* what);
    void error(const SourceLocation& where, std::string message) { diagnostics_->error(where, std::move(message)); }
    SourceLocation where(const toml::node& n) const { return root_.where(n); }
    uint32_t find_region(const std::string& name) const;

    TableReader& root_;
    const NameResolver& resolve_;
    steer::Policy& policy_;
    Diagnostics* diagnostics_;
    std::map<std::string, uint32_t> cidr_set_index_;
    std::map<std::string, uint32_t> location_set_index_;
};

constexpr uint32_t kNotFound = UINT32_MAX;
constexpr std::size_t kMaxTargets = 64;

uint32_t PolicyReader::find_region(const std::string& name) const {
    for (uint32_t i = 0; i < policy_.regions.size(); ++i) {
        if (policy_.regions[i].name == name) return i;
    }
    return kNotFound;
}

std::vector<std::pair<std::string, SourceLocation>> PolicyReader::strings(const toml::node& node, const std::string& what) {
    std::vector<std::pair<std::string, SourceLocation>> out;
    if (const auto* s = node.as_string()) {
        out.emplace_back(s->get(), where(node));
    } else if (const auto* array = node.as_array()) {
        for (const toml::node& element : *array) {
            if (const auto* e = element.as_string()) out.emplace_back(e->get(), where(element));
            else error(where(element), what + " must hold only strings");
        }
    } else {
        error(where(node), what + " must be a string or an array of strings");
    }
    return out;
}

bool PolicyReader::read_code(const std::string& text, const SourceLocation& at, std::size_t size, const char* what) {
    const bool ok = text.size() == size && std::all_of(text.begin(), text.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    if (!ok) error(at, "\"" + text + "\" is not a " + what);
    return ok;
}

void PolicyReader::read_region(const std::string& name, const toml::table& table) {
    TableReader reader(table, "[regions." + name + "]", root_.file(), diagnostics_);
    steer::Region region;
    region.name = name;
    for (const auto& [text, at] : reader.string_list("addresses")) {
        const auto address = geo::parse_address(text);
        if (!address) {
            error(at, "\"" + text + "\" is not an IPv4 or IPv6 address");
            continue;
        }
        if (address->family == 4) {
            std::array<uint8_t, 4> bytes;
            std::copy(address->bytes.begin(), address->bytes.begin() + 4, bytes.begin());
            region.ipv4.push_back(bytes);
        } else {
            region.ipv6.push_back(address->bytes);
        }
    }
    if (const auto cname = reader.string("cname")) {
        if (const auto wire = resolve_(*cname)) region.cname = *wire;
        else reader.error(*reader.node("cname"), "cname \"" + *cname + "\" is not a valid domain name");
        if (!region.ipv4.empty() || !region.ipv6.empty()) {
            reader.error(*reader.node("cname"), "region " + name + " has both addresses and a cname; give one");
        }
    }
    if (region.cname.empty() && region.ipv4.empty() && region.ipv6.empty() && reader.node("cname") == nullptr) {
        error(reader.where(), "region " + name + " has no records: give \"addresses\" or \"cname\"");
    }
    if (const toml::node* location = reader.node("location")) {
        const auto* array = location->as_array();
        const bool ok = array != nullptr && array->size() == 2 && (*array)[0].is_number() && (*array)[1].is_number();
        if (!ok) {
            reader.error(*location, "location must be [latitude, longitude] in degrees");
        } else {
            region.latitude = (*array)[0].value<double>().value_or(0);
            region.longitude = (*array)[1].value<double>().value_or(0);
            if (region.latitude < -90 || region.latitude > 90 || region.longitude < -180 || region.longitude > 180) {
                reader.error(*location, "location out of range: latitude −90…90, longitude −180…180");
            } else {
                region.has_location = true;
            }
        }
    }
    region.weight = static_cast<uint32_t>(reader.integer("weight", 0, 1000000).value_or(1));
    region.bias = static_cast<double>(reader.integer("bias", -99, 99).value_or(0));
    reader.node("check");  // health checks arrive with the health subsystem
    reader.finish();
    policy_.regions.push_back(std::move(region));
}

void PolicyReader::read_cidr_set(const std::string& name, const toml::node& node) {
    steer::CidrSet set;
    set.name = name;
    for (const auto& [text, at] : strings(node, "[cidrs] " + name)) {
        const auto network = geo::parse_network(text, /*is_strict=*/true);
        if (!network) {
            error(at, "\"" + text + "\" is not a network (ADDRESS/LENGTH with no bits set past LENGTH)");
            continue;
        }
        set.networks.push_back(*network);
    }
    cidr_set_index_[name] = static_cast<uint32_t>(policy_.cidr_sets.size());
    policy_.cidr_sets.push_back(std::move(set));
}

void PolicyReader::read_location_set(const std::string& name, const toml::table& table) {
    TableReader reader(table, "[locations." + name + "]", root_.file(), diagnostics_);
    steer::LocationSet set;
    set.name = name;
    steer::Condition parts;
    // A set's lists read like a route's conditions, one part at a time.
    static const std::pair<const char*, const char*> kParts[] = {
        {"continents", "continent"}, {"countries", "country"}, {"subdivisions", "subdivision"}, {"asns", "asn"}};
    for (const auto& [plural, singular] : kParts) {
        if (const toml::node* n = reader.node(plural)) {
            toml::table one;
            one.insert(singular, *n);
            read_condition(one, &parts);
        }
    }
    set.continents = parts.continents;
    set.countries = parts.countries;
    set.subdivisions = parts.subdivisions;
    set.asns = parts.asns;
    reader.finish();
    location_set_index_[name] = static_cast<uint32_t>(policy_.location_sets.size());
    policy_.location_sets.push_back(std::move(set));
}

void PolicyReader::read_condition(const toml::table& when, steer::Condition* c) {
    TableReader reader(when, "when", root_.file(), diagnostics_);
    if (const toml::node* n = reader.node("continent")) {
        for (const auto& [text, at] : strings(*n, "continent")) {
            static const std::vector<std::string> kContinents{"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
            geo::Code<2> code;
            code.assign(text);
            if (std::find(kContinents.begin(), kContinents.end(), std::string(code.view())) == kContinents.end() ||
                text.size() != 2) {
                error(at, "\"" + text + "\" is not a continent code (AF AN AS EU NA OC SA)");
                continue;
            }
            c->continents.push_back(code);
        }
    }
    if (const toml::node* n = reader.node("country")) {
        for (const auto& [text, at] : strings(*n, "country")) {
            if (!read_code(text, at, 2, "ISO 3166-1 alpha-2 country code")) continue;
            geo::Code<2> code;
            code.assign(text);
            c->countries.push_back(code);
        }
    }
    if (const toml::node* n = reader.node("subdivision")) {
        for (const auto& [text, at] : strings(*n, "subdivision")) {
            const auto dash = text.find('-');
            if (dash != 2 || text.size() < 4 || text.size() > 6) {
                error(at, "\"" + text + "\" is not an ISO 3166-2 subdivision such as \"US-CA\"");
                continue;
            }
            steer::Subdivision s;
            s.country.assign(text.substr(0, 2));
            s.code.assign(text.substr(3));
            c->subdivisions.push_back(s);
        }
    }
    if (const toml::node* n = reader.node("asn")) {
        auto add = [&](const toml::node& v) {
            const auto value = v.value<int64_t>();
            if (!v.is_integer() || !value || *value <= 0 || *value > UINT32_MAX) {
                error(where(v), "an ASN must be an integer from 1 to 4294967295");
                return;
            }
            c->asns.push_back(static_cast<uint32_t>(*value));
        };
        if (const auto* array = n->as_array()) {
            for (const toml::node& v : *array) add(v);
        } else {
            add(*n);
        }
    }
    if (const toml::node* n = reader.node("cidr")) {
        steer::CidrSet inline_set;
        for (const auto& [text, at] : strings(*n, "cidr")) {
            if (text.find('/') != std::string::npos || geo::parse_address(text)) {
                const auto network = geo::parse_network(text, /*is_strict=*/true);
                if (!network) error(at, "\"" + text + "\" is not a network (ADDRESS/LENGTH with no bits set past LENGTH)");
                else inline_set.networks.push_back(*network);
                continue;
            }
            const auto it = cidr_set_index_.find(text);
            if (it == cidr_set_index_.end()) error(at, "unknown CIDR set \"" + text + "\" (define it under [cidrs])");
            else c->cidr_sets.push_back(it->second);
        }
        if (!inline_set.networks.empty()) {
            c->cidr_sets.push_back(static_cast<uint32_t>(policy_.cidr_sets.size()));
            policy_.cidr_sets.push_back(std::move(inline_set));
        }
    }
    if (const toml::node* n = reader.node("location")) {
        for (const auto& [text, at] : strings(*n, "location")) {
            const auto it = location_set_index_.find(text);
            if (it == location_set_index_.end()) error(at, "unknown location set \"" + text + "\" (define it under [locations])");
            else c->location_sets.push_back(it->second);
        }
    }
    reader.finish();
}

void PolicyReader::read_route(steer::SteeredName* name, const toml::table& table, steer::Strategy default_strategy) {
    TableReader reader(table, "route", root_.file(), diagnostics_);
    steer::Route route;
    route.where = reader.where();
    route.strategy = default_strategy;
    if (const toml::table* when = reader.table("when")) read_condition(*when, &route.when);
    std::map<std::string, uint32_t> weights;
    if (const toml::table* w = reader.table("weights")) {
        for (const auto& [key, value] : *w) {
            const std::string region(key.str());
            const auto v = value.value<int64_t>();
            if (find_region(region) == kNotFound) error(location_of(root_.file(), key.source()), "unknown region \"" + region + "\" in weights");
            else if (!value.is_integer() || !v || *v < 0 || *v > 1000000) error(where(value), "a weight is an integer from 0 to 1000000");
            else weights[region] = static_cast<uint32_t>(*v);
        }
    }
    if (const toml::node* to = reader.node("to")) {
        for (const auto& [text, at] : strings(*to, "to")) {
            const uint32_t region = find_region(text);
            if (region == kNotFound) {
                error(at, "unknown region \"" + text + "\"");
                continue;
            }
            const auto w = weights.find(text);
            route.targets.push_back({region, w != weights.end() ? w->second : policy_.regions[region].weight});
        }
    } else {
        // No "to": every region of the zone, in the order they are defined.
        for (uint32_t i = 0; i < policy_.regions.size(); ++i) {
            const auto w = weights.find(policy_.regions[i].name);
            route.targets.push_back({i, w != weights.end() ? w->second : policy_.regions[i].weight});
        }
    }
    for (const auto& [region, weight] : weights) {
        const bool is_target = std::any_of(route.targets.begin(), route.targets.end(),
                                           [&](const steer::Target& t) { return policy_.regions[t.region].name == region; });
        if (!is_target) error(reader.where(*reader.node("weights")), "weights name region \"" + region + "\", which is not in \"to\"");
    }
    if (route.targets.size() > kMaxTargets) error(route.where, "a route may name at most 64 regions");
    if (const auto strategy = reader.string("strategy")) {
        if (!steer::parse_strategy(*strategy, &route.strategy)) {
            reader.error(*reader.node("strategy"), "unknown strategy \"" + *strategy + "\" (weighted, failover, nearest, all, sticky)");
        }
    }
    reader.finish();
    name->routes.push_back(std::move(route));
}

void PolicyReader::read_name(const std::string& key, const toml::table& table, const toml::key& key_node) {
    TableReader reader(table, "[names." + key + "]", root_.file(), diagnostics_);
    steer::SteeredName name;
    name.where = location_of(root_.file(), key_node.source());
    if (const auto wire = resolve_(key)) name.owner = *wire;
    else error(name.where, "\"" + key + "\" is not a valid domain name");
    name.ttl = static_cast<uint32_t>(reader.integer("ttl", 0, INT32_MAX).value_or(60));
    name.answers = static_cast<uint8_t>(reader.integer("answers", 1, steer::kMaxAnswers).value_or(1));
    steer::Strategy strategy = steer::Strategy::weighted;
    if (const auto text = reader.string("strategy")) {
        if (!steer::parse_strategy(*text, &strategy)) {
            reader.error(*reader.node("strategy"), "unknown strategy \"" + *text + "\" (weighted, failover, nearest, all, sticky)");
        }
    }
    const toml::node* routes = reader.node("route");
    if (routes == nullptr || routes->as_array() == nullptr || routes->as_array()->empty()) {
        error(name.where, "steered name " + key + " has no [[names." + key + ".route]]");
    } else {
        for (const toml::node& route : *routes->as_array()) {
            if (const auto* t = route.as_table()) read_route(&name, *t, strategy);
            else error(where(route), "each route must be a table");
        }
    }
    reader.finish();
    policy_.names.push_back(std::move(name));
}

// toml++ keeps a table's keys sorted; the file's order is the one operators mean (a route
// without "to" lists the regions as written), so entries are visited by position.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table) {
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [key, value] : table) entries.emplace_back(&key, &value);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& x = a.first->source().begin;
        const auto& y = b.first->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    return entries;
}

void PolicyReader::read() {
    policy_.use_ecs = root_.boolean("ecs").value_or(true);
    if (const toml::table* regions = root_.table("regions")) {
        for (const auto& [key, value] : in_file_order(*regions)) {
            if (const auto* t = value->as_table()) read_region(std::string(key->str()), *t);
            else error(where(*value), "[regions." + std::string(key->str()) + "] must be a table");
        }
    }
    if (const toml::table* cidrs = root_.table("cidrs")) {
        for (const auto& [key, value] : *cidrs) read_cidr_set(std::string(key.str()), value);
    }
    if (const toml::table* locations = root_.table("locations")) {
        for (const auto& [key, value] : *locations) {
            if (const auto* t = value.as_table()) read_location_set(std::string(key.str()), *t);
            else error(where(value), "[locations." + std::string(key.str()) + "] must be a table");
        }
    }
    if (const toml::table* names = root_.table("names")) {
        for (const auto& [key, value] : in_file_order(*names)) {
            if (const auto* t = value->as_table()) read_name(std::string(key->str()), *t, *key);
            else error(where(*value), "[names." + std::string(key->str()) + "] must be a table");
        }
    }
    steer::check_policy(policy_, diagnostics_);
}

}  // namespace

void read_policy(TableReader& root, const NameResolver& resolve, steer::Policy* policy) {
    PolicyReader(root, resolve, policy).read();
}

}  // namespace meridian::config

#include "config/policy_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "geo/database.hpp"
#include "health/promql_template.hpp"
#include "steer/policy_check.hpp"

namespace meridian::config {

namespace {

// An adaptive route's band: a latency ("20ms", "1s") or a percentage above the best ("15%").
bool parse_band(const std::string& text, steer::Route* route) {
    if (!text.empty() && text.back() == '%') {
        const std::string digits = text.substr(0, text.size() - 1);
        if (digits.empty() || digits.size() > 4 ||
            !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
            return false;
        const int percent = std::stoi(digits);
        if (percent > 1000) return false;
        route->band_percent = static_cast<uint32_t>(percent);
        route->band_ms = 0;
        return true;
    }
    const auto ms = parse_duration_ms(text);
    if (!ms || *ms > 10000) return false;
    route->band_ms = static_cast<uint32_t>(*ms);
    route->band_percent = 0;
    return true;
}

// shed = { low = N, high = N }: numbers in the unit of the load the region's check reports.
void read_shed(const toml::node& node, steer::Region* region, TableReader& reader) {
    const auto* table = node.as_table();
    const auto number = [&](const char* key) -> std::optional<double> {
        if (table == nullptr) return std::nullopt;
        const toml::node* n = table->get(key);
        if (n == nullptr || !n->is_number()) return std::nullopt;
        return n->value<double>();
    };
    const auto low = number("low");
    const auto high = number("high");
    if (table == nullptr || table->size() != 2 || !low || !high) {
        reader.error(node, "shed must be { low = N, high = N }: numbers, in the unit of the reported load");
        return;
    }
    if (*low < 0 || *high <= *low) {
        reader.error(node, "shed needs 0 ≤ low < high");
        return;
    }
    region->has_shed = true;
    region->shed_low = *low;
    region->shed_high = *high;
}

class PolicyReader {
public:
    PolicyReader(TableReader& root, const NameResolver& resolve, std::string base_dir, steer::Policy* policy,
                 health::CheckPlan* checks)
        : root_(root), resolve_(resolve), base_dir_(std::move(base_dir)), policy_(*policy), checks_(*checks),
          diagnostics_(root.diagnostics()) {}

    void read();

private:
    void read_check(const std::string& name, const toml::table& table);
    void read_region(const std::string& name, const toml::table& table);
    void read_min_healthy(TableReader& reader, health::CheckSpec* check);
    void read_cost(TableReader& reader, steer::Region* region);
    void read_members(const std::string& region, const toml::table& table, health::RegionCheck* probe);
    void read_cidr_set(const std::string& name, const toml::node& node);
    void read_location_set(const std::string& name, const toml::table& table);
    void read_name(const std::string& key, const toml::table& table, const toml::key& where);
    void read_route(steer::SteeredName* name, const toml::table& table, steer::Strategy default_strategy);
    void read_condition(const toml::table& when, steer::Condition* condition);
    void read_condition_part(const std::string& key, const toml::node& value, steer::Condition* condition);

    // A string or an array of strings, each with its location.
    std::vector<std::pair<std::string, SourceLocation>> strings(const toml::node& node, const std::string& what);
    bool read_code(const std::string& text, const SourceLocation& where, std::size_t size, const char* what);
    void error(const SourceLocation& where, std::string message) { diagnostics_->error(where, std::move(message)); }
    SourceLocation where(const toml::node& n) const { return root_.where(n); }
    uint32_t find_region(const std::string& name) const;

    TableReader& root_;
    const NameResolver& resolve_;
    std::string base_dir_;
    steer::Policy& policy_;
    health::CheckPlan& checks_;
    Diagnostics* diagnostics_;
    std::map<std::string, uint32_t> cidr_set_index_;
    std::map<std::string, uint32_t> location_set_index_;
};

constexpr uint32_t kNotFound = UINT32_MAX;

consteval const Setting& check_setting(std::string_view key) { return zone_setting("[checks.NAME]", key); }
consteval const Setting& region_setting(std::string_view key) { return zone_setting("[regions.NAME]", key); }
consteval const Setting& members_setting(std::string_view key) { return zone_setting("[regions.NAME.members]", key); }
consteval const Setting& name_setting(std::string_view key) { return zone_setting("[names.NAME]", key); }
consteval const Setting& route_setting(std::string_view key) { return zone_setting("[[names.NAME.route]]", key); }

// The choices a schema row lists and the values they stand for; a unit test keeps the two the same.
bool parse_check_kind(std::string_view text, health::CheckKind* out) {
    for (const auto kind :
         {health::CheckKind::none, health::CheckKind::tcp, health::CheckKind::http, health::CheckKind::https,
          health::CheckKind::dns, health::CheckKind::file, health::CheckKind::prometheus}) {
        if (text == health::to_string(kind)) {
            *out = kind;
            return true;
        }
    }
    return false;
}

uint32_t PolicyReader::find_region(const std::string& name) const {
    const int32_t index = policy_.find_region(name);
    return index < 0 ? kNotFound : static_cast<uint32_t>(index);
}

std::vector<std::pair<std::string, SourceLocation>> PolicyReader::strings(const toml::node& node,
                                                                          const std::string& what) {
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
    const bool ok = text.size() == size && std::all_of(text.begin(), text.end(), [](char c) {
                        return std::isalpha(static_cast<unsigned char>(c));
                    });
    if (!ok) error(at, "\"" + text + "\" is not " + what);
    return ok;
}

void PolicyReader::read_check(const std::string& name, const toml::table& table) {
    TableReader reader(table, "[checks." + name + "]", root_.file(), diagnostics_);
    health::CheckSpec check;
    check.name = name;
    check.where = reader.where();
    reader.require(check_setting("kind"));
    if (std::string kind; reader.read(check_setting("kind"), &kind)) parse_check_kind(kind, &check.kind);
    reader.read(check_setting("interval"), &check.interval_ms);
    reader.read(check_setting("timeout"), &check.timeout_ms);
    reader.read(check_setting("jitter"), &check.jitter_ms);
    if (check.timeout_ms > check.interval_ms) {
        const toml::node* at = reader.node("timeout");
        error(at != nullptr ? where(*at) : check.where, "timeout (" + std::to_string(check.timeout_ms) +
                                                            " ms) is longer than the interval (" +
                                                            std::to_string(check.interval_ms) + " ms)");
    }
    if (check.jitter_ms * 2 > check.interval_ms)
        reader.error(*reader.node("jitter"), "jitter must be at most half the interval");
    health::Thresholds& t = check.thresholds;
    reader.read(check_setting("rise"), &t.rise);
    reader.read(check_setting("fall"), &t.fall);
    reader.read(check_setting("window"), &t.window);
    reader.read(check_setting("healthy_below"), &t.healthy_below_ms);
    reader.read(check_setting("degraded_below"), &t.degraded_below_ms);
    reader.read(check_setting("healthy_success"), &t.healthy_success);
    reader.read(check_setting("degraded_success"), &t.degraded_success);
    if (t.degraded_below_ms < t.healthy_below_ms) {
        error(check.where, "degraded_below (" + std::to_string(t.degraded_below_ms) +
                               " ms) must not be below healthy_below (" + std::to_string(t.healthy_below_ms) + " ms)");
    }
    if (std::string initial; reader.read(check_setting("initial"), &initial)) {
        check.initial = initial == "down"   ? health::InitialState::down
                        : initial == "wait" ? health::InitialState::wait
                                            : health::InitialState::up;
    }
    reader.read(check_setting("address"), &check.address);
    if (!check.address.empty() && !geo::parse_address(check.address)) {
        reader.error(*reader.node("address"), "\"" + check.address + "\" is not an IP address");
    }
    if (!reader.read(check_setting("port"), &check.port)) {
        check.port = check.kind == health::CheckKind::http    ? 80
                     : check.kind == health::CheckKind::https ? 443
                     : check.kind == health::CheckKind::dns   ? 53
                                                              : 0;
    }
    reader.read(check_setting("url"), &check.url);
    std::string path;
    const bool has_path = reader.read(check_setting("path"), &path);
    reader.read(check_setting("host"), &check.host);
    reader.read(check_setting("body_contains"), &check.body_contains);
    if (std::string field; reader.read(check_setting("load_field"), &field))
        check.load_field = geo::FieldPaths::parse(field);
    reader.read(check_setting("verify_tls"), &check.verify_tls);
    constexpr const Setting& expect_status = check_setting("expect_status");
    if (const toml::node* status = reader.node(expect_status)) {
        const auto* range = status->as_array();
        const auto is_status = [&](const toml::node& n) {
            const auto code = n.value<int64_t>();
            return n.is_integer() && code && *code >= expect_status.min && *code <= expect_status.max;
        };
        if (is_status(*status)) {
            check.status_min = check.status_max = static_cast<uint16_t>(*status->value<int64_t>());
        } else if (range != nullptr && range->size() == 2 && is_status((*range)[0]) && is_status((*range)[1]) &&
                   *(*range)[0].value<int64_t>() <= *(*range)[1].value<int64_t>()) {
            check.status_min = static_cast<uint16_t>(*(*range)[0].value<int64_t>());
            check.status_max = static_cast<uint16_t>(*(*range)[1].value<int64_t>());
        } else {
            reader.error(*status, "expect_status is a status code or [lowest, highest], each from " +
                                      std::to_string(expect_status.min) + " to " + std::to_string(expect_status.max));
        }
    }
    reader.read(check_setting("query"), &check.query_name);
    reader.read(check_setting("expect_rcode"), &check.expect_rcode);
    if (std::string file; reader.read(check_setting("file"), &file)) {
        std::filesystem::path p(file);
        if (p.is_relative()) p = std::filesystem::path(base_dir_) / p;
        check.file_path = p.lexically_normal().string();
    }
    reader.read(check_setting("promql"), &check.promql);
    if (std::string measure; reader.read(check_setting("measure"), &measure)) {
        using Measure = health::CheckSpec::Measure;
        check.measure = measure == "success" ? Measure::success : measure == "load" ? Measure::load : Measure::latency;
    }
    reader.read(check_setting("max_age"), &check.max_age_ms);
    reader.read(check_setting("per_address"), &check.per_address);
    read_min_healthy(reader, &check);
    switch (check.kind) {
    case health::CheckKind::http:
    case health::CheckKind::https:
        if (check.url.empty() && !has_path)
            error(check.where, "an " + std::string(health::to_string(check.kind)) + " check needs \"url\" or \"path\"");
        if (has_path) check.path = path;
        break;
    case health::CheckKind::tcp:
        if (check.port == 0) error(check.where, "a tcp check needs \"port\"");
        break;
    case health::CheckKind::dns:
        if (check.query_name.empty()) error(check.where, "a dns check needs \"query\" (the name to ask for)");
        break;
    case health::CheckKind::file:
        if (check.file_path.empty()) error(check.where, "a file check needs \"file\" (the state file to watch)");
        break;
    case health::CheckKind::prometheus:
        if (check.url.rfind("http://", 0) != 0 && check.url.rfind("https://", 0) != 0)
            error(check.where, "a prometheus check needs \"url\": the Prometheus server's http:// or https:// URL");
        if (check.promql.empty()) error(check.where, "a prometheus check needs \"promql\" (the query, per region)");
        break;
    case health::CheckKind::none: break;
    }
    if (check.per_address) {
        const bool probes_address = check.kind != health::CheckKind::none && check.kind != health::CheckKind::file &&
                                    check.kind != health::CheckKind::prometheus;
        const toml::node* at = reader.node("per_address");
        if (!probes_address)
            error(where(*at), "per_address needs a check that probes an address (tcp, http, https, dns), not " +
                                  std::string(health::to_string(check.kind)));
        else if (!check.url.empty() || !check.address.empty())
            error(where(*at),
                  "per_address probes each address of the region: give \"path\", not \"url\" or "
                  "\"address\"");
    } else if (const toml::node* at = reader.node("min_healthy")) {
        error(where(*at), "min_healthy counts addresses probed one by one: it needs per_address = true");
    }
    reader.finish();
    checks_.checks.push_back(std::move(check));
}

// [regions.NAME.members]: a feed and the rules members from it and from pushes follow.
void PolicyReader::read_members(const std::string& region, const toml::table& table, health::RegionCheck* probe) {
    TableReader reader(table, "[regions." + region + ".members]", root_.file(), diagnostics_);
    health::MemberRules& rules = probe->member_rules;
    reader.read(members_setting("max_members"), &rules.max_members);
    reader.read(members_setting("allow_empty"), &rules.allow_empty);
    if (std::string family; reader.read(members_setting("family"), &family)) {
        rules.family = family == "ipv4"   ? health::AddressFamily::ipv4
                       : family == "ipv6" ? health::AddressFamily::ipv6
                                          : health::AddressFamily::any;
    }
    health::MemberFeed& feed = probe->feed;
    reader.read(members_setting("interval"), &feed.interval_ms);
    reader.read(members_setting("timeout"), &feed.timeout_ms);
    if (std::string source; reader.read(members_setting("feed"), &source) && !source.empty()) {
        if (source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0) {
            feed.url = source;
        } else if (source.find("://") != std::string::npos) {
            reader.error(*reader.node("feed"), "feed \"" + source + "\": a URL must be http:// or https://");
        } else {
            std::filesystem::path p(source);
            if (p.is_relative()) p = std::filesystem::path(base_dir_) / p;
            feed.path = p.lexically_normal().string();
        }
    }
    // A request must end before the next is due; the default timeout yields to a shorter interval.
    if (const toml::node* at = reader.node("timeout"); at != nullptr && feed.timeout_ms > feed.interval_ms)
        reader.error(*at, "timeout must not be longer than the interval");
    feed.timeout_ms = std::min(feed.timeout_ms, feed.interval_ms);
    reader.finish();
}

// A region's cost, its unit and commit (strategy cost).
void PolicyReader::read_cost(TableReader& reader, steer::Region* region) {
    const auto number = [&](const Setting& row, double* out, bool is_positive) {
        const toml::node* n = reader.node(row);
        if (n == nullptr) return false;
        const auto value = n->is_number() ? n->value<double>() : std::nullopt;
        if (!value || !std::isfinite(*value) || *value < 0 || (is_positive && *value == 0)) {
            reader.error(*n, std::string(row.key) + " must be a number " + (is_positive ? "> 0" : "≥ 0"));
            return false;
        }
        *out = *value;
        return true;
    };
    region->has_cost = number(region_setting("cost"), &region->cost, false);
    if (std::string unit; reader.read(region_setting("cost_unit"), &unit)) {
        region->cost_unit = unit == "answer" ? steer::CostUnit::answer
                            : unit == "gb"   ? steer::CostUnit::gb
                                             : steer::CostUnit::rank;
    }
    const bool has_gb = number(region_setting("gb_per_answer"), &region->gb_per_answer, true);
    number(region_setting("commit"), &region->commit, false);
    reader.read(region_setting("commit_period"), &region->commit_period_ms);
    if (region->cost_unit == steer::CostUnit::gb && !has_gb && reader.node("cost_unit") != nullptr) {
        reader.error(*reader.node("cost_unit"),
                     "cost_unit = \"gb\" needs gb_per_answer: the traffic one answer leads to, in GB");
    }
    for (const char* key : {"cost_unit", "gb_per_answer", "commit", "commit_period"}) {
        if (const toml::node* n = reader.node(key); n != nullptr && !region->has_cost)
            reader.error(*n, std::string(key) + " goes with a cost: give the region a \"cost\"");
    }
}

// An integer (a count of addresses) or a number between 0 and 1 (a share of them).
void PolicyReader::read_min_healthy(TableReader& reader, health::CheckSpec* check) {
    constexpr const Setting& row = check_setting("min_healthy");
    const toml::node* node = reader.node(row);
    if (node == nullptr) return;
    if (node->is_integer()) {
        const int64_t count = *node->value<int64_t>();
        if (count >= row.min && count <= row.max) {
            check->min_healthy = static_cast<uint32_t>(count);
            return;
        }
    } else if (node->is_floating_point()) {
        const double share = *node->value<double>();
        if (share > 0 && share < 1) {
            check->min_healthy_fraction = share;
            return;
        }
    }
    reader.error(*node, "min_healthy is a count of addresses (" + std::to_string(row.min) + " … " +
                            std::to_string(row.max) + ") or a share of them (a number between 0 and 1, such as 0.5)");
}

void PolicyReader::read_region(const std::string& name, const toml::table& table) {
    TableReader reader(table, "[regions." + name + "]", root_.file(), diagnostics_);
    steer::Region region;
    region.name = name;
    for (const auto& [text, at] : reader.string_list(region_setting("addresses"))) {
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
    if (std::string cname; reader.read(region_setting("cname"), &cname)) {
        if (const auto wire = resolve_(cname)) region.cname = *wire;
        else reader.error(*reader.node("cname"), "cname \"" + cname + "\" is not a valid domain name");
        if (!region.ipv4.empty() || !region.ipv6.empty()) {
            reader.error(*reader.node("cname"), "region " + name + " has both addresses and a cname; give one");
        }
    }
    health::RegionCheck probe;
    probe.region = name;
    if (const toml::node* members = reader.node(region_setting("members"))) {
        if (const toml::table* t = members->as_table()) read_members(name, *t, &probe);
        else reader.error(*members, "members must be a table: [regions." + name + ".members]");
        if (!region.cname.empty())
            reader.error(*members, "region " + name + " is a CNAME region: it has no addresses to take members for");
    }
    // A region fed its members may start with none: the feed (or the members kept from it) fills it.
    if (region.cname.empty() && region.ipv4.empty() && region.ipv6.empty() && reader.node("cname") == nullptr &&
        !probe.feed.is_set()) {
        error(reader.where(), "region " + name + " has no records: give \"addresses\", \"cname\" or a member feed");
    }
    if (const toml::node* location = reader.node(region_setting("location"))) {
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
    reader.read(region_setting("weight"), &region.weight);
    reader.read(region_setting("capacity"), &region.capacity);
    if (const toml::node* shed = reader.node(region_setting("shed"))) read_shed(*shed, &region, reader);
    int32_t bias = 0;
    reader.read(region_setting("bias"), &bias);
    region.bias = bias;
    if (std::string check; reader.read(region_setting("check"), &check)) {
        for (std::size_t i = 0; i < checks_.checks.size(); ++i) {
            if (checks_.checks[i].name == check) probe.check = static_cast<int32_t>(i);
        }
        if (probe.check < 0)
            reader.error(*reader.node("check"), "unknown check \"" + check + "\" (define it under [checks])");
    }
    read_cost(reader, &region);
    if (const toml::node* labels = reader.node(region_setting("labels"))) {
        const auto* pairs = labels->as_table();
        bool ok = pairs != nullptr;
        for (const auto& [key, value] : pairs != nullptr ? *pairs : toml::table{}) {
            if (!value.is_string()) ok = false;
            else probe.labels.emplace_back(std::string(key.str()), *value.value<std::string>());
        }
        if (!ok) reader.error(*labels, "labels must be a table of strings: { key = \"value\" }");
    }
    if (probe.check >= 0) {
        // A prometheus check's query must expand for this region: every {label:KEY} it names.
        const health::CheckSpec& spec = checks_.checks[static_cast<std::size_t>(probe.check)];
        std::string expanded, problem;
        if (spec.kind == health::CheckKind::prometheus &&
            !health::expand_promql(spec.promql, {"", name, probe.labels}, &expanded, &problem)) {
            reader.error(*reader.node("check"), "check \"" + spec.name + "\" for region " + name + ": " + problem);
        }
    }
    std::string check_address;
    if (std::string address; reader.read(region_setting("check_address"), &address)) {
        if (!geo::parse_address(address))
            reader.error(*reader.node("check_address"), "\"" + address + "\" is not an IP address");
        else check_address = address;
    }
    region.members.resize(region.ipv4.size() + region.ipv6.size());
    if (probe.check >= 0 && checks_.checks[static_cast<std::size_t>(probe.check)].per_address) {
        // Each address is probed where it is: nothing else to point the probes at.
        region.has_member_health = true;
        if (!region.cname.empty())
            reader.error(*reader.node("check"), "region " + name + " is a CNAME: a per_address check needs addresses");
        if (!check_address.empty())
            reader.error(*reader.node("check_address"),
                         "region " + name + " probes each address (per_address): check_address has no place here");
    } else if (probe.check >= 0) {
        // A probe needs somewhere to go: the check's address or URL, the region's check_address,
        // or the region's own first address (a CNAME region has none).
        const health::CheckSpec& spec = checks_.checks[static_cast<std::size_t>(probe.check)];
        probe.is_address_from_region = spec.address.empty() && check_address.empty();
        if (!spec.address.empty()) probe.address = spec.address;
        else if (!check_address.empty()) probe.address = check_address;
        else if (!region.ipv4.empty()) probe.address = geo::to_string(geo::IpAddress::v4(region.ipv4[0]));
        else if (!region.ipv6.empty()) probe.address = geo::to_string(geo::IpAddress::v6(region.ipv6[0]));
        const bool needs_target = spec.kind != health::CheckKind::none && spec.kind != health::CheckKind::file;
        if (needs_target && probe.address.empty() && spec.url.empty()) {
            reader.error(*reader.node("check"), "region " + name + " has no address for check \"" + spec.name +
                                                    "\" to probe: give the region a check_address");
        }
    }
    if (region.has_shed) {
        const health::CheckSpec* spec = probe.check < 0 ? nullptr
                                                        : &checks_.checks[static_cast<std::size_t>(probe.check)];
        const bool reports_load = spec != nullptr &&
                                  (!spec->load_field.empty() || spec->kind == health::CheckKind::file);
        if (!reports_load) {
            reader.error(*reader.node("shed"),
                         "shed needs a check that reports load (an http check with load_field, or a state file)");
        }
    }
    reader.finish();
    policy_.region_index.emplace(name, static_cast<uint32_t>(policy_.regions.size()));  // TOML keys are unique
    policy_.regions.push_back(std::move(region));
    checks_.regions.push_back(std::move(probe));
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
    const std::pair<const Setting&, const char*> parts_of_set[] = {
        {zone_setting("[locations.NAME]", "continents"), "continent"},
        {zone_setting("[locations.NAME]", "countries"), "country"},
        {zone_setting("[locations.NAME]", "subdivisions"), "subdivision"},
        {zone_setting("[locations.NAME]", "asns"), "asn"}};
    for (const auto& [row, singular] : parts_of_set) {
        if (const toml::node* n = reader.node(row)) read_condition_part(singular, *n, &parts);
    }
    set.continents = parts.continents;
    set.countries = parts.countries;
    set.subdivisions = parts.subdivisions;
    set.asns = parts.asns;
    reader.finish();
    location_set_index_[name] = static_cast<uint32_t>(policy_.location_sets.size());
    policy_.location_sets.push_back(std::move(set));
}

// One part of a condition ("continent", "country" …) from its node, keeping the node's position
// for errors. Route conditions and location sets both read their parts here.
void PolicyReader::read_condition_part(const std::string& key, const toml::node& value, steer::Condition* c) {
    const toml::node* n = &value;
    if (key == "continent") {
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
    } else if (key == "country") {
        for (const auto& [text, at] : strings(*n, "country")) {
            if (!read_code(text, at, 2, "an ISO 3166-1 alpha-2 country code")) continue;
            geo::Code<2> code;
            code.assign(text);
            c->countries.push_back(code);
        }
    } else if (key == "subdivision") {
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
    } else if (key == "asn") {
        constexpr const Setting& asn = zone_setting("[[names.NAME.route]] when", "asn");
        static_assert(asn.min == zone_setting("[locations.NAME]", "asns").min &&
                      asn.max == zone_setting("[locations.NAME]", "asns").max);
        auto add = [&](const toml::node& v) {
            const auto number = v.value<int64_t>();
            if (!v.is_integer() || !number || *number < asn.min || *number > asn.max) {
                error(where(v),
                      "an ASN must be an integer from " + std::to_string(asn.min) + " to " + std::to_string(asn.max));
                return;
            }
            c->asns.push_back(static_cast<uint32_t>(*number));
        };
        if (const auto* array = n->as_array()) {
            for (const toml::node& v : *array) add(v);
        } else {
            add(*n);
        }
    } else if (key == "cidr") {
        steer::CidrSet inline_set;
        for (const auto& [text, at] : strings(*n, "cidr")) {
            if (text.find('/') != std::string::npos || geo::parse_address(text)) {
                const auto network = geo::parse_network(text, /*is_strict=*/true);
                if (!network)
                    error(at, "\"" + text + "\" is not a network (ADDRESS/LENGTH with no bits set past LENGTH)");
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
    } else if (key == "location") {
        for (const auto& [text, at] : strings(*n, "location")) {
            const auto it = location_set_index_.find(text);
            if (it == location_set_index_.end())
                error(at, "unknown location set \"" + text + "\" (define it under [locations])");
            else c->location_sets.push_back(it->second);
        }
    }
}

void PolicyReader::read_condition(const toml::table& when, steer::Condition* c) {
    TableReader reader(when, "when", root_.file(), diagnostics_);
    for (const Setting& row : kSchema) {
        if (row.table != "[[names.NAME.route]] when") continue;
        if (const toml::node* n = reader.node(row)) read_condition_part(std::string(row.key), *n, c);
    }
    reader.finish();
}

void PolicyReader::read_route(steer::SteeredName* name, const toml::table& table, steer::Strategy default_strategy) {
    TableReader reader(table, "route", root_.file(), diagnostics_);
    steer::Route route;
    route.where = reader.where();
    route.strategy = default_strategy;
    if (const toml::table* when = reader.table(std::string(route_setting("when").key)))
        read_condition(*when, &route.when);
    std::map<std::string, uint32_t> weights;
    constexpr const Setting& weight = route_setting("weights");
    static_assert(weight.min == region_setting("weight").min && weight.max == region_setting("weight").max);
    if (const toml::table* w = reader.table(std::string(weight.key))) {
        for (const auto& [key, value] : *w) {
            const std::string region(key.str());
            const auto v = value.value<int64_t>();
            if (find_region(region) == kNotFound) {
                error(location_of(root_.file(), key.source()), "unknown region \"" + region + "\" in weights");
            } else if (!value.is_integer() || !v || *v < weight.min || *v > weight.max) {
                error(where(value), "a weight is an integer from " + std::to_string(weight.min) + " to " +
                                        std::to_string(weight.max));
            } else {
                weights[region] = static_cast<uint32_t>(*v);
            }
        }
    }
    // decide() ranks a route's candidates in kMaxRouteTargets slots: a route naming more is an
    // error here, never a region silently left out there.
    constexpr const Setting& to_row = route_setting("to");
    static_assert(to_row.max == steer::kMaxRouteTargets);
    const std::string too_many = "a route may name at most " + std::to_string(to_row.max) + " regions";
    if (const toml::node* to = reader.node(to_row)) {
        const auto names = strings(*to, "to");
        for (const auto& [text, at] : names) {
            const uint32_t region = find_region(text);
            if (region == kNotFound) {
                error(at, "unknown region \"" + text + "\"");
                continue;
            }
            const auto w = weights.find(text);
            route.targets.push_back({region, w != weights.end() ? w->second : policy_.regions[region].weight});
        }
        if (names.size() > static_cast<std::size_t>(to_row.max)) {
            error(names[static_cast<std::size_t>(to_row.max)].second,
                  too_many + ", not " + std::to_string(names.size()));
        }
    } else {
        // No "to": every region of the zone, in the order they are defined.
        for (uint32_t i = 0; i < policy_.regions.size(); ++i) {
            const auto w = weights.find(policy_.regions[i].name);
            route.targets.push_back({i, w != weights.end() ? w->second : policy_.regions[i].weight});
        }
    }
    for (const auto& entry : weights) {
        // (A named variable, not a structured binding: clang before 16 cannot capture those.)
        const std::string& region = entry.first;
        const bool is_target = std::any_of(route.targets.begin(), route.targets.end(), [&](const steer::Target& t) {
            return policy_.regions[t.region].name == region;
        });
        if (!is_target)
            error(reader.where(*reader.node("weights")),
                  "weights name region \"" + region + "\", which is not in \"to\"");
    }
    if (reader.node(to_row) == nullptr && route.targets.size() > static_cast<std::size_t>(to_row.max)) {
        error(route.where, too_many + ": this one has no \"to\", so it names all " +
                               std::to_string(route.targets.size()) + " regions of the zone");
    }
    reader.read(route_setting("max_latency"), &route.max_latency_ms);
    if (std::string strategy; reader.read(route_setting("strategy"), &strategy))
        steer::parse_strategy(strategy, &route.strategy);
    if (std::string band; reader.read(route_setting("band"), &band) && !parse_band(band, &route)) {
        reader.error(*reader.node("band"),
                     "band \"" + band +
                         "\" is neither a latency (\"20ms\", up to 10 s) nor a percentage (\"15%\", up to 1000 %)");
    }
    reader.read(route_setting("time_constant"), &route.time_constant_ms);
    if (route.strategy == steer::Strategy::cost) {
        for (const steer::Target& t : route.targets) {
            const steer::Region& region = policy_.regions[t.region];
            if (!region.has_cost)
                error(route.where,
                      "strategy \"cost\" ranks regions by their cost: region " + region.name + " has none");
        }
    }
    if (route.strategy != steer::Strategy::adaptive) {
        for (const char* key : {"band", "time_constant"}) {
            if (const toml::node* n = reader.node(key))
                reader.error(*n, std::string(key) + " applies to strategy \"adaptive\" only");
        }
    }
    route.first_slot = policy_.target_slots;
    policy_.target_slots += static_cast<uint32_t>(route.targets.size());
    reader.finish();
    name->routes.push_back(std::move(route));
}

void PolicyReader::read_name(const std::string& key, const toml::table& table, const toml::key& key_node) {
    TableReader reader(table, "[names." + key + "]", root_.file(), diagnostics_);
    steer::SteeredName name;
    name.where = location_of(root_.file(), key_node.source());
    if (const auto wire = resolve_(key)) name.owner = *wire;
    else error(name.where, "\"" + key + "\" is not a valid domain name");
    reader.read(name_setting("ttl"), &name.ttl);
    static_assert(name_setting("answers").max == steer::kMaxAnswers);
    reader.read(name_setting("answers"), &name.answers);
    if (!reader.read(name_setting("pruned_ttl"), &name.pruned_ttl))
        name.pruned_ttl = std::min(name.pruned_ttl, name.ttl);
    if (const toml::node* fail = reader.node(name_setting("fail"))) {
        const auto* text = fail->as_string();
        const auto* choice = fail->as_table();
        if (text != nullptr && text->get() == "open") {
            name.fail = steer::FailPolicy::open;
        } else if (text != nullptr && text->get() == "closed") {
            name.fail = steer::FailPolicy::closed;
        } else if (choice != nullptr && choice->size() == 1 && choice->get("region") != nullptr &&
                   choice->get("region")->is_string()) {
            const std::string region = choice->get("region")->value<std::string>().value_or("");
            name.fail = steer::FailPolicy::region;
            name.fail_region = find_region(region);
            if (name.fail_region == kNotFound) error(where(*fail), "unknown region \"" + region + "\" in fail");
        } else if (choice != nullptr && choice->size() == 1 && choice->get("cname") != nullptr &&
                   choice->get("cname")->is_string()) {
            const std::string target = choice->get("cname")->value<std::string>().value_or("");
            name.fail = steer::FailPolicy::cname;
            if (const auto wire = resolve_(target)) name.fail_cname = *wire;
            else error(where(*fail), "\"" + target + "\" is not a valid domain name");
        } else {
            error(where(*fail), "fail must be \"open\", \"closed\", { region = \"NAME\" } or { cname = \"TARGET\" }");
        }
    }
    if (std::string degraded; reader.read(name_setting("degraded"), &degraded)) {
        name.degraded = degraded == "healthy" ? steer::DegradedUse::healthy
                        : degraded == "never" ? steer::DegradedUse::never
                                              : steer::DegradedUse::fallback;
    }
    steer::Strategy strategy = steer::Strategy::weighted;
    std::string strategy_text;
    reader.read(name_setting("strategy"), &strategy_text);  // the row's default when absent
    steer::parse_strategy(strategy_text, &strategy);
    const toml::node* routes = reader.node(name_setting("route"));
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
    root_.read(zone_setting("", "ecs"), &policy_.use_ecs);
    if (const toml::table* checks = root_.table("checks")) {
        for (const auto& [key, value] : in_file_order(*checks)) {
            if (const auto* t = value->as_table()) read_check(std::string(key->str()), *t);
            else error(where(*value), "[checks." + std::string(key->str()) + "] must be a table");
        }
    }
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
    policy_.assign_board_slots();
    steer::check_policy(policy_, diagnostics_);
}

}  // namespace

void read_policy(TableReader& root, const NameResolver& resolve, const std::string& base_dir, steer::Policy* policy,
                 health::CheckPlan* checks) {
    PolicyReader(root, resolve, base_dir, policy, checks).read();
}

}  // namespace meridian::config

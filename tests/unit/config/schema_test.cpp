// Tests for config/schema: the rows themselves (one per key, defaults equal to the structs they
// fill, ranges tied to the runtime constants they protect), durations in every form with their
// old *_ms spelling, every range at its bounds through the real readers, and docs/CONFIG.md
// holding exactly what `meridiand --schema` prints.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/member_document.hpp"
#include "config/schema.hpp"
#include "config/server_config.hpp"
#include "health/check_spec.hpp"
#include "stats/counters.hpp"
#include "steer/policy.hpp"
#include "zone_test_support.hpp"

using meridian::Diagnostics;
using meridian::config::Document;
using meridian::config::format_duration_ms;
using meridian::config::kSchema;
using meridian::config::parse_duration_ms;
using meridian::config::ServerConfig;
using meridian::config::Setting;
using meridian::config::ValueType;
using meridian::test::check_single_error;
using meridian::test::has_error;
using meridian::test::kZoneHead;
using meridian::test::load_zone_text;
using meridian::test::LoadedZoneFile;
using meridian::test::TempDir;
using meridian::test::text_contains;
using meridian::test::zone_with_regions;

namespace {

// ---- helpers ------------------------------------------------------------------------------------

struct LoadedConfig {
    std::string path;
    std::optional<ServerConfig> config;
    Diagnostics diagnostics;
};

LoadedConfig load_config(std::string_view content) {
    static TempDir dir;
    static int counter = 0;
    LoadedConfig r;
    r.path = dir.write("meridian-" + std::to_string(counter++) + ".toml", content).string();
    r.config = meridian::config::load_server_config(r.path, &r.diagnostics);
    return r;
}

constexpr std::string_view kMinimal = "zones = [\"zones\"]\n[listen]\nudp = [\"127.0.0.1:5300\"]\n";  // 3 lines

std::string bare(std::string_view table) { return std::string(table.substr(1, table.size() - 2)); }

// The minimal config with `key = value` under the row's table, on line 5.
std::string config_with(const Setting& row, std::string_view key, const std::string& value) {
    // [fleet] needs its endpoints: on the line after the key, so the key stays on line 5.
    const std::string required = row.table == "[fleet]" ? "endpoints = [\"http://127.0.0.1:2379\"]\n" : "";
    return std::string(kMinimal) + "[" + bare(row.table) + "]\n" + std::string(key) + " = " + value + "\n" + required;
}

// The single error of a load, at line:column, containing every keyword.
void check_config_error(const LoadedConfig& r, uint32_t line, uint32_t column,
                        const std::vector<std::string>& keywords) {
    INFO(r.diagnostics.format_all());
    CHECK_FALSE(r.config.has_value());
    REQUIRE(r.diagnostics.items().size() == 1);
    const auto& d = r.diagnostics.items()[0];
    CHECK(d.where.file == r.path);
    CHECK(d.where.line == line);
    CHECK(d.where.column == column);
    for (const std::string& k : keywords) CHECK(text_contains(d.message, k));
}

std::string number_text(int64_t n) { return std::to_string(n); }
std::string fraction_text(double f) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", f);
    return text;
}

// A row's default in the form the accessors below render values.
std::string default_of(const Setting& row) {
    switch (row.type) {
    case ValueType::integer:
    case ValueType::duration: return number_text(row.number);
    case ValueType::boolean: return row.number != 0 ? "true" : "false";
    case ValueType::fraction: return fraction_text(row.fraction);
    case ValueType::string:
    case ValueType::choice: return std::string(row.text);
    default: return "";
    }
}

bool is_scalar(const Setting& row) { return row.type != ValueType::strings && row.type != ValueType::structure; }

std::string name_of(const Setting& row) { return std::string(row.table) + " " + std::string(row.key); }

// Where each scalar server-config row lands in ServerConfig, rendered as text.
using ServerField = std::function<std::string(const ServerConfig&)>;
const std::map<std::string, ServerField>& server_fields() {
    auto n = [](auto v) { return number_text(static_cast<int64_t>(v)); };
    auto b = [](bool v) { return std::string(v ? "true" : "false"); };
    static const std::map<std::string, ServerField> fields = {
        {"[server] workers", [=](const ServerConfig& c) { return n(c.workers); }},
        {"[server] udp_max_payload", [=](const ServerConfig& c) { return n(c.udp_max_payload); }},
        {"[server] udp_receive_buffer", [=](const ServerConfig& c) { return n(c.udp_receive_buffer); }},
        {"[server] udp_overload_interval", [=](const ServerConfig& c) { return n(c.udp_overload_interval_ms); }},
        {"[server] tcp_idle_timeout", [=](const ServerConfig& c) { return n(c.tcp_idle_timeout_ms); }},
        {"[server] tcp_max_connections_per_worker",
         [=](const ServerConfig& c) { return n(c.tcp_max_connections_per_worker); }},
        {"[server] tcp_max_pending_output_bytes",
         [=](const ServerConfig& c) { return n(c.tcp_max_pending_output_bytes); }},
        {"[server] tcp_max_connections", [=](const ServerConfig& c) { return n(c.tcp_max_connections); }},
        {"[server] tcp_max_connections_per_source",
         [=](const ServerConfig& c) { return n(c.tcp_max_connections_per_source); }},
        {"[server] tcp_query_timeout", [=](const ServerConfig& c) { return n(c.tcp_query_timeout_ms); }},
        {"[server] user", [](const ServerConfig& c) { return c.user; }},
        {"[server] group", [](const ServerConfig& c) { return c.group; }},
        {"[server] allow_root", [=](const ServerConfig& c) { return b(c.allow_root); }},
        {"[identity] nsid", [](const ServerConfig& c) { return c.identity.nsid; }},
        {"[identity] hostname", [](const ServerConfig& c) { return c.identity.hostname; }},
        {"[identity] id_server", [](const ServerConfig& c) { return c.identity.id_server; }},
        {"[identity] version", [](const ServerConfig& c) { return c.identity.version; }},
        {"[identity] chaos", [=](const ServerConfig& c) { return b(c.identity.is_chaos_enabled); }},
        {"[alerts] webhook", [](const ServerConfig& c) { return c.alerts.webhook_url; }},
        {"[alerts] webhook_timeout", [=](const ServerConfig& c) { return n(c.alerts.webhook_timeout_ms); }},
        {"[admin] listen", [](const ServerConfig& c) { return c.admin.listen; }},
        {"[admin] token", [](const ServerConfig& c) { return c.admin.token; }},
        {"[admin] explain_per_second", [=](const ServerConfig& c) { return n(c.admin.explain_per_second); }},
        {"[keys.NAME] secret", [](const ServerConfig&) { return std::string(); }},                  // decoded into keys
        {"[keys.NAME] secret_file", [](const ServerConfig&) { return std::string(); }},             // read into keys
        {"[keys.NAME] algorithm", [](const ServerConfig&) { return std::string("hmac-sha256"); }},  // the one algorithm
        {"[rrl] enabled", [=](const ServerConfig& c) { return b(c.rrl.is_enabled); }},
        {"[rrl] responses_per_second", [=](const ServerConfig& c) { return n(c.rrl.responses_per_second); }},
        {"[rrl] burst", [=](const ServerConfig& c) { return n(c.rrl.burst); }},
        {"[rrl] slip", [=](const ServerConfig& c) { return n(c.rrl.slip); }},
        {"[rrl] ipv4_prefix", [=](const ServerConfig& c) { return n(c.rrl.ipv4_prefix); }},
        {"[rrl] ipv6_prefix", [=](const ServerConfig& c) { return n(c.rrl.ipv6_prefix); }},
        {"[analytics] latency_warning", [=](const ServerConfig& c) { return n(c.analytics.latency_warning_ms); }},
        {"[analytics] success_critical",
         [](const ServerConfig& c) { return fraction_text(c.analytics.success_critical); }},
        {"[analytics] healthy_fraction_warning",
         [](const ServerConfig& c) { return fraction_text(c.analytics.healthy_fraction_warning); }},
        {"[analytics] interval", [=](const ServerConfig& c) { return n(c.analytics.interval_ms); }},
        {"[adaptive] interval", [=](const ServerConfig& c) { return n(c.adaptive.interval_ms); }},
        {"[adaptive] max_step", [](const ServerConfig& c) { return fraction_text(c.adaptive.max_step); }},
        {"[forecast] bucket", [=](const ServerConfig& c) { return n(c.forecast.bucket_ms); }},
        {"[forecast] season", [=](const ServerConfig& c) { return n(c.forecast.season_ms); }},
        {"[forecast] horizon", [=](const ServerConfig& c) { return n(c.forecast.horizon_ms); }},
        {"[forecast] state_file", [](const ServerConfig& c) { return c.forecast.state_file.string(); }},
        {"[members] state_file", [](const ServerConfig& c) { return c.members.state_file.string(); }},
        {"[fleet] prefix", [](const ServerConfig& c) { return c.fleet.prefix; }},
        {"[fleet] node", [](const ServerConfig& c) { return c.fleet.node; }},
        {"[fleet] user", [](const ServerConfig& c) { return c.fleet.user; }},
        {"[fleet] password", [](const ServerConfig& c) { return c.fleet.password; }},
        {"[fleet] password_file", [](const ServerConfig& c) { return c.fleet.password; }},
        {"[fleet] ca_file", [](const ServerConfig& c) { return c.fleet.ca_file; }},
        {"[fleet] cert_file", [](const ServerConfig& c) { return c.fleet.cert_file; }},
        {"[fleet] key_file", [](const ServerConfig& c) { return c.fleet.key_file; }},
        {"[fleet] verify_tls", [=](const ServerConfig& c) { return b(c.fleet.verify_tls); }},
        {"[fleet] timeout", [=](const ServerConfig& c) { return n(c.fleet.timeout_ms); }},
        {"[fleet] lease_ttl", [=](const ServerConfig& c) { return n(c.fleet.lease_ttl_ms); }},
        {"[fleet] quorum", [](const ServerConfig& c) { return fraction_text(c.fleet.quorum); }},
        {"[fleet] min_voters", [=](const ServerConfig& c) { return n(c.fleet.min_voters); }},
        {"[dnssec] cache_entries", [=](const ServerConfig& c) { return n(c.dnssec.cache_entries); }},
        {"[dnssec] signatures_per_second", [=](const ServerConfig& c) { return n(c.dnssec.signatures_per_second); }},
        {"[recommendations] latency_matrix",
         [](const ServerConfig& c) { return c.recommendations.latency_matrix.string(); }},
        {"[recommendations] min_gain", [=](const ServerConfig& c) { return n(c.recommendations.min_gain_ms); }},
        {"[recommendations] half_life", [=](const ServerConfig& c) { return n(c.recommendations.half_life_ms); }},
        {"[[geoip]] path", [](const ServerConfig& c) { return c.geoip.empty() ? "" : c.geoip[0].path.string(); }},
    };
    return fields;
}

// The parts of a zone that settings land in; default-constructed, or those of a loaded zone.
struct ZoneParts {
    const meridian::health::CheckSpec& check;
    const meridian::steer::Region& region;
    const meridian::steer::SteeredName& name;
    const meridian::steer::Route& route;
    const meridian::steer::Policy& policy;
    const meridian::health::RegionCheck& probe;
};

std::string initial_text(meridian::health::InitialState s) {
    return s == meridian::health::InitialState::down   ? "down"
           : s == meridian::health::InitialState::wait ? "wait"
                                                       : "up";
}
std::string degraded_text(meridian::steer::DegradedUse d) {
    return d == meridian::steer::DegradedUse::healthy ? "healthy"
           : d == meridian::steer::DegradedUse::never ? "never"
                                                      : "fallback";
}

using ZoneField = std::function<std::string(const ZoneParts&)>;
const std::map<std::string, ZoneField>& zone_fields() {
    auto n = [](auto v) { return number_text(static_cast<int64_t>(v)); };
    auto b = [](bool v) { return std::string(v ? "true" : "false"); };
    static const std::map<std::string, ZoneField> fields = {
        {" ecs", [=](const ZoneParts& z) { return b(z.policy.use_ecs); }},
        {"[checks.NAME] interval", [=](const ZoneParts& z) { return n(z.check.interval_ms); }},
        {"[checks.NAME] timeout", [=](const ZoneParts& z) { return n(z.check.timeout_ms); }},
        {"[checks.NAME] jitter", [=](const ZoneParts& z) { return n(z.check.jitter_ms); }},
        {"[checks.NAME] rise", [=](const ZoneParts& z) { return n(z.check.thresholds.rise); }},
        {"[checks.NAME] fall", [=](const ZoneParts& z) { return n(z.check.thresholds.fall); }},
        {"[checks.NAME] window", [=](const ZoneParts& z) { return n(z.check.thresholds.window); }},
        {"[checks.NAME] healthy_below", [=](const ZoneParts& z) { return n(z.check.thresholds.healthy_below_ms); }},
        {"[checks.NAME] degraded_below", [=](const ZoneParts& z) { return n(z.check.thresholds.degraded_below_ms); }},
        {"[checks.NAME] healthy_success",
         [](const ZoneParts& z) { return fraction_text(z.check.thresholds.healthy_success); }},
        {"[checks.NAME] degraded_success",
         [](const ZoneParts& z) { return fraction_text(z.check.thresholds.degraded_success); }},
        {"[checks.NAME] initial", [](const ZoneParts& z) { return initial_text(z.check.initial); }},
        {"[checks.NAME] address", [](const ZoneParts& z) { return z.check.address; }},
        {"[checks.NAME] url", [](const ZoneParts& z) { return z.check.url; }},
        {"[checks.NAME] path", [](const ZoneParts& z) { return z.check.path; }},
        {"[checks.NAME] host", [](const ZoneParts& z) { return z.check.host; }},
        {"[checks.NAME] body_contains", [](const ZoneParts& z) { return z.check.body_contains; }},
        {"[checks.NAME] verify_tls", [=](const ZoneParts& z) { return b(z.check.verify_tls); }},
        {"[checks.NAME] query", [](const ZoneParts& z) { return z.check.query_name; }},
        {"[checks.NAME] expect_rcode", [=](const ZoneParts& z) { return n(z.check.expect_rcode); }},
        {"[checks.NAME] file", [](const ZoneParts& z) { return z.check.file_path; }},
        {"[checks.NAME] per_address", [=](const ZoneParts& z) { return b(z.check.per_address); }},
        {"[checks.NAME] promql", [](const ZoneParts& z) { return z.check.promql; }},
        {"[checks.NAME] measure",
         [](const ZoneParts& z) {
             using Measure = meridian::health::CheckSpec::Measure;
             return std::string(z.check.measure == Measure::success ? "success"
                                : z.check.measure == Measure::load  ? "load"
                                                                    : "latency");
         }},
        {"[checks.NAME] max_age", [=](const ZoneParts& z) { return n(z.check.max_age_ms); }},
        {"[regions.NAME] weight", [=](const ZoneParts& z) { return n(z.region.weight); }},
        {"[regions.NAME] bias", [=](const ZoneParts& z) { return n(z.region.bias); }},
        {"[regions.NAME] cname", [](const ZoneParts& z) { return z.region.cname; }},
        {"[regions.NAME] capacity", [=](const ZoneParts& z) { return n(z.region.capacity); }},
        {"[names.NAME] ttl", [=](const ZoneParts& z) { return n(z.name.ttl); }},
        {"[names.NAME] answers", [=](const ZoneParts& z) { return n(z.name.answers); }},
        {"[names.NAME] pruned_ttl", [=](const ZoneParts& z) { return n(z.name.pruned_ttl); }},
        {"[names.NAME] degraded", [](const ZoneParts& z) { return degraded_text(z.name.degraded); }},
        {"[names.NAME] strategy",
         [](const ZoneParts& z) { return std::string(meridian::steer::to_string(z.route.strategy)); }},
        {"[[names.NAME.route]] max_latency", [=](const ZoneParts& z) { return n(z.route.max_latency_ms); }},
        {"[[names.NAME.route]] time_constant", [=](const ZoneParts& z) { return n(z.route.time_constant_ms); }},
        {"[regions.NAME] cost_unit",
         [](const ZoneParts& z) { return std::string(meridian::steer::to_string(z.region.cost_unit)); }},
        {"[regions.NAME] commit_period", [=](const ZoneParts& z) { return n(z.region.commit_period_ms); }},
        {"[regions.NAME.members] feed", [](const ZoneParts& z) { return z.probe.feed.url + z.probe.feed.path; }},
        {"[regions.NAME.members] interval", [=](const ZoneParts& z) { return n(z.probe.feed.interval_ms); }},
        {"[regions.NAME.members] timeout", [=](const ZoneParts& z) { return n(z.probe.feed.timeout_ms); }},
        {"[regions.NAME.members] max_members", [=](const ZoneParts& z) { return n(z.probe.member_rules.max_members); }},
        {"[regions.NAME.members] family",
         [](const ZoneParts& z) { return std::string(meridian::config::to_string(z.probe.member_rules.family)); }},
        {"[regions.NAME.members] allow_empty", [=](const ZoneParts& z) { return b(z.probe.member_rules.allow_empty); }},
    };
    return fields;
}

// Scalar zone rows no struct holds as written: the SOA (compiled into a record), names of other
// things (kind, check, load_field …) and settings whose default depends on another.
const std::set<std::string> kZoneRowsWithoutField = {
    " origin",
    " ttl",
    "[soa] primary",
    "[soa] contact",
    "[soa] serial",
    "[soa] refresh",
    "[soa] retry",
    "[soa] expire",
    "[soa] negative_ttl",
    "[soa] ttl",
    "[checks.NAME] kind",
    "[checks.NAME] port",
    "[checks.NAME] load_field",
    "[regions.NAME] check",
    "[regions.NAME] check_address",
    "[[names.NAME.route]] strategy",
    "[[names.NAME.route]] band",  // held as band_ms or band_percent
    "[transfer] key",             // resolved to the key's wire name (answer::ZoneTransfer)
    // Read into LoadedZone::dnssec (config::DnssecConfig), not into the zone's parts: their
    // defaults are checked by "zone [dnssec] defaults" below.
    "[dnssec] keys",
    "[dnssec] generate",
    "[dnssec] algorithm",
    "[dnssec] validity",
    "[dnssec] refresh",
    "[dnssec] dnskey_ttl",
    "[dnssec] cds",
};

// `line` (1-based) and the column of the value in `key = value` on it.
std::pair<uint32_t, uint32_t> value_position(const std::string& text, const std::string& key_and_value) {
    const std::string lines = "\n" + text;
    const std::size_t at = lines.find("\n" + key_and_value + "\n");
    REQUIRE(at != std::string::npos);
    const uint32_t line = static_cast<uint32_t>(
        std::count(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(at) + 1, '\n'));
    return {line, static_cast<uint32_t>(key_and_value.find(" = ") + 4)};
}

std::string value_as_toml(const Setting& row, int64_t value) {
    return row.type == ValueType::duration ? "\"" + std::to_string(value) + "ms\"" : std::to_string(value);
}

std::string range_words(const Setting& row) {
    if (row.type == ValueType::duration) {
        return "must be between " + format_duration_ms(static_cast<uint64_t>(row.min)) + " and " +
               format_duration_ms(static_cast<uint64_t>(row.max));
    }
    return "must be between " + std::to_string(row.min) + " and " + std::to_string(row.max);
}

}  // namespace

// ---- the rows -----------------------------------------------------------------------------------

TEST_CASE("every setting has one row, and an old spelling is the key with _ms", "[config]") {
    std::set<std::string> seen;
    for (const Setting& row : kSchema) {
        const std::string id = std::to_string(static_cast<int>(row.document)) + name_of(row);
        CAPTURE(id);
        CHECK(seen.insert(id).second);
        CHECK_FALSE(row.doc.empty());
        CHECK(row.min <= row.max);
        if (!row.alias.empty()) {
            CHECK(row.type == ValueType::duration);
            CHECK(row.alias == std::string(row.key) + "_ms");
        }
        if (row.type == ValueType::choice) {
            CHECK_FALSE(row.choices.empty());
            CHECK_FALSE(row.noun.empty());
        }
        if (row.type == ValueType::integer || row.type == ValueType::duration) {
            // A default outside the range is a "none" (max_latency's 0) and must say so in words.
            if (row.number < row.min || row.number > row.max) CHECK_FALSE(row.default_doc.empty());
        }
    }
    for (const Setting& row : kSchema) {
        if (!row.alias.empty())
            CHECK(seen.count(std::to_string(static_cast<int>(row.document)) + std::string(row.table) + " " +
                             std::string(row.alias)) == 0);
    }
    CHECK(kSchema.size() > 100);
}

TEST_CASE("ranges are the runtime constants they protect", "[config]") {
    using meridian::config::server_setting;
    using meridian::config::zone_setting;
    STATIC_REQUIRE(server_setting("[server]", "workers").max == meridian::stats::kMaxWorkers);
    STATIC_REQUIRE(zone_setting("[[names.NAME.route]]", "to").max == meridian::steer::kMaxRouteTargets);
    STATIC_REQUIRE(zone_setting("[names.NAME]", "answers").max == meridian::steer::kMaxAnswers);
    STATIC_REQUIRE(server_setting("[identity]", "nsid").max == meridian::answer::kMaxNsidSize);
    STATIC_REQUIRE(server_setting("[server]", "udp_max_payload").min == meridian::dns::kClassicUdpSize);
    STATIC_REQUIRE(server_setting("[server]", "udp_max_payload").max == meridian::dns::kMaxMessageSize);
    STATIC_REQUIRE(server_setting("[server]", "tcp_max_pending_output_bytes").min ==
                   meridian::dns::kMaxMessageSize + 2);
    for (const Setting& row : kSchema) {
        if (row.limit.empty()) continue;
        CAPTURE(name_of(row));
        // Each bounded row names its limit in the docs.
        CHECK(text_contains(meridian::config::schema_markdown(), std::string(row.limit)));
    }
}

TEST_CASE("the choices a row lists are exactly the values its reader knows", "[config]") {
    using meridian::config::zone_setting;
    std::vector<std::string> strategies;
    for (std::string_view rest = meridian::config::kStrategyChoices; !rest.empty();) {
        const std::size_t comma = rest.find(", ");
        strategies.emplace_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
    }
    CHECK(strategies.size() == 10);  // every Strategy
    for (const std::string& s : strategies) {
        meridian::steer::Strategy parsed;
        REQUIRE(meridian::steer::parse_strategy(s, &parsed));
        CHECK(meridian::steer::to_string(parsed) == s);
    }
    CHECK(zone_setting("[names.NAME]", "strategy").choices == zone_setting("[[names.NAME.route]]", "strategy").choices);
    for (const auto kind :
         {meridian::health::CheckKind::none, meridian::health::CheckKind::tcp, meridian::health::CheckKind::http,
          meridian::health::CheckKind::https, meridian::health::CheckKind::dns, meridian::health::CheckKind::file}) {
        CHECK(text_contains(std::string(meridian::config::kCheckKindChoices), meridian::health::to_string(kind)));
    }
    SECTION("each initial state and each use of degraded regions loads as itself") {
        for (const char* initial : {"up", "down", "wait"}) {
            const LoadedZoneFile r = load_zone_text(std::string(kZoneHead) +
                                                    "[checks.c]\nkind = \"none\"\ninitial = \"" + initial + "\"\n");
            INFO(r.diagnostics.format_all());
            REQUIRE(r.zone() != nullptr);
            CHECK(initial_text(r.zone()->checks().checks[0].initial) == initial);
        }
        for (const char* degraded : {"fallback", "healthy", "never"}) {
            const LoadedZoneFile r = load_zone_text(zone_with_regions(
                std::string("[names.app]\ndegraded = \"") + degraded + "\"\n[[names.app.route]]\nto = [\"a\"]\n"));
            INFO(r.diagnostics.format_all());
            REQUIRE(r.zone() != nullptr);
            CHECK(degraded_text(r.zone()->policy().names[0].degraded) == degraded);
        }
    }
    SECTION("anything else is named with the row's choices") {
        const LoadedZoneFile r = load_zone_text(std::string(kZoneHead) +
                                                "[checks.c]\nkind = \"none\"\ninitial = \"later\"\n");
        check_single_error(r, 12, 11, "unknown initial state \"later\" (up, down, wait)");
    }
}

// ---- defaults -----------------------------------------------------------------------------------

TEST_CASE("server-config defaults are the struct's defaults and what the reader fills in", "[config]") {
    const ServerConfig defaults;
    const LoadedConfig loaded = load_config(std::string(kMinimal) +
                                            "[server]\n[identity]\n[alerts]\n[admin]\n[rrl]\n[analytics]\n");
    INFO(loaded.diagnostics.format_all());
    REQUIRE(loaded.config.has_value());
    const auto& fields = server_fields();
    for (const Setting& row : kSchema) {
        if (row.document != Document::server_config || !is_scalar(row)) continue;
        CAPTURE(name_of(row));
        const auto field = fields.find(name_of(row));
        REQUIRE(field != fields.end());                             // a new setting needs its line in server_fields()
        if (row.is_required || !row.default_doc.empty()) continue;  // computed: tested on its own below
        CHECK(field->second(defaults) == default_of(row));
        if (name_of(row) != "[server] workers") CHECK(field->second(*loaded.config) == default_of(row));
    }
}

TEST_CASE("computed server-config defaults: workers, burst, rrl on with its table, hostname", "[config]") {
    const LoadedConfig r = load_config(std::string(kMinimal) + "[rrl]\nresponses_per_second = 7\n");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    // One worker per core, never more than there are counter shards.
    CHECK(r.config->workers ==
          std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, meridian::stats::kMaxWorkers));
    CHECK(r.config->rrl.is_enabled);
    CHECK(r.config->rrl.burst == 14);
    CHECK_FALSE(r.config->identity.hostname.empty());
    CHECK(r.config->identity.id_server == r.config->identity.hostname);
    const LoadedConfig no_rrl = load_config(kMinimal);
    REQUIRE(no_rrl.config.has_value());
    CHECK_FALSE(no_rrl.config->rrl.is_enabled);
}

TEST_CASE("zone-file defaults are the structs' defaults and what the readers fill in", "[config]") {
    const meridian::health::CheckSpec check;
    const meridian::steer::Region region;
    const meridian::steer::SteeredName name;
    const meridian::steer::Route route;
    const meridian::steer::Policy policy;
    const meridian::health::RegionCheck probe;
    const ZoneParts defaults{check, region, name, route, policy, probe};

    const LoadedZoneFile r = load_zone_text(
        zone_with_regions("[checks.c]\nkind = \"none\"\n"
                          "[regions.d]\naddresses = [\"192.0.2.40\"]\n"
                          "[names.app]\n[[names.app.route]]\n"));
    INFO(r.diagnostics.format_all());
    REQUIRE(r.zone() != nullptr);
    const auto& p = r.zone()->policy();
    const ZoneParts loaded{
        r.zone()->checks().checks.at(0), p.regions.at(3), p.names.at(0), p.names.at(0).routes.at(0), p,
        r.zone()->checks().regions.at(3)};

    const auto& fields = zone_fields();
    for (const Setting& row : kSchema) {
        if (row.document != Document::zone_file || !is_scalar(row)) continue;
        CAPTURE(name_of(row));
        const auto field = fields.find(name_of(row));
        if (field == fields.end()) {
            CHECK(kZoneRowsWithoutField.count(name_of(row)) == 1);  // a new setting needs its line in zone_fields()
            continue;
        }
        if (!row.default_doc.empty()) continue;
        CHECK(field->second(defaults) == default_of(row));
        CHECK(field->second(loaded) == default_of(row));
    }
}

TEST_CASE("zone [dnssec] defaults are config::DnssecConfig's and what the reader fills in", "[config]") {
    const meridian::config::DnssecConfig defaults;
    const LoadedZoneFile r = load_zone_text(std::string(kZoneHead) + "[dnssec]\n");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.loaded.dnssec.has_value());
    const meridian::config::DnssecConfig& d = *r.loaded.dnssec;
    for (const meridian::config::DnssecConfig* c : {&defaults, &d}) {
        CHECK(c->generate == (meridian::config::zone_setting("[dnssec]", "generate").number != 0));
        CHECK(c->algorithm == meridian::config::zone_setting("[dnssec]", "algorithm").text);
        CHECK(c->dnskey_ttl == meridian::config::zone_setting("[dnssec]", "dnskey_ttl").number);
        CHECK(c->publishes_cds == (meridian::config::zone_setting("[dnssec]", "cds").number != 0));
    }
    CHECK(d.validity_ms == meridian::config::zone_setting("[dnssec]", "validity").number);
    CHECK(d.refresh_ms == meridian::config::zone_setting("[dnssec]", "refresh").number);
    CHECK(d.keys.filename() == meridian::config::zone_setting("[dnssec]", "keys").text);
    CHECK(d.keys.parent_path() == std::filesystem::path(r.file).parent_path());
    const LoadedZoneFile inverted = load_zone_text(std::string(kZoneHead) +
                                                   "[dnssec]\nvalidity = \"3d\"\nrefresh = \"3d\"\n");
    CHECK(inverted.zone() == nullptr);
    CHECK(text_contains(inverted.diagnostics.format_all(), "refresh must be shorter than validity"));
}

TEST_CASE("computed zone-file defaults: pruned_ttl, the SOA's TTL, a check's port and a route's strategy", "[config]") {
    const LoadedZoneFile r = load_zone_text(
        zone_with_regions("[checks.web]\nkind = \"http\"\npath = \"/\"\n"
                          "[checks.ns]\nkind = \"dns\"\nquery = \"x.example.\"\n"
                          "[names.short]\nttl = 4\nstrategy = \"failover\"\n"
                          "[[names.short.route]]\n"
                          "[names.long]\nttl = 300\n[[names.long.route]]\n"));
    INFO(r.diagnostics.format_all());
    REQUIRE(r.zone() != nullptr);
    CHECK(r.zone()->checks().checks[0].port == 80);
    CHECK(r.zone()->checks().checks[1].port == 53);
    const auto& names = r.zone()->policy().names;
    CHECK(names[0].pruned_ttl == 4);                                            // never longer than the TTL
    CHECK(names[0].routes[0].strategy == meridian::steer::Strategy::failover);  // the name's
    CHECK(names[1].pruned_ttl == 10);
    CHECK(names[1].routes[0].strategy == meridian::steer::Strategy::weighted);
}

// ---- durations ----------------------------------------------------------------------------------

TEST_CASE("a duration is digits and one unit: ms, s, m, h or d", "[config]") {
    struct Case {
        const char* text;
        uint64_t ms;
    };
    for (const Case c :
         {Case{"250ms", 250}, Case{"5s", 5000}, Case{"2m", 120000}, Case{"1h", 3600000}, Case{"0s", 0}, Case{"0ms", 0},
          Case{"007s", 7000}, Case{"999999999999h", 999999999999ull * 3600000}, Case{"5d", 432000000},
          Case{"99999999999d", 99999999999ull * 86400000}, Case{"31622400000ms", 31622400000ull}}) {
        CAPTURE(c.text);
        CHECK(parse_duration_ms(c.text) == c.ms);
    }
    for (const char* text : {"", "5", "250", "s", "ms", "5 s", " 5s", "5s ", "5S", "5MS", "5sec", "1.5s", "-5s", "+5s",
                             "999999999999d", "1m30s", "1234567890123ms", "5μs", "0x10s"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_duration_ms(text).has_value());
    }
}

TEST_CASE("a duration is written back in the largest unit that keeps it exact", "[config]") {
    CHECK(format_duration_ms(0) == "0s");
    CHECK(format_duration_ms(50) == "50ms");
    CHECK(format_duration_ms(1500) == "1500ms");
    CHECK(format_duration_ms(5000) == "5s");
    CHECK(format_duration_ms(90000) == "90s");
    CHECK(format_duration_ms(120000) == "2m");
    CHECK(format_duration_ms(3600000) == "1h");
    for (const uint64_t ms : {1ull, 999ull, 60000ull, 86400000ull, 3600001ull})
        CHECK(parse_duration_ms(format_duration_ms(ms)) == ms);
}

TEST_CASE("every form of a duration reads, in the server config and in a zone's checks", "[config]") {
    for (const auto& [text, ms] :
         std::vector<std::pair<std::string, uint32_t>>{{"250ms", 250}, {"5s", 5000}, {"2m", 120000}, {"1h", 3600000}}) {
        CAPTURE(text);
        const LoadedConfig r = load_config(std::string(kMinimal) + "[server]\ntcp_idle_timeout = \"" + text + "\"\n");
        INFO(r.diagnostics.format_all());
        REQUIRE(r.config.has_value());
        CHECK(r.config->tcp_idle_timeout_ms == ms);
        const LoadedZoneFile z = load_zone_text(std::string(kZoneHead) + "[checks.c]\nkind = \"none\"\ninterval = \"" +
                                                text + "\"\ntimeout = \"" + text + "\"\n");
        INFO(z.diagnostics.format_all());
        REQUIRE(z.zone() != nullptr);
        CHECK(z.zone()->checks().checks[0].interval_ms == ms);
        CHECK(z.zone()->checks().checks[0].timeout_ms == ms);
    }
}

TEST_CASE("the old *_ms spelling reads an integer of milliseconds", "[config]") {
    const LoadedConfig r = load_config(std::string(kMinimal) +
                                       "[server]\ntcp_idle_timeout_ms = 2500\ntcp_query_timeout_ms = 700\n"
                                       "udp_overload_interval_ms = 0\n"
                                       "[alerts]\nwebhook_timeout_ms = 900\n"
                                       "[analytics]\ninterval_ms = 600\nlatency_warning_ms = 40\n");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.config.has_value());
    CHECK(r.config->tcp_idle_timeout_ms == 2500);
    CHECK(r.config->tcp_query_timeout_ms == 700);
    CHECK(r.config->udp_overload_interval_ms == 0);
    CHECK(r.config->alerts.webhook_timeout_ms == 900);
    CHECK(r.config->analytics.interval_ms == 600);
    CHECK(r.config->analytics.latency_warning_ms == 40);

    const LoadedZoneFile z = load_zone_text(
        zone_with_regions("[checks.c]\nkind = \"none\"\nhealthy_below_ms = 30\n"
                          "degraded_below_ms = 60\n"
                          "[names.app]\n[[names.app.route]]\nmax_latency_ms = 90\n"));
    INFO(z.diagnostics.format_all());
    REQUIRE(z.zone() != nullptr);
    CHECK(z.zone()->checks().checks[0].thresholds.healthy_below_ms == 30);
    CHECK(z.zone()->checks().checks[0].thresholds.degraded_below_ms == 60);
    CHECK(z.zone()->policy().names[0].routes[0].max_latency_ms == 90);
    // The new spellings, for the same values.
    const LoadedZoneFile n = load_zone_text(
        zone_with_regions("[checks.c]\nkind = \"none\"\nhealthy_below = \"30ms\"\n"
                          "degraded_below = \"60ms\"\n"
                          "[names.app]\n[[names.app.route]]\nmax_latency = \"90ms\"\n"));
    INFO(n.diagnostics.format_all());
    REQUIRE(n.zone() != nullptr);
    CHECK(n.zone()->checks().checks[0].thresholds.healthy_below_ms == 30);
    CHECK(n.zone()->checks().checks[0].thresholds.degraded_below_ms == 60);
    CHECK(n.zone()->policy().names[0].routes[0].max_latency_ms == 90);
}

TEST_CASE("a duration given both ways is an error at the old spelling", "[config]") {
    SECTION("server config") {
        const LoadedConfig r = load_config(std::string(kMinimal) +
                                           "[server]\ntcp_idle_timeout = \"5s\"\ntcp_idle_timeout_ms = 5000\n");
        check_config_error(r, 6, 1,
                           {"\"tcp_idle_timeout_ms\" is the old spelling of \"tcp_idle_timeout\" in [server]",
                            "give only one of them"});
    }
    SECTION("even in the other order") {
        const LoadedConfig r = load_config(std::string(kMinimal) +
                                           "[analytics]\ninterval_ms = 5000\ninterval = \"5s\"\n");
        check_config_error(r, 5, 1, {"\"interval_ms\" is the old spelling of \"interval\" in [analytics]"});
    }
    SECTION("zone file") {
        const LoadedZoneFile z = load_zone_text(
            zone_with_regions("[names.app]\n[[names.app.route]]\n"  // 16, 17
                              "max_latency = \"90ms\"\n"            // 18
                              "max_latency_ms = 90\n"));            // 19
        check_single_error(z, 19, 1, "\"max_latency_ms\" is the old spelling of \"max_latency\" in route");
    }
}

TEST_CASE("a bad duration is reported at its value, with the forms that work", "[config]") {
    SECTION("a number without a unit under the new name points to the old one") {
        const LoadedConfig r = load_config(std::string(kMinimal) + "[server]\ntcp_idle_timeout = 10000\n");
        check_config_error(
            r, 5, 20,
            {"\"tcp_idle_timeout\" in [server] must be a duration such as \"250ms\", \"5s\" or \"2m\", not 10000",
             "(or milliseconds as tcp_idle_timeout_ms = 10000)"});
    }
    SECTION("a unit that is not one") {
        const LoadedConfig r = load_config(std::string(kMinimal) + "[alerts]\nwebhook_timeout = \"2 s\"\n");
        check_config_error(r, 5, 19, {"\"webhook_timeout\" in [alerts] must be a duration", "not \"2 s\""});
    }
    SECTION("out of range, in the row's units") {
        const LoadedConfig r = load_config(std::string(kMinimal) + "[server]\ntcp_query_timeout = \"11m\"\n");
        check_config_error(r, 5, 21, {"\"tcp_query_timeout\" in [server] must be between 100ms and 10m, not \"11m\""});
    }
    SECTION("the old spelling with a string") {
        const LoadedConfig r = load_config(std::string(kMinimal) + "[server]\ntcp_idle_timeout_ms = \"10s\"\n");
        check_config_error(r, 5, 23, {"\"tcp_idle_timeout_ms\" in [server] must be an integer"});
    }
    SECTION("the old spelling out of range keeps its old message") {
        const LoadedConfig r = load_config(std::string(kMinimal) + "[server]\ntcp_idle_timeout_ms = 99\n");
        check_config_error(r, 5, 23, {"\"tcp_idle_timeout_ms\" in [server] must be between 100 and 3600000, not 99"});
    }
    SECTION("a check's interval, the same way") {
        const LoadedZoneFile z = load_zone_text(std::string(kZoneHead) + "[checks.c]\nkind = \"none\"\ninterval = 5\n");
        check_single_error(z, 12, 12,
                           "\"interval\" in [checks.c] must be a duration such as \"250ms\", \"5s\" or \"2m\", not 5");
        CHECK_FALSE(text_contains(z.errors()[0].message, "_ms"));  // checks never had an old spelling
        const LoadedZoneFile fast = load_zone_text(
            std::string(kZoneHead) + "[checks.c]\nkind = \"none\"\ninterval = \"50ms\"\ntimeout = \"10ms\"\n");
        check_single_error(fast, 12, 12, "\"interval\" in [checks.c] must be between 100ms and 24h, not \"50ms\"");
        const LoadedZoneFile day = load_zone_text(std::string(kZoneHead) +
                                                  "[checks.c]\nkind = \"none\"\njitter = \"25h\"\n");
        check_single_error(day, 12, 10, "must be between 0s and 24h, not \"25h\"");
    }
}

// ---- ranges at their bounds ---------------------------------------------------------------------

TEST_CASE("every server-config number is accepted at its bounds and refused past them", "[config]") {
    const auto& fields = server_fields();
    for (const Setting& row : kSchema) {
        if (row.document != Document::server_config) continue;
        if (row.type != ValueType::integer && row.type != ValueType::duration) continue;
        CAPTURE(name_of(row));
        const ServerField& field = fields.at(name_of(row));
        std::vector<std::string> keys{std::string(row.key)};
        if (!row.alias.empty()) keys.emplace_back(row.alias);
        for (const std::string& key : keys) {
            CAPTURE(key);
            const bool is_old = key != row.key;
            const auto written = [&](int64_t v) { return is_old ? std::to_string(v) : value_as_toml(row, v); };
            for (const int64_t v : {row.min, row.max}) {
                if (row.key == "workers" && v == 0) continue;  // 0: one per core (tested above)
                // A season is a whole number of buckets (tested below): 1m is not one of 5m.
                if (row.table == "[forecast]" && row.key == "season" && v == row.min) continue;
                const LoadedConfig r = load_config(config_with(row, key, written(v)));
                INFO(r.diagnostics.format_all());
                REQUIRE(r.config.has_value());
                CHECK(field(*r.config) == std::to_string(v));
            }
            for (const int64_t v : {row.min - 1, row.max + 1}) {
                if (v < 0 && row.type == ValueType::duration) continue;  // "-1ms" is no duration at all
                const std::string text = config_with(row, key, written(v));
                const LoadedConfig r = load_config(text);
                const std::string range = is_old ? "must be between " + std::to_string(row.min) + " and " +
                                                       std::to_string(row.max)
                                                 : range_words(row);
                check_config_error(r, 5, static_cast<uint32_t>(key.size() + 4),
                                   {"\"" + key + "\" in " + std::string(row.table), range});
            }
        }
    }
}

TEST_CASE("workers above stats::kMaxWorkers are refused with a message naming the limit", "[config]") {
    const std::string too_many = std::to_string(meridian::stats::kMaxWorkers + 1);
    const LoadedConfig r = load_config(std::string(kMinimal) + "[server]\nworkers = " + too_many + "\n");
    check_config_error(r, 5, 11,
                       {"\"workers\" in [server] must be between 0 and " +
                            std::to_string(meridian::stats::kMaxWorkers) + ", not " + too_many,
                        "stats::kMaxWorkers"});
    const LoadedConfig most = load_config(std::string(kMinimal) +
                                          "[server]\nworkers = " + std::to_string(meridian::stats::kMaxWorkers) + "\n");
    REQUIRE(most.config.has_value());
    CHECK(most.config->workers == meridian::stats::kMaxWorkers);
}

TEST_CASE("every zone-file number is accepted at its bounds and refused past them", "[config]") {
    // Each table's number keys, in a zone that is otherwise valid; other settings that the value
    // is checked against are set so that both bounds are legal.
    const std::map<std::string, std::string> checks_base = {{"kind", "\"none\""},
                                                            {"interval", "\"24h\""},
                                                            {"timeout", "\"1ms\""},
                                                            {"healthy_below", "\"1ms\""},
                                                            {"degraded_below", "\"10m\""}};
    auto zone_for = [&](const Setting& row, const std::string& key, const std::string& value) -> std::string {
        const std::string line = key + " = " + value + "\n";
        const std::string table(row.table);
        if (table.empty()) return line + std::string(kZoneHead);
        if (table == "[soa]") {
            std::string head(kZoneHead);
            if (key == "serial") return head.replace(head.find("serial = 1\n"), 11, line);
            return head + line;
        }
        if (table == "[checks.NAME]") {
            std::string text = std::string(kZoneHead) + "[checks.c]\n";
            for (const auto& [k, v] : checks_base) {
                if (k != row.key) text += k + " = " + v + "\n";
            }
            return text + line;
        }
        if (table == "[regions.NAME]") {
            const std::string cost = key == "commit_period" ? "cost = 1\n" : "";  // a commit goes with a cost
            return zone_with_regions("[regions.r]\naddresses = [\"192.0.2.99\"]\n" + cost + line);
        }
        if (table == "[regions.NAME.members]") {
            // a feed's timeout may not be longer than its interval: the other at its far bound
            const std::string other = key == "timeout"    ? "interval = \"1h\"\n"
                                      : key == "interval" ? "timeout = \"100ms\"\n"
                                                          : "";
            return zone_with_regions("[regions.r]\naddresses = [\"192.0.2.99\"]\n[regions.r.members]\n" + other + line);
        }
        if (table == "[names.NAME]")
            return zone_with_regions("[names.app]\n" + line + "[[names.app.route]]\nto = [\"a\"]\n");
        if (table == "[dnssec]") {
            // refresh stays below validity: the other at its far bound
            const std::string other = key == "validity"  ? "refresh = \"1h\"\n"
                                      : key == "refresh" ? "validity = \"366d\"\n"
                                                         : "";
            return std::string(kZoneHead) + "[dnssec]\n" + other + line;
        }
        // adaptive: every route setting applies to it (band and time_constant to it alone)
        if (table == "[[names.NAME.route]]")
            return zone_with_regions("[[names.app.route]]\nto = [\"a\"]\nstrategy = \"adaptive\"\n" + line);
        FAIL("no zone for " + table);
        return "";
    };
    for (const Setting& row : kSchema) {
        if (row.document != Document::zone_file) continue;
        if (row.type != ValueType::integer && row.type != ValueType::duration) continue;
        CAPTURE(name_of(row));
        std::vector<std::string> keys{std::string(row.key)};
        if (!row.alias.empty()) keys.emplace_back(row.alias);
        for (const std::string& key : keys) {
            CAPTURE(key);
            const bool is_old = key != row.key;
            const auto written = [&](int64_t v) { return is_old ? std::to_string(v) : value_as_toml(row, v); };
            for (const int64_t v : {row.min, row.max}) {
                // jitter may be at most half the interval, so its bound is checked below.
                if (row.key == "jitter" && v == row.max) continue;
                const LoadedZoneFile r = load_zone_text(zone_for(row, key, written(v)));
                INFO(r.diagnostics.format_all());
                CHECK(r.errors().empty());
            }
            for (const int64_t v : {row.min - 1, row.max + 1}) {
                if (v < 0 && row.type == ValueType::duration) continue;
                const std::string text = zone_for(row, key, written(v));
                const LoadedZoneFile r = load_zone_text(text);
                const auto [line, column] = value_position(text, key + " = " + written(v));
                const std::string range = is_old ? "must be between " + std::to_string(row.min) + " and " +
                                                       std::to_string(row.max)
                                                 : range_words(row);
                CHECK(has_error(r, line, column, range));
                CHECK(r.zone() == nullptr);
            }
        }
    }
}

TEST_CASE("settings checked against each other: timeout, jitter and the latency thresholds", "[config]") {
    SECTION("jitter up to half the interval") {
        const LoadedZoneFile ok = load_zone_text(
            std::string(kZoneHead) + "[checks.c]\nkind = \"none\"\ninterval = \"1s\"\njitter = \"500ms\"\n");
        CHECK(ok.errors().empty());
        const LoadedZoneFile bad = load_zone_text(
            std::string(kZoneHead) + "[checks.c]\nkind = \"none\"\ninterval = \"1s\"\njitter = \"501ms\"\n");
        check_single_error(bad, 13, 10, "jitter must be at most half the interval");
    }
    SECTION("a timeout up to the interval") {
        const LoadedZoneFile ok = load_zone_text(std::string(kZoneHead) +
                                                 "[checks.c]\nkind = \"none\"\ninterval = \"1s\"\ntimeout = \"1s\"\n");
        CHECK(ok.errors().empty());
        const LoadedZoneFile bad = load_zone_text(
            std::string(kZoneHead) + "[checks.c]\nkind = \"none\"\ninterval = \"1s\"\ntimeout = \"1001ms\"\n");
        check_single_error(bad, 13, 11, "timeout (1001 ms) is longer than the interval (1000 ms)");
    }
    SECTION("degraded_below not below healthy_below, whichever spelling") {
        const LoadedZoneFile bad = load_zone_text(std::string(kZoneHead) +
                                                  "[checks.c]\nkind = \"none\"\nhealthy_below = \"300ms\"\n"
                                                  "degraded_below_ms = 200\n");
        check_single_error(bad, 10, 1, "degraded_below (200 ms) must not be below healthy_below (300 ms)");
    }
    SECTION("expect_status from 100 to 599, lowest first") {
        for (const char* status : {"99", "600", "[200, 600]", "[300, 200]", "\"200\""}) {
            CAPTURE(status);
            const LoadedZoneFile bad = load_zone_text(std::string(kZoneHead) +
                                                      "[checks.c]\nkind = \"none\"\nexpect_status = " + status + "\n");
            check_single_error(bad, 12, 17,
                               "expect_status is a status code or [lowest, highest], each from 100 to 599");
        }
        const LoadedZoneFile ok = load_zone_text(std::string(kZoneHead) +
                                                 "[checks.c]\nkind = \"none\"\nexpect_status = [100, 599]\n");
        INFO(ok.diagnostics.format_all());
        REQUIRE(ok.zone() != nullptr);
        CHECK(ok.zone()->checks().checks[0].status_min == 100);
        CHECK(ok.zone()->checks().checks[0].status_max == 599);
    }
}

// ---- route targets ------------------------------------------------------------------------------

namespace {

// kZoneHead and `count` regions r0, r1 … (one IPv4 address each), from line 10 on.
std::string zone_with_many_regions(std::size_t count) {
    std::string text(kZoneHead);
    for (std::size_t i = 0; i < count; ++i) {
        text += "[regions.r" + std::to_string(i) + "]\naddresses = [\"10.0." + std::to_string(i / 250) + "." +
                std::to_string(i % 250 + 1) + "\"]\n";
    }
    return text;
}

std::string region_list(std::size_t count) {
    std::string out = "[";
    for (std::size_t i = 0; i < count; ++i) out += (i == 0 ? "\"r" : ", \"r") + std::to_string(i) + "\"";
    return out + "]";
}

}  // namespace

TEST_CASE("a route with more targets than steer::kMaxRouteTargets is a load error, never a silent drop", "[config]") {
    constexpr std::size_t kMax = meridian::steer::kMaxRouteTargets;
    const uint32_t route_line = static_cast<uint32_t>(9 + 2 * (kMax + 1) + 1);
    SECTION("exactly the maximum loads with every target") {
        const LoadedZoneFile r = load_zone_text(zone_with_many_regions(kMax + 1) +
                                                "[[names.app.route]]\nto = " + region_list(kMax) + "\n");
        INFO(r.diagnostics.format_all());
        REQUIRE(r.zone() != nullptr);
        CHECK(r.zone()->policy().names[0].routes[0].targets.size() == kMax);
    }
    SECTION("one more in \"to\": reported at the first that does not fit") {
        const std::string list = region_list(kMax + 1);
        const LoadedZoneFile r = load_zone_text(zone_with_many_regions(kMax + 1) + "[[names.app.route]]\nto = " + list +
                                                "\n");
        const uint32_t column = static_cast<uint32_t>(6 + list.find("\"r" + std::to_string(kMax) + "\""));
        check_single_error(r, route_line + 1, column,
                           "a route may name at most " + std::to_string(kMax) + " regions, not " +
                               std::to_string(kMax + 1));
    }
    SECTION("no \"to\" in a zone with one region more: reported at the route") {
        const LoadedZoneFile r = load_zone_text(zone_with_many_regions(kMax + 1) + "[[names.app.route]]\n");
        check_single_error(r, route_line, 1,
                           "a route may name at most " + std::to_string(kMax) + " regions: this one has no \"to\"");
    }
}

// ---- docs ---------------------------------------------------------------------------------------

TEST_CASE("docs/CONFIG.md's settings tables are exactly the schema (meridiand --schema)", "[config]") {
    std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/docs/CONFIG.md");
    REQUIRE(in);
    std::stringstream doc;
    doc << in.rdbuf();
    const std::string text = doc.str();
    const std::string begin = "<!-- BEGIN meridiand --schema: generated, do not edit -->\n";
    const std::string end = "<!-- END meridiand --schema -->";
    const std::size_t from = text.find(begin);
    const std::size_t to = text.find(end);
    REQUIRE(from != std::string::npos);
    REQUIRE(to != std::string::npos);
    INFO("regenerate it with tools/dev/update-config-doc.py (make schema-doc)");
    CHECK(text.substr(from + begin.size(), to - from - begin.size()) ==
          "\n" + meridian::config::schema_markdown() + "\n");
}

TEST_CASE("meridian.toml(5) gives every numeric server setting the schema's range, default and old spelling",
          "[config]") {
    std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/packaging/man/meridian.toml.5");
    REQUIRE(in);
    std::stringstream page;
    page << in.rdbuf();
    const std::string man = page.str();
    for (const Setting& row : kSchema) {
        if (row.document != Document::server_config) continue;
        if (row.type != ValueType::integer && row.type != ValueType::duration) continue;
        CAPTURE(name_of(row));
        const bool is_duration = row.type == ValueType::duration;
        const auto bound = [&](int64_t v) {
            return is_duration ? format_duration_ms(static_cast<uint64_t>(v)) : std::to_string(v);
        };
        // .BR key " (integer, 1\(en100, default 10)"
        std::string entry = ".BR " + std::string(row.key) + " \" (" + (is_duration ? "duration" : "integer") + ", " +
                            bound(row.min) + "\\(en" + bound(row.max) + ", default";
        if (row.default_doc.empty()) entry += " " + meridian::config::default_text(row) + ")\"";
        CHECK(text_contains(man, entry));
        if (!row.alias.empty()) CHECK(text_contains(man, ".BR " + std::string(row.alias)));
    }
}

TEST_CASE("a forecast season is a whole number of buckets, at most kMaxSeasonBuckets; the state file is resolved",
          "[config]") {
    const LoadedConfig ok = load_config(std::string(kMinimal) +
                                        "[forecast]\nbucket = \"10s\"\nseason = \"1m\"\n"
                                        "state_file = \"state/f.json\"\n");
    INFO(ok.diagnostics.format_all());
    REQUIRE(ok.config.has_value());
    CHECK(ok.config->forecast.season_ms == 60000);
    CHECK(ok.config->forecast.state_file.filename() == "f.json");
    CHECK(ok.config->forecast.state_file.is_absolute());
    const LoadedConfig defaults = load_config(std::string(kMinimal));
    REQUIRE(defaults.config.has_value());
    CHECK(defaults.config->forecast.state_file.filename() == "meridian-forecast.json");

    const LoadedConfig odd = load_config(std::string(kMinimal) + "[forecast]\nbucket = \"7m\"\nseason = \"1h\"\n");
    CHECK_FALSE(odd.config.has_value());
    CHECK(odd.diagnostics.format_all().find("season must be a whole number of buckets, at most 10080 of them") !=
          std::string::npos);
    const LoadedConfig bucket_only = load_config(std::string(kMinimal) + "[forecast]\nbucket = \"7m\"\n");
    CHECK_FALSE(bucket_only.config.has_value());  // 1d is not a whole number of 7m buckets
    const LoadedConfig too_many = load_config(std::string(kMinimal) +
                                              "[forecast]\nbucket = \"10s\"\nseason = \"168h\"\n");
    CHECK_FALSE(too_many.config.has_value());
}

#include "config/snapshot_loader.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <system_error>

#include "common/log.hpp"
#include "config/zone_file.hpp"
#include "dns/name.hpp"
#include "zone/zone_builder.hpp"

namespace meridian::config {

namespace {

// A directory contributes its *.toml files, in name order so that errors come out stably.
std::vector<std::filesystem::path> zone_files(const ZonePath& entry, Diagnostics* diagnostics) {
    std::error_code ec;
    const auto status = std::filesystem::status(entry.path, ec);
    if (ec || !std::filesystem::exists(status)) {
        diagnostics->error(entry.where, "zone path " + entry.path.string() + " does not exist");
        return {};
    }
    if (!std::filesystem::is_directory(status)) return {entry.path};
    std::vector<std::filesystem::path> files;
    for (const auto& item : std::filesystem::directory_iterator(entry.path, ec)) {
        if (item.path().extension() == ".toml" && item.is_regular_file()) files.push_back(item.path());
    }
    if (ec) diagnostics->error(entry.where, "cannot list zone directory " + entry.path.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

// "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353": port 53 unless given.
bool parse_notify_target(const std::string& text, answer::NotifyTarget* out) {
    ListenAddress parsed;
    const bool is_bare_v6 = text.find(':') != text.rfind(':') && text.front() != '[';
    const bool has_port = !is_bare_v6 && text.find(':') != std::string::npos;
    const std::string with_port = has_port ? text : (is_bare_v6 ? "[" + text + "]:53" : text + ":53");
    if (!parse_listen_address(with_port, &parsed)) return false;
    out->address = parsed.address;
    out->address_size = parsed.address_size;
    out->text = with_port;
    return true;
}

// A zone's [transfer] with its key checked against the server's keys and its secondaries parsed.
void add_transfer(const ServerConfig& config, const std::string& origin, const TransferConfig& t,
                  Diagnostics* diagnostics, answer::AnswerSettings* settings) {
    answer::ZoneTransfer transfer;
    transfer.allow = t.allow;
    if (!t.key.empty()) {
        const auto found = std::find_if(config.keys.begin(), config.keys.end(),
                                        [&](const TsigKeyConfig& k) { return k.name == t.key; });
        if (found == config.keys.end()) {
            std::string known;
            for (const TsigKeyConfig& k : config.keys) known += (known.empty() ? "" : ", ") + k.name;
            diagnostics->error(t.key_where, "unknown key \"" + t.key + "\" in [transfer] (" +
                                                (known.empty() ? std::string("the server config has no [keys.NAME]")
                                                               : "the server config has " + known) +
                                                ")");
        } else {
            transfer.key = found->wire_name;
        }
    }
    for (const auto& [text, where] : t.notify) {
        answer::NotifyTarget target;
        if (!parse_notify_target(text, &target)) {
            diagnostics->error(where, "\"" + text + "\" is not ADDRESS or ADDRESS:PORT");
            continue;
        }
        transfer.notify.push_back(std::move(target));
    }
    settings->transfers[origin] = std::move(transfer);
}

// The key files' zone name: lower case, no trailing dot ("example.com"; "." for the root).
std::string key_zone_name(std::string_view origin) {
    std::string text = dns::name_to_text(origin);
    if (text.size() > 1 && text.back() == '.') text.pop_back();
    return text;
}

}  // namespace

std::shared_ptr<const zone::Zone> sign_loaded_zone(std::shared_ptr<const zone::Zone> zone, const DnssecConfig& d,
                                                   int64_t now, Diagnostics* diagnostics, const std::string& owner) {
    const std::string name = key_zone_name(zone->origin());
    const std::string directory = d.keys.string();
    std::vector<std::string> bases = dnssec::key_files_in(directory, name);
    if (bases.empty() && d.generate) {
        std::string error;
        const auto algorithm = dnssec::algorithm_from_text(d.algorithm).value_or(dnssec::Algorithm::ecdsap256sha256);
        dnssec::Key key = dnssec::generate_key(name, algorithm, /*is_sep=*/true, now, &error);
        std::error_code ec;
        std::filesystem::create_directories(d.keys, ec);
        if (!key.private_key || ec || !dnssec::write_key(directory, &key, &error)) {
            diagnostics->error(d.where, "cannot make a key for " + name + " in " + directory + ": " +
                                            (ec ? ec.message() : error));
            return nullptr;
        }
        // Made by root before privileges are dropped: the user the server becomes must read it
        // on reloads.
        if (const struct passwd* pw = owner.empty() || geteuid() != 0 ? nullptr : getpwnam(owner.c_str())) {
            for (const char* suffix : {".key", ".private"}) {
                if (chown((key.path + suffix).c_str(), pw->pw_uid, pw->pw_gid) != 0)
                    log::warning("dnssec: cannot give " + key.path + suffix + " to " + owner + ": " +
                                 std::strerror(errno));
            }
        }
        log::info("dnssec: made key " + key.path + " (" + std::string(dnssec::algorithm_name(algorithm)) + ", tag " +
                  std::to_string(key.tag) + ") for " + name);
        bases = dnssec::key_files_in(directory, name);
    }
    if (bases.empty()) {
        diagnostics->error(d.where, "no keys for " + name + " in " + directory + " (make one with `meridiand keygen " +
                                        name + " --keys " + directory + "`, or set generate = true)");
        return nullptr;
    }
    auto config = std::make_shared<zone::SigningConfig>();
    config->windows.validity = static_cast<uint32_t>(d.validity_ms / 1000);
    config->windows.refresh = static_cast<uint32_t>(d.refresh_ms / 1000);
    config->dnskey_ttl = d.dnskey_ttl;
    config->publishes_cds = d.publishes_cds;
    bool ok = true;
    for (const std::string& base : bases) {
        auto key = std::make_shared<dnssec::Key>();
        std::string error;
        if (!dnssec::read_key(base, name, key.get(), &error)) {
            diagnostics->error(d.where, error);
            ok = false;
            continue;
        }
        config->keys.push_back(std::move(key));
    }
    if (!ok) return nullptr;
    std::string error;
    auto signed_zone = zone::ZoneBuilder::sign(std::move(zone), std::move(config), now, &error);
    if (!signed_zone) diagnostics->error(d.where, error);
    return signed_zone;
}

std::shared_ptr<const geo::GeoDatabases> open_geo_databases(const ServerConfig& config, Diagnostics* diagnostics) {
    auto databases = std::make_shared<geo::GeoDatabases>();
    bool ok = true;
    for (const GeoDatabaseConfig& entry : config.geoip) {
        std::error_code ec;
        if (!std::filesystem::exists(entry.path, ec)) {
            diagnostics->error(entry.where, "geoip database " + entry.path.string() + " does not exist");
            ok = false;
            continue;
        }
        std::string error;
        auto database = geo::Database::open(entry.path.string(), entry.fields, &error);
        if (!database) {
            diagnostics->error(entry.where, "geoip database " + error);
            ok = false;
            continue;
        }
        databases->add(std::move(database));
    }
    if (!ok) return nullptr;
    return databases;
}

std::unique_ptr<answer::Snapshot> load_snapshot(const ServerConfig& config, Diagnostics* diagnostics,
                                                const answer::Snapshot* previous) {
    const std::size_t errors_before = diagnostics->items().size();
    const int64_t now = std::time(nullptr);
    auto snapshot = std::make_unique<answer::Snapshot>();
    std::map<std::string, std::string> loaded_from;  // origin → file
    for (const ZonePath& entry : config.zones) {
        for (const auto& file : zone_files(entry, diagnostics)) {
            LoadedZone loaded = load_zone_file(file, diagnostics);
            if (!loaded.zone) continue;
            const std::string origin(loaded.zone->origin());
            const auto [it, is_new] = loaded_from.emplace(origin, file.string());
            if (!is_new) {
                diagnostics->error(loaded.origin_where,
                                   "zone " + dns::name_to_text(origin) + " is already loaded from " + it->second);
                continue;
            }
            // A zone that stays keeps counting where it was (its query counters carry over).
            std::shared_ptr<stats::ZoneStats> carried;
            if (previous != nullptr) {
                if (const zone::ServedZone* old = previous->zones.find_origin(loaded.zone->origin())) {
                    carried = old->runtime->shared_queries();
                }
            }
            if (loaded.transfer) add_transfer(config, origin, *loaded.transfer, diagnostics, &snapshot->settings);
            std::shared_ptr<const zone::Zone> model = std::move(loaded.zone);
            if (loaded.dnssec) {
                model = sign_loaded_zone(std::move(model), *loaded.dnssec, now, diagnostics, config.user);
                if (!model) continue;
            }
            auto runtime = std::make_shared<zone::ZoneRuntime>(*model, config.workers, std::move(carried));
            snapshot->zones.add(std::move(model), std::move(runtime));
        }
    }

    if (auto geo = open_geo_databases(config, diagnostics)) snapshot->geo = std::move(geo);

    answer::AnswerSettings& settings = snapshot->settings;
    const Identity& id = config.identity;
    settings.udp_max_payload = config.udp_max_payload;
    settings.nsid.assign(id.nsid.begin(), id.nsid.end());
    settings.is_chaos_enabled = id.is_chaos_enabled;
    settings.explain_acl = config.admin.explain_acl;
    for (const TsigKeyConfig& key : config.keys) settings.tsig_keys.push_back({key.wire_name, key.secret});
    if (!id.version.empty()) settings.version_txt = answer::txt_rdata(id.version);
    if (!id.hostname.empty()) settings.hostname_txt = answer::txt_rdata(id.hostname);
    if (!id.id_server.empty()) settings.id_server_txt = answer::txt_rdata(id.id_server);

    if (diagnostics->items().size() != errors_before) return nullptr;
    return snapshot;
}

}  // namespace meridian::config

#include "config/snapshot_loader.hpp"

#include <algorithm>
#include <map>
#include <system_error>

#include "config/zone_file.hpp"
#include "dns/name.hpp"

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

}  // namespace

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
            auto runtime = std::make_shared<zone::ZoneRuntime>(*loaded.zone, config.workers, std::move(carried));
            snapshot->zones.add(std::move(loaded.zone), std::move(runtime));
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

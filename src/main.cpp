// meridiand: reads the configuration, then either checks it (--check) or serves it.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "config/schema.hpp"
#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/name.hpp"
#include "dnssec/key.hpp"
#include "explain/explain.hpp"
#include "ops/recommendations.hpp"
#include "server/server.hpp"
#include "zone/signing.hpp"

namespace {

constexpr const char* kUsage =
    "usage: meridiand -c FILE [--check]\n"
    "       meridiand explain -c FILE NAME CLIENT [TYPE]\n"
    "       meridiand keygen ZONE [--keys DIR] [--algorithm ecdsap256sha256|ed25519] [--zsk]\n"
    "                        [--publish T] [--activate T] [--inactive T] [--delete T]\n"
    "       meridiand ds -c FILE ZONE\n"
    "       meridiand --schema\n"
    "  explain             show how NAME is answered for CLIENT: an address (the packet's source)\n"
    "                      or a subnet (sent as EDNS Client Subnet); TYPE defaults to A\n"
    "  keygen              make a key pair for ZONE in DIR (default: keys): a combined signing key\n"
    "                      (flags 257), or with --zsk a zone-signing key (256); times T are\n"
    "                      YYYYMMDDHHMMSS (UTC), now, or now+N with N in s, m, h or d; prints the\n"
    "                      files' path\n"
    "  ds                  print the DS records for ZONE's parent: its SEP keys published and not\n"
    "                      retired (what its CDS says)\n"
    "  -c, --config FILE   server configuration (TOML)\n"
    "      --check         load and validate everything, print the errors, exit 0 or 1\n"
    "      --schema        print every setting of the config and zone files (Markdown)\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n";

// "now", "now+90d", "+3600", "20270101000000" → seconds since the epoch.
std::optional<int64_t> parse_time(std::string_view text, int64_t now) {
    if (text.rfind("now", 0) == 0) text.remove_prefix(3);
    if (text.empty()) return now;
    if (text[0] == '+') {
        text.remove_prefix(1);
        int64_t unit = 1;
        if (!text.empty() && !std::isdigit(static_cast<unsigned char>(text.back()))) {
            const char u = text.back();
            unit = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 0;
            text.remove_suffix(1);
        }
        int64_t n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (unit == 0 || ec != std::errc{} || end != text.data() + text.size() || n < 0 || n > int64_t{1} << 40)
            return std::nullopt;
        return now + n * unit;
    }
    if (text.size() != 14 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::tm tm{};
    const std::string digits(text);
    tm.tm_year = std::stoi(digits.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(digits.substr(4, 2)) - 1;
    tm.tm_mday = std::stoi(digits.substr(6, 2));
    tm.tm_hour = std::stoi(digits.substr(8, 2));
    tm.tm_min = std::stoi(digits.substr(10, 2));
    tm.tm_sec = std::stoi(digits.substr(12, 2));
    return static_cast<int64_t>(timegm(&tm));
}

int keygen(int argc, char** argv) {
    std::string zone;
    std::string directory = "keys";
    std::string algorithm_text = "ecdsap256sha256";
    bool is_sep = true;
    const int64_t now = std::time(nullptr);
    meridian::dnssec::KeyTiming timing;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        std::optional<int64_t>* time = arg == "--publish"    ? &timing.publish
                                       : arg == "--activate" ? &timing.activate
                                       : arg == "--inactive" ? &timing.inactive
                                       : arg == "--delete"   ? &timing.remove
                                                             : nullptr;
        if (time != nullptr && has_value) {
            *time = parse_time(argv[++i], now);
            if (!*time) {
                std::fprintf(stderr, "meridiand keygen: %s \"%s\" is not a time\n", arg.c_str(), argv[i]);
                return 2;
            }
        } else if (arg == "--keys" && has_value) {
            directory = argv[++i];
        } else if (arg == "--algorithm" && has_value) {
            algorithm_text = argv[++i];
        } else if (arg == "--zsk") {
            is_sep = false;
        } else if (zone.empty() && !arg.empty() && arg[0] != '-') {
            zone = arg;
        } else {
            std::fprintf(stderr, "meridiand keygen: unknown argument \"%s\"\n%s", arg.c_str(), kUsage);
            return 2;
        }
    }
    const auto algorithm = meridian::dnssec::algorithm_from_text(algorithm_text);
    if (zone.empty() || !algorithm) {
        std::fprintf(stderr, "meridiand keygen: %s\n%s", zone.empty() ? "no zone given" : "unknown algorithm", kUsage);
        return 2;
    }
    if (zone.size() > 1 && zone.back() == '.') zone.pop_back();
    std::string error;
    meridian::dnssec::Key key = meridian::dnssec::generate_key(zone, *algorithm, is_sep, now, &error);
    // Times given replace those generate_key set (created = publish = activate = now).
    if (timing.publish) key.timing.publish = timing.publish;
    if (timing.activate) key.timing.activate = timing.activate;
    key.timing.inactive = timing.inactive;
    key.timing.remove = timing.remove;
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (!key.private_key || ec || !meridian::dnssec::write_key(directory, &key, &error)) {
        std::fprintf(stderr, "meridiand keygen: %s\n", ec ? ec.message().c_str() : error.c_str());
        return 1;
    }
    std::printf("%s\n", key.path.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "keygen") == 0) return keygen(argc, argv);
    std::string config_path;
    bool is_check = false;
    bool is_explain = false;
    bool is_ds = false;
    std::vector<std::string> operands;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i == 1 && arg == "explain") {
            is_explain = true;
        } else if (i == 1 && arg == "ds") {
            is_ds = true;
        } else if ((is_explain || is_ds) && !arg.empty() && arg[0] != '-') {
            operands.push_back(arg);
        } else if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--check") {
            is_check = true;
        } else if (arg == "--schema" && !is_explain) {
            std::fputs(meridian::config::schema_markdown().c_str(), stdout);
            return 0;
        } else if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "-V" || arg == "--version") {
            std::puts("meridiand " MERIDIAN_VERSION);
            return 0;
        } else {
            std::fprintf(stderr, "meridiand: unknown argument \"%s\"\n%s", arg.c_str(), kUsage);
            return 2;
        }
    }
    if (config_path.empty()) {
        std::fprintf(stderr, "meridiand: no configuration given\n%s", kUsage);
        return 2;
    }

    meridian::Diagnostics diagnostics;
    auto config = meridian::config::load_server_config(config_path, &diagnostics);
    std::unique_ptr<meridian::answer::Snapshot> snapshot;
    if (config) snapshot = meridian::config::load_snapshot(*config, &diagnostics);
    if (snapshot && is_check) meridian::ops::check_latency_matrix(config->recommendations, &diagnostics);
    if (!snapshot || diagnostics.has_errors()) {
        std::fputs(diagnostics.format_all().c_str(), stderr);
        std::fprintf(stderr, "meridiand: %zu error%s in %s\n", diagnostics.items().size(),
                     diagnostics.items().size() == 1 ? "" : "s", config_path.c_str());
        return 1;
    }
    if (is_explain) {
        if (operands.size() < 2 || operands.size() > 3) {
            std::fprintf(stderr, "meridiand: explain needs NAME CLIENT [TYPE]\n%s", kUsage);
            return 2;
        }
        meridian::explain::Request request{operands[0], operands.size() == 3 ? operands[2] : "A", operands[1], {}};
        int status = 0;
        for (const std::string& line : meridian::explain::explain(*snapshot, request)) {
            std::printf("%s\n", line.c_str());
            if (line.rfind("error:", 0) == 0) status = 1;
        }
        return status;
    }
    if (is_ds) {
        const auto origin = operands.size() == 1 ? meridian::dns::lower_wire_from_text(operands[0]) : std::nullopt;
        const meridian::zone::ServedZone* served = origin ? snapshot->zones.find_origin(*origin) : nullptr;
        if (served == nullptr || served->zone().signing() == nullptr) {
            std::fprintf(stderr, "meridiand ds: %s\n",
                         operands.size() != 1 ? "give one ZONE"
                         : served == nullptr  ? "no such zone in the configuration"
                                              : "the zone is not signed (no [dnssec] table)");
            return 1;
        }
        const meridian::zone::Signing& signing = *served->zone().signing();
        for (const meridian::dnssec::Key* key : signing.parent_keys)
            std::printf("%s\n", meridian::dnssec::ds_text(*key, signing.config->dnskey_ttl).c_str());
        return 0;
    }
    if (is_check) {
        std::printf("meridiand: %s is valid (%zu zones)\n", config_path.c_str(), snapshot->zones.zones().size());
        return 0;
    }
    meridian::log::info("loaded " + std::to_string(snapshot->zones.zones().size()) + " zones from " + config_path);
    return meridian::server::run_server(std::move(*config), std::move(snapshot));
}

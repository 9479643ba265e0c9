// meridiand: reads the configuration, then either checks it (--check) or serves it.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "config/schema.hpp"
#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "explain/explain.hpp"
#include "ops/recommendations.hpp"
#include "server/server.hpp"

namespace {

constexpr const char* kUsage =
    "usage: meridiand -c FILE [--check]\n"
    "       meridiand explain -c FILE NAME CLIENT [TYPE]\n"
    "       meridiand --schema\n"
    "  explain             show how NAME is answered for CLIENT: an address (the packet's source)\n"
    "                      or a subnet (sent as EDNS Client Subnet); TYPE defaults to A\n"
    "  -c, --config FILE   server configuration (TOML)\n"
    "      --check         load and validate everything, print the errors, exit 0 or 1\n"
    "      --schema        print every setting of the config and zone files (Markdown)\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n";

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    bool is_check = false;
    bool is_explain = false;
    std::vector<std::string> operands;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i == 1 && arg == "explain") {
            is_explain = true;
        } else if (is_explain && !arg.empty() && arg[0] != '-') {
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
    if (is_check) {
        std::printf("meridiand: %s is valid (%zu zones)\n", config_path.c_str(), snapshot->zones.zones().size());
        return 0;
    }
    meridian::log::info("loaded " + std::to_string(snapshot->zones.zones().size()) + " zones from " + config_path);
    return meridian::server::run_server(std::move(*config), std::move(snapshot));
}

// meridianctl: the operator's command line for a running meridiand, through its admin API.
//   status | check | reload | explain NAME CLIENT [--type T] [--down REGION]... |
//   drain ZONE REGION [--for SECONDS] [--reason TEXT] | undrain ZONE REGION | override … | fleet |
//   recommend [ZONE] |
//   members show|set|add|remove|reset …
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: meridianctl [--admin URL] [--token TOKEN] [--json] COMMAND\n"
    "  status                                   regions, health, alerts\n"
    "  check                                    validate the configuration on disk (not applied)\n"
    "  reload                                   load the configuration and serve it\n"
    "  explain NAME CLIENT [--type T] [--down REGION]...\n"
    "                                           how NAME is answered for CLIENT (address or subnet),\n"
    "                                           optionally as if REGION were down\n"
    "  drain ZONE REGION [--for SECONDS] [--reason TEXT] [--node-only]\n"
    "  undrain ZONE REGION\n"
    "  override ZONE REGION up|down|drain [--for SECONDS] [--reason TEXT] [--node-only]\n"
    "                                           force a region up or down, or drain it; in fleet mode\n"
    "                                           on every node unless --node-only\n"
    "  fleet                                    the fleet's nodes: serials, configuration, last vote\n"
    "  recommend [ZONE]                         route changes that would lower clients' latency,\n"
    "                                           as TOML to paste (nothing is applied)\n"
    "  members show [ZONE [REGION]]             regions' addresses and where they come from\n"
    "  members set ZONE REGION ADDRESS...       replace a region's addresses (kept across restarts)\n"
    "  members add ZONE REGION ADDRESS... [--state up|down|drain] [--weight N] [--id ID]\n"
    "                                           add addresses, or change those already there\n"
    "  members remove ZONE REGION ADDRESS...    take addresses out\n"
    "  members reset ZONE REGION                back to the zone file's addresses\n"
    "defaults: --admin http://127.0.0.1:8019, --token from $MERIDIAN_TOKEN\n";

struct Options {
    std::string admin = "http://127.0.0.1:8019";
    std::string token;
    bool is_json = false;
    std::vector<std::string> words;
    std::string type = "A";
    std::vector<std::string> down;
    std::string reason;
    long expires_in = 0;
    bool is_node_only = false;  // overrides: this node only, not the fleet
    // members add
    std::string state;
    long weight = -1;
    std::string id;
};

// The fleet's nodes from /status: one line each, with what differs from the node asked.
void show_fleet(const nlohmann::json& status) {
    const nlohmann::json& fleet = status["fleet"];
    if (fleet.is_null()) {
        std::printf("not in fleet mode (no [fleet] in the server config)\n");
        return;
    }
    std::printf("node %s: %s%s\n", fleet["node"].get<std::string>().c_str(),
                fleet["partitioned"].get<bool>() ? "cut off from etcd: " : "joined",
                fleet["partitioned"].get<bool>() ? fleet["error"].dump().c_str() : "");
    for (const nlohmann::json& n : fleet["nodes"]) {
        std::string serials;
        for (const auto& [zone, serial] : n["serials"].items())
            serials += (serials.empty() ? "" : ", ") + zone + " " + serial.dump();
        std::string flags;
        if (!n["serial_mismatch"].empty()) flags += " SERIAL DIFFERS";
        if (n["config_mismatch"].get<bool>()) flags += " CONFIG DIFFERS";
        if (!n.value("live", true)) flags += " GONE since " + n["gone_since"].dump() + " (lease ran out)";
        std::printf("  %-16s %s config %s last vote %s%s%s\n", n["node"].get<std::string>().c_str(), serials.c_str(),
                    n["config_digest"].get<std::string>().c_str(),
                    n["last_vote"].is_null() ? "never" : n["last_vote"].dump().c_str(),
                    n["self"].get<bool>() ? " (this node)" : "", flags.c_str());
    }
}

int usage(const char* problem) {
    std::fprintf(stderr, "meridianctl: %s\n%s", problem, kUsage);
    return 2;
}

// Prints the reply; returns the exit status: 0 for 2xx, 1 for an answer that says no, 2 when
// the server could not be reached.
int finish(const httplib::Result& result, const Options& options,
           const std::function<void(const nlohmann::json&)>& show) {
    if (!result) {
        std::fprintf(stderr, "meridianctl: cannot reach %s: %s\n", options.admin.c_str(),
                     httplib::to_string(result.error()).c_str());
        return 2;
    }
    const nlohmann::json body = nlohmann::json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    const bool is_ok = result->status >= 200 && result->status < 300;
    if (options.is_json || body.is_discarded()) {
        std::fputs(result->body.c_str(), stdout);
    } else if (!is_ok && body.contains("error")) {
        std::fprintf(stderr, "meridianctl: %s (HTTP %d)\n", body["error"].get<std::string>().c_str(), result->status);
    } else {
        show(body);
    }
    return is_ok ? 0 : 1;
}

void show_status(const nlohmann::json& s) {
    std::printf("node %s, up %lld s, %zu workers, %llu udp + %llu tcp queries\n", s["node"].get<std::string>().c_str(),
                s["uptime_seconds"].get<long long>(), s["workers"].get<std::size_t>(),
                s["queries"]["udp"].get<unsigned long long>(), s["queries"]["tcp"].get<unsigned long long>());
    for (const auto& a : s["alerts"])
        std::printf("ALERT %s: %s\n", a["severity"].get<std::string>().c_str(),
                    a["message"].get<std::string>().c_str());
    for (const auto& z : s["zones"]) {
        std::printf("zone %s serial %llu\n", z["origin"].get<std::string>().c_str(),
                    z["serial"].get<unsigned long long>());
        for (const auto& r : z["regions"]) {
            std::string state = r["state"].get<std::string>();
            if (!r["override"].is_null()) state += " (" + r["override"]["action"].get<std::string>() + ")";
            const std::string latency = r["latency_ms"].is_null()
                                            ? "none"
                                            : std::to_string(r["latency_ms"].get<unsigned>()) + " ms";
            std::printf("  %-20s %-22s %9s %6.1f %%  %10llu answers  %s\n", r["name"].get<std::string>().c_str(),
                        state.c_str(), latency.c_str(), r["success_rate"].get<double>() * 100,
                        r["answers"].get<unsigned long long>(), r["reason"].get<std::string>().c_str());
            if (!r.contains("members") || r["members"].is_null()) continue;
            for (const auto& m : r["members"]) {
                const std::string member_latency = m["latency_ms"].is_null()
                                                       ? "none"
                                                       : std::to_string(m["latency_ms"].get<unsigned>()) + " ms";
                std::printf("    %-18s %-22s %9s %6.1f %%  %-10s %s\n", m["address"].get<std::string>().c_str(),
                            (m["state"].get<std::string>() +
                             (m["source_state"] == "up" ? "" : " (" + m["source_state"].get<std::string>() + ")"))
                                .c_str(),
                            member_latency.c_str(), m["success_rate"].get<double>() * 100,
                            m["answered"].get<bool>() ? "answered" : "left out",
                            m["reason"].get<std::string>().c_str());
            }
        }
    }
}

void show_lines(const nlohmann::json& body) {
    for (const auto& line : body["lines"]) std::printf("%s\n", line.get<std::string>().c_str());
}

void show_check(const nlohmann::json& body) {
    if (body["ok"].get<bool>()) std::printf("configuration is valid (%zu zones)\n", body["zones"].get<std::size_t>());
    for (const auto& e : body["errors"]) std::printf("%s\n", e.get<std::string>().c_str());
}

void show_recommendations(const nlohmann::json& body) {
    const nlohmann::json& matrix = body["latency_matrix"];
    if (matrix.is_null()) {
        std::printf("latencies estimated from distance (no [recommendations] latency_matrix)\n");
    } else if (matrix.contains("errors")) {
        std::printf("latency matrix %s NOT used:\n", matrix["file"].get<std::string>().c_str());
        for (const auto& e : matrix["errors"]) std::printf("  %s\n", e.get<std::string>().c_str());
    } else {
        std::printf("latency matrix %s: %zu measurements\n", matrix["file"].get<std::string>().c_str(),
                    matrix["entries"].get<std::size_t>());
    }
    std::size_t count = 0;
    for (const auto& z : body["zones"]) {
        for (const auto& n : z["names"]) {
            const auto& list = n["recommendations"];
            std::printf("%s (%.0f sampled answers): %s\n", n["name"].get<std::string>().c_str(),
                        n["sampled_answers"].get<double>(), list.empty() ? "no change recommended" : "");
            for (const auto& r : list) {
                ++count;
                std::printf("\n%s\n", r["toml"].get<std::string>().c_str());
            }
        }
    }
    if (count > 0) std::printf("%zu recommendation%s; nothing was applied.\n", count, count == 1 ? "" : "s");
}

// One region's members: "geo.example.com./us-east-1 (push): 198.51.100.11 up, …".
void show_region_members(const nlohmann::json& r) {
    std::printf("%s/%s (%s):", r["zone"].get<std::string>().c_str(), r["region"].get<std::string>().c_str(),
                r["source"].get<std::string>().c_str());
    if (r["members"].empty()) std::printf(" no addresses");
    const char* separator = " ";
    for (const auto& m : r["members"]) {
        std::printf("%s%s", separator, m["address"].get<std::string>().c_str());
        if (m["state"] != "up") std::printf(" %s", m["state"].get<std::string>().c_str());
        if (m["weight"] != 1) std::printf(" weight %u", m["weight"].get<unsigned>());
        if (m.contains("id")) std::printf(" (%s)", m["id"].get<std::string>().c_str());
        separator = ", ";
    }
    std::printf("\n");
}

void show_members(const nlohmann::json& body) {
    if (!body.contains("regions")) return show_region_members(body);
    for (const auto& r : body["regions"]) show_region_members(r);
}

// members set|add|remove|reset|show: the admin API's /members endpoints.
int members_command(httplib::Client& client, const Options& o) {
    const std::vector<std::string>& w = o.words;
    const std::string action = w.size() > 1 ? w[1] : "show";
    if (action == "show" && w.size() <= 4) {
        if (w.size() == 4) return finish(client.Get("/members/" + w[2] + "/" + w[3]), o, show_members);
        httplib::Params params;
        if (w.size() == 3) params.emplace("zone", w[2]);
        return finish(client.Get("/members", params, httplib::Headers{}), o, show_members);
    }
    if (w.size() < 4) return usage(("members " + action + " needs ZONE REGION").c_str());
    const std::string path = "/members/" + w[2] + "/" + w[3];
    if (action == "reset" && w.size() == 4) return finish(client.Delete(path), o, show_members);
    if (w.size() < 5 || (action != "set" && action != "add" && action != "remove"))
        return usage(("bad members command: " + action).c_str());
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 4; i < w.size(); ++i) {
        if (action == "remove") {
            list.push_back(w[i]);
            continue;
        }
        nlohmann::json member = {{"address", w[i]}};
        if (!o.state.empty()) member["state"] = o.state;
        if (o.weight >= 0) member["weight"] = o.weight;
        if (!o.id.empty()) member["id"] = o.id;
        list.push_back(std::move(member));
    }
    if (action == "set")
        return finish(client.Put(path, nlohmann::json{{"members", list}}.dump(), "application/json"), o, show_members);
    const nlohmann::json patch = {{action == "add" ? "members" : "remove", list}};
    return finish(client.Patch(path, patch.dump(), "application/json"), o, show_members);
}

int run(int argc, char** argv) {
    Options o;
    if (const char* token = std::getenv("MERIDIAN_TOKEN")) o.token = token;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "meridianctl: %s needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--admin") o.admin = value("--admin");
        else if (arg == "--token") o.token = value("--token");
        else if (arg == "--json") o.is_json = true;
        else if (arg == "--type") o.type = value("--type");
        else if (arg == "--down") o.down.push_back(value("--down"));
        else if (arg == "--reason") o.reason = value("--reason");
        else if (arg == "--for") o.expires_in = std::strtol(value("--for").c_str(), nullptr, 10);
        else if (arg == "--node-only") o.is_node_only = true;
        else if (arg == "--state") o.state = value("--state");
        else if (arg == "--weight") {
            // A whole number from 0 to 1000, all of it: "5x" or "" is a mistake, not 5 or 0.
            const std::string text = value("--weight");
            char* end = nullptr;
            const long weight = std::strtol(text.c_str(), &end, 10);
            if (text.empty() || *end != '\0' || weight < 0 || weight > 1000)
                return usage(("--weight must be a whole number from 0 to 1000, not \"" + text + "\"").c_str());
            o.weight = weight;
        } else if (arg == "--id") o.id = value("--id");
        else if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (!arg.empty() && arg[0] == '-') {
            return usage(("unknown option " + arg).c_str());
        } else {
            o.words.push_back(arg);
        }
    }
    if (o.words.empty()) return usage("no command");

    httplib::Client client(o.admin);
    client.set_connection_timeout(3, 0);
    client.set_read_timeout(15, 0);
    if (!o.token.empty()) client.set_bearer_token_auth(o.token.c_str());
    const std::string& command = o.words[0];
    const std::size_t operands = o.words.size() - 1;

    if (command == "status" && operands == 0) return finish(client.Get("/status"), o, show_status);
    if (command == "check" && operands == 0) return finish(client.Get("/check"), o, show_check);
    if (command == "reload" && operands == 0)
        return finish(client.Post("/reload", "", "application/json"), o, show_check);
    if (command == "explain" && operands == 2) {
        httplib::Params params{{"name", o.words[1]}, {"client", o.words[2]}, {"type", o.type}};
        for (const std::string& region : o.down) params.emplace("down", region);
        return finish(client.Get("/explain", params, httplib::Headers{}), o, show_lines);
    }
    if (command == "recommend" && operands <= 1) {
        httplib::Params params;
        if (operands == 1) params.emplace("zone", o.words[1]);
        return finish(client.Get("/recommendations", params, httplib::Headers{}), o, show_recommendations);
    }
    if (((command == "drain" || command == "undrain") && operands == 2) || (command == "override" && operands == 3)) {
        const std::string path = "/regions/" + o.words[1] + "/" + o.words[2] + "/override";
        auto show = [&](const nlohmann::json& body) {
            const std::string scope = body.value("scope", std::string());
            std::printf("%s %s: %s%s\n", body["zone"].get<std::string>().c_str(),
                        body["region"].get<std::string>().c_str(), body["action"].get<std::string>().c_str(),
                        scope == "fleet" ? " (every node of the fleet)" : "");
        };
        if (command == "undrain") return finish(client.Delete(path), o, show);
        const std::string action = command == "drain" ? "drain" : o.words[3];
        if (action != "up" && action != "down" && action != "drain")
            return usage(("override takes up, down or drain, not " + action).c_str());
        nlohmann::json request = {{"action", action}};
        if (!o.reason.empty()) request["reason"] = o.reason;
        if (o.expires_in > 0) request["expires_in"] = o.expires_in;
        if (o.is_node_only) request["scope"] = "node";
        return finish(client.Put(path, request.dump(), "application/json"), o, show);
    }
    if (command == "fleet" && operands == 0) return finish(client.Get("/status"), o, show_fleet);
    if (command == "members") return members_command(client, o);
    return usage(("bad command or operands: " + command).c_str());
}

}  // namespace

// A reply without the fields a command prints (say, from another version of meridiand) ends in a
// message and status 2, as when the server cannot be reached, not in std::terminate.
int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "meridianctl: unexpected reply: %s\n", e.what());
        return 2;
    }
}

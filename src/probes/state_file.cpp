#include "probes/state_file.hpp"

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include "common/toml_text.hpp"

namespace meridian::probes {

namespace {

// The largest load or latency (ms) a state file may give: within what the health board holds.
constexpr double kMaxStateFileNumber = 100000;

bool parse_state(const std::string& text, health::State* out) {
    if (text == "up" || text == "healthy") *out = health::State::healthy;
    else if (text == "degraded") *out = health::State::degraded;
    else if (text == "down" || text == "unhealthy") *out = health::State::unhealthy;
    else return false;
    return true;
}

}  // namespace

bool read_state_file(const std::string& path, std::map<std::string, StateFileEntry>* out, std::string* error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *error = path + ": cannot read the state file";
        return false;
    }
    std::stringstream content;
    content << in.rdbuf();
    const std::string text = content.str();

    // Both formats are brought to JSON, which is then read one way.
    nlohmann::json document;
    const bool is_toml = path.size() >= 5 && path.compare(path.size() - 5, 5, ".toml") == 0;
    if (is_toml) {
        if (const auto at = non_ascii_outside_toml_strings(text)) {
            *error = path + ":" + std::to_string(at->line) + ":" + std::to_string(at->column) +
                     ": a character outside ASCII outside a string or a comment (TOML allows them only there)";
            return false;
        }
        try {
            std::stringstream as_json;
            as_json << toml::json_formatter{toml::parse(text, path)};
            document = nlohmann::json::parse(as_json.str());
        } catch (const toml::parse_error& e) {
            *error = path + ":" + std::to_string(e.source().begin.line) + ":" +
                     std::to_string(e.source().begin.column) + ": " + std::string(e.description());
            return false;
        }
    } else {
        document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (document.is_discarded()) {
            *error = path + ": not valid JSON";
            return false;
        }
    }
    if (!document.is_object() || !document.contains("regions") || !document["regions"].is_object()) {
        *error = path + ": expected an object with a \"regions\" object";
        return false;
    }
    std::map<std::string, StateFileEntry> entries;
    for (const auto& [region, value] : document["regions"].items()) {
        StateFileEntry entry;
        std::string state;
        if (value.is_string()) {
            state = value.get<std::string>();
        } else if (value.is_object() && value.contains("state") && value["state"].is_string()) {
            state = value["state"].get<std::string>();
            if (value.contains("reason") && value["reason"].is_string())
                entry.reason = value["reason"].get<std::string>();
            for (const auto& [key, has, number] : {std::tuple{"load", &entry.has_load, &entry.load},
                                                   std::tuple{"latency_ms", &entry.has_latency, &entry.latency_ms}}) {
                if (!value.contains(key)) continue;
                const auto& field = value[key];
                if (!field.is_number() || field.get<double>() < 0 || field.get<double>() > kMaxStateFileNumber) {
                    *error = path + ": region \"" + region + "\" has \"" + key +
                             "\" that is not a number from 0 to 100000";
                    return false;
                }
                *has = true;
                *number = field.get<double>();
            }
        } else {
            *error = path + ": region \"" + region + "\" needs a state string or {\"state\": …}";
            return false;
        }
        if (!parse_state(state, &entry.state)) {
            *error = path + ": region \"" + region + "\" has unknown state \"" + state + "\" (up, degraded, down)";
            return false;
        }
        if (entry.reason.empty()) entry.reason = "state file says " + state;
        entries[region] = entry;
    }
    *out = std::move(entries);
    return true;
}

}  // namespace meridian::probes

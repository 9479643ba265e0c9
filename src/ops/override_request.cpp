#include "ops/override_request.hpp"

#include <cstdint>

namespace meridian::ops {

namespace {

constexpr int64_t kMaxExpirySeconds = int64_t{366} * 86400;
constexpr std::size_t kMaxReasonBytes = 500;

std::optional<Override> refuse(std::string* error, std::string message) {
    *error = std::move(message);
    return std::nullopt;
}

}  // namespace

std::optional<Override> read_override_request(const nlohmann::json& request, SystemClock::time_point now,
                                              std::string* error) {
    const nlohmann::json action = request.value("action", nlohmann::json());
    Override o;
    if (action == "up") o.action = health::Override::force_up;
    else if (action == "down") o.action = health::Override::force_down;
    else if (action == "drain") o.action = health::Override::drain;
    else return refuse(error, "\"action\" must be \"up\", \"down\" or \"drain\"");
    o.set_at = now;
    if (request.contains("expires_in")) {
        const nlohmann::json& seconds = request["expires_in"];
        if (!seconds.is_number_integer() || seconds.get<int64_t>() <= 0 || seconds.get<int64_t>() > kMaxExpirySeconds) {
            return refuse(error,
                          "\"expires_in\" is a number of seconds from 1 to " + std::to_string(kMaxExpirySeconds));
        }
        o.expires = o.set_at + std::chrono::seconds(seconds.get<int64_t>());
    }
    if (request.contains("reason")) {
        if (!request["reason"].is_string() || request["reason"].get<std::string>().size() > kMaxReasonBytes) {
            return refuse(error,
                          "\"reason\" is a string of at most " + std::to_string(kMaxReasonBytes) + " characters");
        }
        o.reason = request["reason"].get<std::string>();
    }
    for (const auto& [field, value] : request.items()) {
        if (field != "action" && field != "expires_in" && field != "reason") {
            return refuse(error, "unknown field \"" + field + "\"");
        }
    }
    return o;
}

nlohmann::json override_set_reply(const RegionKey& key, const Override& o) {
    return {{"zone", key.zone},
            {"region", key.region},
            {"action", action_name(o.action)},
            {"reason", o.reason},
            {"expires_at", o.is_expiring() ? nlohmann::json(epoch_seconds(o.expires)) : nlohmann::json(nullptr)}};
}

nlohmann::json fleet_override_document(const RegionKey& key, const Override& o, const std::string& node) {
    nlohmann::json doc = override_set_reply(key, o);
    doc["set_at"] = epoch_seconds(o.set_at);
    doc["by"] = node;
    return doc;
}

std::optional<Override> read_fleet_override(const nlohmann::json& doc, std::string* error) {
    if (!doc.is_object()) return refuse(error, "not a JSON object");
    Override o;
    const nlohmann::json action = doc.value("action", nlohmann::json());
    if (action == "up") o.action = health::Override::force_up;
    else if (action == "down") o.action = health::Override::force_down;
    else if (action == "drain") o.action = health::Override::drain;
    else return refuse(error, "\"action\" must be \"up\", \"down\" or \"drain\"");
    const auto seconds = [&](const char* field) -> std::optional<int64_t> {
        const auto it = doc.find(field);
        if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
        return it->get<int64_t>();
    };
    const auto set_at = seconds("set_at");
    if (!set_at) return refuse(error, "\"set_at\" must be a time in unix seconds");
    o.set_at = SystemClock::time_point(std::chrono::seconds(*set_at));
    if (const auto it = doc.find("expires_at"); it != doc.end() && !it->is_null()) {
        const auto expires = seconds("expires_at");
        if (!expires || *expires <= *set_at) return refuse(error, "\"expires_at\" must be a time after \"set_at\"");
        o.expires = SystemClock::time_point(std::chrono::seconds(*expires));
    }
    if (const auto it = doc.find("reason"); it != doc.end() && it->is_string())
        o.reason = it->get<std::string>().substr(0, kMaxReasonBytes);
    if (const auto it = doc.find("by"); it != doc.end() && it->is_string()) o.by = it->get<std::string>();
    o.is_fleet = true;
    return o;
}

nlohmann::json override_cleared_reply(const RegionKey& key) {
    return {{"zone", key.zone}, {"region", key.region}, {"action", "none"}};
}

}  // namespace meridian::ops

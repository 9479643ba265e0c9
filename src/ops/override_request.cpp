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

nlohmann::json override_cleared_reply(const RegionKey& key) {
    return {{"zone", key.zone}, {"region", key.region}, {"action", "none"}};
}

}  // namespace meridian::ops

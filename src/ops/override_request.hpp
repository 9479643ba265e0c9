// The admin API's override documents: the body of PUT /regions/{zone}/{region}/override read
// into an Override (or the reason it is refused), and the replies to setting and clearing one.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ops/override_store.hpp"

namespace meridian::ops {

// {"action": "up|down|drain", "expires_in": SECONDS, "reason": TEXT}, set at `now`; nullopt with
// the message for a 400 in *error when a field is missing, out of range or unknown.
std::optional<Override> read_override_request(const nlohmann::json& request, SystemClock::time_point now,
                                              std::string* error);

// {"zone", "region", "action", "reason", "expires_at"}: what a PUT answers.
nlohmann::json override_set_reply(const RegionKey& key, const Override& o);
// Fleet mode: an override as every node reads it from etcd — override_set_reply with "set_at"
// and "by" (the node that took the request) — and back; nullopt with the reason for a document
// that is not one.
nlohmann::json fleet_override_document(const RegionKey& key, const Override& o, const std::string& node);
std::optional<Override> read_fleet_override(const nlohmann::json& doc, std::string* error);

// {"zone", "region", "action": "none"}: what a DELETE answers.
nlohmann::json override_cleared_reply(const RegionKey& key);

}  // namespace meridian::ops

// Reads the steering tables of a zone file — ecs, [checks], [regions], [cidrs], [locations], [names] —
// into a steer::Policy and the zone's health::CheckPlan, reporting every problem at its position
// (docs/POLICY.md).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/toml_reader.hpp"
#include "health/check_plan.hpp"
#include "steer/policy.hpp"

namespace meridian::config {

// Turns a name as written ("app", "@", "cdn.example.net.") into a lower-case wire name
// relative to the zone's origin; nullopt when it is not a valid name.
using NameResolver = std::function<std::optional<std::string>(const std::string& text)>;

// `base_dir` resolves relative paths (state files of `file` checks).
void read_policy(TableReader& root, const NameResolver& resolve, const std::string& base_dir, steer::Policy* policy,
                 health::CheckPlan* checks);

}  // namespace meridian::config

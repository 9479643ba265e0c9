// Load-time checks of a compiled policy that need the whole of it: routes that can never answer
// and CIDRs claimed by routes with different targets. Knows nothing of TOML.
#pragma once

#include "common/diagnostics.hpp"
#include "steer/policy.hpp"

namespace meridian::steer {

void check_policy(const Policy& policy, Diagnostics* diagnostics);

}  // namespace meridian::steer

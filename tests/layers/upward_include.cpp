// Must NOT compile: health is below steer, so the health layer cannot see steer's headers. The
// ctest test `layers_upward_include_fails` builds this and expects the compiler to refuse it.
#include "steer/policy.hpp"

int upward_include_probe() { return static_cast<int>(meridian::steer::kMaxAnswers); }

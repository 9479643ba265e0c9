// A count of every global operator new in the unit_tests binary (see alloc_counter.cpp), so
// that a test can prove the data plane allocates nothing (docs: STYLE.md, "The hot path").
#pragma once

#include <cstddef>

namespace meridian::test {

// Calls of any replaceable global operator new (all forms) since the program started.
std::size_t allocation_count() noexcept;

}  // namespace meridian::test

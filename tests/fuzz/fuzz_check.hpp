// Invariant checks shared by the fuzz targets: a broken invariant aborts with a message, so
// libFuzzer saves the input and the replay test fails, exactly as for a sanitizer report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace meridian::fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
    std::abort();
}

}  // namespace meridian::fuzz

#define FUZZ_CHECK(condition) \
    ((condition) ? static_cast<void>(0) : ::meridian::fuzz::fail(#condition, __FILE__, __LINE__))

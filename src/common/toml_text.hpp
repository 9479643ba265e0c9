// A check of TOML text before toml++ reads it. TOML allows non-ASCII characters only inside
// strings and comments; toml++ 3.3 (Debian 12) reaches undefined behaviour (a
// __builtin_unreachable in its whitespace tables) on some of them elsewhere, e.g. U+00A1–U+0499
// in a bare key (found by the state_file fuzz target). So every reader of TOML first asks this
// scan for the first non-ASCII byte outside strings and comments, or after a line-ending
// backslash of a multi-line string, and reports it as an error instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace meridian {

struct TextPosition {
    uint32_t line = 1;    // 1-based
    uint32_t column = 1;  // 1-based, in bytes
};

std::optional<TextPosition> non_ascii_outside_toml_strings(std::string_view text) noexcept;

}  // namespace meridian

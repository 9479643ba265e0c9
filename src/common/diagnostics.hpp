// Control-plane error reporting: every problem found while loading configuration, with the
// file, line and column it comes from, printed like a compiler does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace meridian {

struct SourceLocation {
    std::string file;
    uint32_t line = 0;    // 1-based; 0 when unknown
    uint32_t column = 0;  // 1-based; 0 when unknown
};

struct Diagnostic {
    SourceLocation where;
    std::string message;

    // "file:line:column: message", dropping the parts that are unknown.
    std::string format() const;
};

class Diagnostics {
public:
    void error(SourceLocation where, std::string message);
    bool has_errors() const noexcept { return !items_.empty(); }
    const std::vector<Diagnostic>& items() const noexcept { return items_; }
    std::string format_all() const;  // one line per diagnostic

private:
    std::vector<Diagnostic> items_;
};

// The candidate closest to `word` by edit distance when it is close enough to be a likely typo.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace meridian

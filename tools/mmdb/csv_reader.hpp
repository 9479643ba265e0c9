// Reads the mmdb-build source CSV: RFC 4180-style fields (double quotes, "" escapes), with
// blank lines and lines starting with '#' skipped. Knows nothing about what the columns mean.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "diagnostics.hpp"

namespace mmdb {

struct CsvLine {
    std::size_t line = 0;             // 1-based line number in the file
    std::vector<std::string> fields;  // unquoted fields; unquoted ones are trimmed
};

// Longest accepted field, in bytes (keeps every string comfortably encodable).
inline constexpr std::size_t kMaxFieldBytes = 1024;

// Reads every non-blank, non-comment line of `path`. Lines that cannot be split into fields
// (bad quoting, invalid UTF-8, control characters) are reported to `diags` and left out.
// Returns false only when the file cannot be read at all (also reported).
bool read_csv(const std::string& path, std::vector<CsvLine>& out, Diagnostics& diags);

// True if `text` is well-formed UTF-8 without control characters (tab allowed); else sets `error`.
bool valid_text(const std::string& text, std::string& error);

// Splits one line (without its newline) into fields. On failure returns false and sets `error`.
bool split_csv_line(const std::string& text, std::vector<std::string>& fields, std::string& error);

}  // namespace mmdb

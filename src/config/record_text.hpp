// Splits RFC 1035 presentation-format text (RFC 1035 §5.1) into one entry per record, keeping the
// line and column where each starts: comments dropped, parenthesised groups joined into one line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meridian::config {

struct RecordText {
    std::string text;   // one line; starts with a blank when the owner is omitted
    uint32_t line = 0;  // where the record's first character is
    uint32_t column = 0;
};

struct RecordTextError {
    uint32_t line = 0;
    uint32_t column = 0;
    std::string message;
};

// `line`/`column` locate text[0] in the source file. With `ignore_common_indentation`, the
// indentation every line shares is layout (a block indented inside TOML), not an omitted owner.
std::vector<RecordText> split_records(std::string_view text, uint32_t line, uint32_t column,
                                      bool ignore_common_indentation, std::vector<RecordTextError>* errors);

}  // namespace meridian::config

#include "config/record_text.hpp"

namespace meridian::config {

namespace {

// The smallest indentation of the lines that hold anything but blanks and comments.
std::size_t common_indentation(std::string_view text) {
    std::size_t smallest = std::string_view::npos;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(pos, end - pos);
        const std::size_t first = line.find_first_not_of(" \t\r");
        if (first != std::string_view::npos && line[first] != ';' && first < smallest) smallest = first;
        pos = end + 1;
    }
    return smallest == std::string_view::npos ? 0 : smallest;
}

}  // namespace

std::vector<RecordText> split_records(std::string_view text, uint32_t line, uint32_t column,
                                      bool ignore_common_indentation, std::vector<RecordTextError>* errors) {
    std::vector<RecordText> out;
    RecordText current;
    bool has_content = false;
    bool in_quotes = false;
    int paren_depth = 0;
    uint32_t paren_line = 0, paren_column = 0;
    bool at_line_start = true;
    std::size_t line_indent = 0;
    const std::size_t common_indent = ignore_common_indentation ? common_indentation(text) : 0;

    auto flush = [&] {
        if (has_content) out.push_back(current);
        current = RecordText{};
        has_content = false;
    };

    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            if (in_quotes) {
                errors->push_back({current.line, current.column,
                                   "cannot parse record: quoted string not closed before the end of the line"});
                in_quotes = false;
                current = RecordText{};  // reported: do not parse it again
                has_content = false;
                paren_depth = 0;
            }
            if (paren_depth == 0) flush();
            else current.text += ' ';
            ++line;
            column = 1;
            at_line_start = true;
            line_indent = 0;
            continue;
        }
        const bool is_blank = c == ' ' || c == '\t' || c == '\r';
        if (!in_quotes && c == ';') {
            while (i + 1 < text.size() && text[i + 1] != '\n') ++i;  // comment to end of line
            continue;
        }
        if (!has_content && !is_blank) {
            if (c == '$') {
                errors->push_back({line, column,
                                   "directives such as $ORIGIN and $TTL are not supported: use the zone's "
                                   "\"origin\" and \"ttl\" keys"});
                while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
                continue;
            }
            has_content = true;
            current.line = line;
            current.column = column;
            // A record whose line starts with a blank reuses the previous owner (RFC 1035 §5.1).
            // Indentation shared by every line is the TOML layout, not a blank.
            if (line_indent > common_indent) current.text.push_back(' ');
        }
        if (at_line_start && is_blank) ++line_indent;
        else at_line_start = false;
        if (has_content) {
            if (in_quotes) {
                current.text += c;
                if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
                    current.text += text[++i];
                    ++column;
                } else if (c == '"') {
                    in_quotes = false;
                }
            } else if (c == '"') {
                in_quotes = true;
                current.text += c;
            } else if (c == '(') {
                if (paren_depth++ == 0) {
                    paren_line = line;
                    paren_column = column;
                }
                current.text += ' ';
            } else if (c == ')') {
                if (paren_depth == 0) errors->push_back({line, column, "\")\" without \"(\""});
                else --paren_depth;
                current.text += ' ';
            } else {
                current.text += is_blank ? ' ' : c;
            }
        }
        ++column;
    }
    if (paren_depth > 0) errors->push_back({paren_line, paren_column, "\"(\" is never closed"});
    flush();
    return out;
}

}  // namespace meridian::config

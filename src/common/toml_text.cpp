#include "common/toml_text.hpp"

namespace meridian {

std::optional<TextPosition> non_ascii_outside_toml_strings(std::string_view text) noexcept {
    enum class In { code, comment, basic, literal, multi_basic, multi_literal };
    In in = In::code;
    TextPosition at;
    const auto starts = [&](std::size_t i, std::string_view what) { return text.substr(i, what.size()) == what; };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const TextPosition here = at;
        if (c == '\n') {
            ++at.line;
            at.column = 1;
        } else {
            ++at.column;
        }
        switch (in) {
        case In::code:
            if (c >= 0x80) return here;
            if (c == '#') in = In::comment;
            else if (starts(i, "\"\"\"")) in = In::multi_basic, i += 2, at.column += 2;
            else if (starts(i, "'''")) in = In::multi_literal, i += 2, at.column += 2;
            else if (c == '"') in = In::basic;
            else if (c == '\'') in = In::literal;
            break;
        case In::comment:
            if (c == '\n') in = In::code;
            break;
        case In::basic:
            if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') ++i, ++at.column;
            else if (c == '"' || c == '\n') in = In::code;
            break;
        case In::literal:
            if (c == '\'' || c == '\n') in = In::code;
            break;
        case In::multi_basic:
            if (c == '\\') {
                // A line-ending backslash: toml++ skips the whitespace after it, character by
                // character, so the first thing after it must be ASCII.
                std::size_t j = i + 1;
                while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
                if (j < text.size() && text[j] == '\n') {
                    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'))
                        ++j;
                    if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80) {
                        TextPosition bad = at;
                        for (std::size_t k = i + 1; k < j; ++k) {
                            if (text[k] == '\n') ++bad.line, bad.column = 1;
                            else ++bad.column;
                        }
                        return bad;
                    }
                } else if (i + 1 < text.size() && text[i + 1] != '\n') {
                    ++i;  // an escaped character, such as \"
                    ++at.column;
                }
            } else if (starts(i, "\"\"\"")) {
                in = In::code;
                i += 2;
                at.column += 2;
            }
            break;
        case In::multi_literal:
            if (starts(i, "'''")) {
                in = In::code;
                i += 2;
                at.column += 2;
            }
            break;
        }
    }
    return std::nullopt;
}

}  // namespace meridian

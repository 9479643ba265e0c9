#include "csv_reader.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

namespace mmdb {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string trim(const std::string& s) {
    std::size_t begin = 0;
    std::size_t end = s.size();
    while (begin < end && is_space(s[begin])) {
        ++begin;
    }
    while (end > begin && is_space(s[end - 1])) {
        --end;
    }
    return s.substr(begin, end - begin);
}

}  // namespace

bool valid_text(const std::string& s, std::string& error) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                error = "control character in line";
                return false;
            }
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07u;
        } else {
            error = "invalid UTF-8 in line";
            return false;
        }
        if (i + len > s.size()) {
            error = "invalid UTF-8 in line";
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0u) != 0x80u) {
                error = "invalid UTF-8 in line";
                return false;
            }
            cp = (cp << 6) | (cc & 0x3fu);
        }
        const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
        const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
        if (overlong || surrogate || cp > 0x10ffff) {
            error = "invalid UTF-8 in line";
            return false;
        }
        i += len;
    }
    return true;
}

namespace {

bool is_skipped(const std::string& text) {
    for (char c : text) {
        if (is_space(c)) {
            continue;
        }
        return c == '#';
    }
    return true;  // blank
}

}  // namespace

bool split_csv_line(const std::string& text, std::vector<std::string>& fields, std::string& error) {
    fields.clear();
    if (!valid_text(text, error)) {
        return false;
    }
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (true) {
        // Skip leading blanks to see whether the field is quoted.
        std::size_t start = i;
        while (start < n && is_space(text[start])) {
            ++start;
        }
        std::string field;
        if (start < n && text[start] == '"') {
            std::size_t j = start + 1;
            bool closed = false;
            while (j < n) {
                if (text[j] == '"') {
                    if (j + 1 < n && text[j + 1] == '"') {
                        field += '"';
                        j += 2;
                        continue;
                    }
                    closed = true;
                    ++j;
                    break;
                }
                field += text[j++];
            }
            if (!closed) {
                error = "unterminated quoted field";
                return false;
            }
            while (j < n && is_space(text[j])) {
                ++j;
            }
            if (j < n && text[j] != ',') {
                error = "unexpected text after closing quote";
                return false;
            }
            i = j;
        } else {
            std::size_t j = i;
            while (j < n && text[j] != ',') {
                if (text[j] == '"') {
                    error = "stray double quote inside an unquoted field";
                    return false;
                }
                ++j;
            }
            field = trim(text.substr(i, j - i));
            i = j;
        }
        if (field.size() > kMaxFieldBytes) {
            error = "field longer than " + std::to_string(kMaxFieldBytes) + " bytes";
            return false;
        }
        fields.push_back(std::move(field));
        if (i >= n) {
            break;
        }
        ++i;  // skip the comma; a trailing comma yields a final empty field
    }
    return true;
}

bool read_csv(const std::string& path, std::vector<CsvLine>& out, Diagnostics& diags) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diags.error(path, 0, std::string("cannot open input: ") + std::strerror(errno));
        return false;
    }
    std::string text;
    std::size_t line_no = 0;
    while (std::getline(in, text)) {
        ++line_no;
        if (!text.empty() && text.back() == '\r') {
            text.pop_back();
        }
        if (line_no == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) {
            text.erase(0, 3);  // UTF-8 byte order mark
        }
        if (is_skipped(text)) {
            continue;
        }
        CsvLine line;
        line.line = line_no;
        std::string error;
        if (!split_csv_line(text, line.fields, error)) {
            diags.error(path, line_no, error);
            continue;
        }
        out.push_back(std::move(line));
    }
    if (in.bad()) {
        diags.error(path, 0, "read error");
        return false;
    }
    return true;
}

}  // namespace mmdb

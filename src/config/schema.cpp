#include "config/schema.hpp"

#include <cctype>
#include <cstdio>

namespace meridian::config {

std::optional<uint64_t> parse_duration_ms(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    const std::string_view unit = text.substr(digits);
    const uint64_t multiplier = unit == "ms"  ? 1
                                : unit == "s" ? 1000
                                : unit == "m" ? 60000
                                : unit == "h" ? 3600000
                                : unit == "d" ? 86400000
                                              : 0;
    // Twelve digits of hours, eleven of days, still fit 64 bits in milliseconds (< 1.8e19).
    if (digits == 0 || digits > (unit == "d" ? 11u : 12u) || multiplier == 0) return std::nullopt;
    uint64_t n = 0;
    for (std::size_t i = 0; i < digits; ++i) n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    return n * multiplier;
}

std::string format_duration_ms(uint64_t ms) {
    if (ms == 0) return "0s";
    if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
    if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

namespace {

std::string format_fraction(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

// "a, b, c" as "`a`, `b`, `c`".
std::string code_list(std::string_view list) {
    std::string out;
    while (!list.empty()) {
        const std::size_t comma = list.find(", ");
        out += (out.empty() ? "`" : ", `") + std::string(list.substr(0, comma)) + "`";
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 2);
    }
    return out;
}

std::string type_text(const Setting& s) {
    if (!s.shape.empty()) return std::string(s.shape);
    switch (s.type) {
    case ValueType::integer: return s.unit.empty() ? "integer" : "integer, " + std::string(s.unit);
    case ValueType::duration: return "duration";
    case ValueType::boolean: return "boolean";
    case ValueType::fraction: return "fraction";
    case ValueType::string: return "string";
    case ValueType::choice: return "one of";
    case ValueType::strings: return "list of strings";
    case ValueType::structure: return "table";
    }
    return "";
}

std::string meaning_text(const Setting& s) {
    std::string out(s.doc);
    if (!s.limit.empty()) out += ". Bounded by " + std::string(s.limit);
    if (!s.alias.empty()) out += ". Old spelling: `" + std::string(s.alias) + "`, an integer of milliseconds";
    return out;
}

}  // namespace

std::string default_text(const Setting& s) {
    if (s.is_required) return "required";
    if (!s.default_doc.empty()) return std::string(s.default_doc);
    switch (s.type) {
    case ValueType::integer: return std::to_string(s.number);
    case ValueType::duration: return format_duration_ms(static_cast<uint64_t>(s.number));
    case ValueType::boolean: return s.number != 0 ? "true" : "false";
    case ValueType::fraction: return format_fraction(s.fraction);
    case ValueType::string: return s.text.empty() ? "none" : "`\"" + std::string(s.text) + "\"`";
    case ValueType::choice: return "`" + std::string(s.text) + "`";
    case ValueType::strings:
    case ValueType::structure: return "none";
    }
    return "";
}

std::string range_text(const Setting& s) {
    switch (s.type) {
    case ValueType::integer: return std::to_string(s.min) + " – " + std::to_string(s.max);
    case ValueType::duration:
        return format_duration_ms(static_cast<uint64_t>(s.min)) + " – " +
               format_duration_ms(static_cast<uint64_t>(s.max));
    case ValueType::fraction: return "0 – 1";
    case ValueType::string: return s.max > 0 ? "at most " + std::to_string(s.max) + " bytes" : "";
    case ValueType::choice: return code_list(s.choices);
    case ValueType::strings: return s.max > 0 ? "at most " + std::to_string(s.max) : "";
    case ValueType::structure: return s.max > 0 ? std::to_string(s.min) + " – " + std::to_string(s.max) : "";
    case ValueType::boolean: return "";
    }
    return "";
}

std::string schema_markdown() {
    std::string out;
    const Document* document = nullptr;
    const std::string_view* table = nullptr;
    for (const Setting& s : kSchema) {
        if (document == nullptr || *document != s.document) {
            out += document == nullptr ? "" : "\n";
            out += s.document == Document::server_config ? "### Server configuration (meridian.toml)\n"
                                                         : "### Zone files\n";
            table = nullptr;
        }
        if (table == nullptr || *table != s.table) {
            out += "\n#### " + (s.table.empty() ? std::string("Top level") : "`" + std::string(s.table) + "`") + "\n\n";
            out += "| key | type | range | default | meaning |\n|---|---|---|---|---|\n";
        }
        document = &s.document;
        table = &s.table;
        out += "| `" + std::string(s.key) + "` | " + type_text(s) + " | " + range_text(s) + " | " + default_text(s) +
               " | " + meaning_text(s) + " |\n";
    }
    return out;
}

}  // namespace meridian::config

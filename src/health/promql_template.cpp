#include "health/promql_template.hpp"

#include <algorithm>
#include <optional>

namespace meridian::health {

namespace {

bool is_name_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_label_key_char(char c) noexcept { return is_name_char(c) || c == '-' || c == '.'; }

// A value placed between PromQL's double quotes: its escapes are Go's, and a raw line feed would
// end the string.
void append_promql_string(std::string_view value, std::string* out) {
    for (const char c : value) {
        switch (c) {
        case '\\': *out += "\\\\"; break;
        case '"': *out += "\\\""; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        default: *out += c;
        }
    }
}

// A placeholder in a PromQL template: `{name}` or `{name:key}`.
struct Placeholder {
    std::string_view name;
    bool has_key = false;
    std::string_view key;
    std::size_t end = std::string_view::npos;  // one past the closing brace; npos when there is none
};

// The placeholder whose '{' is templ[open], or nullopt when that brace is PromQL's own. PromQL
// never writes `{name}` or `{name:` (a label matcher has an operator, `{}` has no name, a regex
// repeat starts with a digit), so these shapes are unambiguous.
std::optional<Placeholder> placeholder_at(std::string_view templ, std::size_t open) noexcept {
    std::size_t end = open + 1;
    if (end >= templ.size() || !is_name_start(templ[end])) return std::nullopt;
    while (end < templ.size() && is_name_char(templ[end])) ++end;
    if (end >= templ.size() || (templ[end] != '}' && templ[end] != ':')) return std::nullopt;
    Placeholder placeholder;
    placeholder.name = templ.substr(open + 1, end - open - 1);
    if (templ[end] == '}') {
        placeholder.end = end + 1;
        return placeholder;
    }
    placeholder.has_key = true;
    const std::size_t close = templ.find('}', end);
    placeholder.key = templ.substr(end + 1, close == std::string_view::npos ? std::string_view::npos : close - end - 1);
    if (close != std::string_view::npos) placeholder.end = close + 1;
    return placeholder;
}

bool append_placeholder(const Placeholder& placeholder, const PromqlContext& context, std::string* out,
                        std::string* error) {
    const std::string name(placeholder.name);
    if (placeholder.has_key && name != "label") {
        *error = "unknown placeholder {" + name + ":…} (known: {region}, {zone}, {label:KEY})";
        return false;
    }
    if (placeholder.has_key) {
        const std::string_view key = placeholder.key;
        if (placeholder.end == std::string_view::npos || key.empty() ||
            !std::all_of(key.begin(), key.end(), is_label_key_char)) {
            *error = "{label:…} needs a label name and a closing brace (letters, digits, '_', '-', '.')";
            return false;
        }
        const auto label = std::find_if(context.labels.begin(), context.labels.end(),
                                        [&](const auto& pair) { return pair.first == key; });
        if (label == context.labels.end()) {
            *error = "{label:" + std::string(key) + "}: region \"" + context.region + "\" has no label \"" +
                     std::string(key) + "\"";
            return false;
        }
        append_promql_string(label->second, out);
    } else if (name == "region") {
        append_promql_string(context.region, out);
    } else if (name == "zone") {
        std::string_view zone = context.zone;
        if (zone.size() > 1 && zone.back() == '.') zone.remove_suffix(1);
        append_promql_string(zone, out);
    } else {
        *error = "unknown placeholder {" + name + "} (known: {region}, {zone}, {label:KEY})";
        return false;
    }
    return true;
}

}  // namespace

bool expand_promql(std::string_view templ, const PromqlContext& context, std::string* out, std::string* error) {
    if (templ.empty()) {
        *error = "the query is empty";
        return false;
    }
    std::string expanded;
    std::size_t at = 0;
    while (at < templ.size()) {
        const std::size_t open = templ.find('{', at);
        expanded += templ.substr(at, open == std::string_view::npos ? std::string_view::npos : open - at);
        if (open == std::string_view::npos) break;
        const auto placeholder = placeholder_at(templ, open);
        if (!placeholder) {
            expanded += '{';
            at = open + 1;
            continue;
        }
        if (!append_placeholder(*placeholder, context, &expanded, error)) return false;
        at = placeholder->end;
    }
    *out = std::move(expanded);
    return true;
}

}  // namespace meridian::health

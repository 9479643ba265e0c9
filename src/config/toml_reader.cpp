#include "config/toml_reader.hpp"

#include <algorithm>

namespace meridian::config {

SourceLocation location_of(const std::string& file, const toml::source_region& region) {
    return {file, region.begin.line, region.begin.column};
}

TableReader::TableReader(const toml::table& table, std::string context, std::string file, Diagnostics* diagnostics)
    : table_(table), context_(std::move(context)), file_(std::move(file)), diagnostics_(diagnostics) {}

const toml::node* TableReader::node(const std::string& key) {
    known_.push_back(key);
    return table_.get(key);
}

std::optional<std::string> TableReader::string(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    if (const auto* s = n->as_string()) return s->get();
    error(*n, "\"" + key + "\" in " + context_ + " must be a string");
    return std::nullopt;
}

std::optional<int64_t> TableReader::integer(const std::string& key, int64_t min, int64_t max, std::string_view limit) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    const auto* i = n->as_integer();
    if (i == nullptr) {
        error(*n, "\"" + key + "\" in " + context_ + " must be an integer");
        return std::nullopt;
    }
    if (i->get() < min || i->get() > max) {
        error(*n, "\"" + key + "\" in " + context_ + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", not " + std::to_string(i->get()) +
                      (limit.empty() ? "" : " (the limit is " + std::string(limit) + ")"));
        return std::nullopt;
    }
    return i->get();
}

std::optional<bool> TableReader::boolean(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    if (const auto* b = n->as_boolean()) return b->get();
    error(*n, "\"" + key + "\" in " + context_ + " must be true or false");
    return std::nullopt;
}

std::optional<double> TableReader::fraction(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    const auto v = n->value<double>();
    if (!n->is_number() || !v || *v < 0 || *v > 1) {
        error(*n, "\"" + key + "\" in " + context_ + " must be a fraction from 0 to 1");
        return std::nullopt;
    }
    return *v;
}

const toml::table* TableReader::table(const std::string& key) {
    const toml::node* n = node(key);
    if (n == nullptr) return nullptr;
    if (const auto* t = n->as_table()) return t;
    error(*n, "\"" + key + "\" in " + context_ + " must be a table");
    return nullptr;
}

std::vector<std::pair<std::string, SourceLocation>> TableReader::string_list(const std::string& key) {
    std::vector<std::pair<std::string, SourceLocation>> out;
    const toml::node* n = node(key);
    if (n == nullptr) return out;
    const auto* array = n->as_array();
    if (array == nullptr) {
        error(*n, "\"" + key + "\" in " + context_ + " must be an array of strings");
        return out;
    }
    for (const toml::node& element : *array) {
        if (const auto* s = element.as_string()) out.emplace_back(s->get(), where(element));
        else error(element, "\"" + key + "\" in " + context_ + " must hold only strings");
    }
    return out;
}

namespace {

// A value as the file writes it, for messages: "5 s" quoted, numbers as they are.
std::string as_written(const toml::node& n) {
    if (const auto* s = n.as_string()) return "\"" + s->get() + "\"";
    if (const auto* i = n.as_integer()) return std::to_string(i->get());
    if (const auto* f = n.as_floating_point()) return std::to_string(f->get());
    if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
    return n.is_array() ? "an array" : "a table";
}

}  // namespace

bool TableReader::read_number(const Setting& row, int64_t* out) {
    assert(row.type == ValueType::integer || row.type == ValueType::duration);
    *out = row.number;
    if (row.type == ValueType::duration) return read_duration(row, out);
    const auto value = integer(std::string(row.key), row.min, row.max, row.limit);
    if (value) *out = *value;
    return value.has_value();
}

// A duration is a string with a unit ("250ms", "5s", "2m", "1h"). Its old spelling, the key
// with "_ms", is still read as an integer of milliseconds; both at once is an error.
bool TableReader::read_duration(const Setting& row, int64_t* out) {
    const std::string key(row.key);
    const std::string alias(row.alias);
    const toml::node* given = node(key);
    const toml::node* old = alias.empty() ? nullptr : node(alias);
    if (given != nullptr && old != nullptr) {
        // At the key: the value may well be right, the key is what is too many.
        SourceLocation at = where(*old);
        for (const auto& [k, v] : table_) {
            if (k.str() == alias) at = location_of(file_, k.source());
        }
        diagnostics_->error(at, "\"" + alias + "\" is the old spelling of \"" + key + "\" in " + context_ +
                                    ": give only one of them");
        return false;
    }
    if (old != nullptr) {
        const auto value = integer(alias, row.min, row.max, row.limit);
        if (value) *out = *value;
        return value.has_value();
    }
    if (given == nullptr) return false;
    const auto* text = given->as_string();
    const auto ms = text != nullptr ? parse_duration_ms(text->get()) : std::nullopt;
    if (!ms) {
        std::string message = "\"" + key + "\" in " + context_ +
                              " must be a duration such as \"250ms\", \"5s\" or \"2m\", not " + as_written(*given);
        if (given->is_integer() && !alias.empty())
            message += " (or milliseconds as " + alias + " = " + as_written(*given) + ")";
        error(*given, message);
        return false;
    }
    if (*ms < static_cast<uint64_t>(row.min) || *ms > static_cast<uint64_t>(row.max)) {
        error(*given, "\"" + key + "\" in " + context_ + " must be between " +
                          format_duration_ms(static_cast<uint64_t>(row.min)) + " and " +
                          format_duration_ms(static_cast<uint64_t>(row.max)) + ", not " + as_written(*given) +
                          (row.limit.empty() ? "" : " (the limit is " + std::string(row.limit) + ")"));
        return false;
    }
    *out = static_cast<int64_t>(*ms);
    return true;
}

bool TableReader::read(const Setting& row, bool* out) {
    assert(row.type == ValueType::boolean);
    *out = row.number != 0;
    const auto value = boolean(std::string(row.key));
    if (value) *out = *value;
    return value.has_value();
}

bool TableReader::read(const Setting& row, double* out) {
    assert(row.type == ValueType::fraction);
    *out = row.fraction;
    const auto value = fraction(std::string(row.key));
    if (value) *out = *value;
    return value.has_value();
}

bool TableReader::read(const Setting& row, std::string* out) {
    assert(row.type == ValueType::string || row.type == ValueType::choice);
    *out = std::string(row.text);
    const std::string key(row.key);
    auto value = string(key);
    if (!value) return false;
    if (row.type == ValueType::string && row.max > 0 && value->size() > static_cast<uint64_t>(row.max)) {
        error(*node(key), key + " is longer than " + std::to_string(row.max) + " bytes" +
                              (row.limit.empty() ? "" : " (the limit is " + std::string(row.limit) + ")"));
        return false;
    }
    if (row.type == ValueType::choice) {
        bool is_known = false;
        for (std::string_view rest = row.choices; !rest.empty() && !is_known;) {
            const std::size_t comma = rest.find(", ");
            is_known = rest.substr(0, comma) == *value;
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
        }
        if (!is_known) {
            error(*node(key),
                  "unknown " + std::string(row.noun) + " \"" + *value + "\" (" + std::string(row.choices) + ")");
            return false;
        }
    }
    *out = std::move(*value);
    return true;
}

const toml::node* TableReader::node(const Setting& row) {
    const toml::node* n = node(std::string(row.key));
    if (n == nullptr && !row.alias.empty()) n = node(std::string(row.alias));
    return n;
}

std::vector<std::pair<std::string, SourceLocation>> TableReader::string_list(const Setting& row) {
    assert(row.type == ValueType::strings);
    return string_list(std::string(row.key));
}

void TableReader::require(const Setting& row) {
    assert(row.is_required);
    require(std::string(row.key));
}

void TableReader::require(const std::string& key) {
    if (table_.get(key) == nullptr) diagnostics_->error(where(), "missing \"" + key + "\" in " + context_);
}

void TableReader::finish() {
    for (const auto& [key, value] : table_) {
        const std::string name(key.str());
        if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
        std::string message = "unknown key \"" + name + "\" in " + context_;
        const std::string suggestion = closest_match(name, known_);
        if (!suggestion.empty()) message += " (did you mean \"" + suggestion + "\"?)";
        diagnostics_->error(location_of(file_, key.source()), message);
    }
}

}  // namespace meridian::config

#include "config/toml_reader.hpp"

#include <algorithm>

namespace meridian::config {

SourceLocation location_of(const std::string& file, const toml::source_region& region) {
    return {file, region.begin.line, region.begin.column};
}

TableReader::TableReader(const toml::table& table, std::string context, std::string file,
                         Diagnostics* diagnostics)
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

std::optional<int64_t> TableReader::integer(const std::string& key, int64_t min, int64_t max) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    const auto* i = n->as_integer();
    if (i == nullptr) {
        error(*n, "\"" + key + "\" in " + context_ + " must be an integer");
        return std::nullopt;
    }
    if (i->get() < min || i->get() > max) {
        error(*n, "\"" + key + "\" in " + context_ + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", not " + std::to_string(i->get()));
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

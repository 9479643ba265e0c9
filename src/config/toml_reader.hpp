// Typed, position-aware reads from one TOML table. Every key asked for is remembered, so that
// finish() can report the keys nobody asked for as unknown, with a did-you-mean.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "common/diagnostics.hpp"

namespace meridian::config {

SourceLocation location_of(const std::string& file, const toml::source_region& region);

class TableReader {
public:
    // `context` names the table in messages: "zone", "[soa]", "server config" …
    TableReader(const toml::table& table, std::string context, std::string file, Diagnostics* diagnostics);

    const toml::node* node(const std::string& key);
    std::optional<std::string> string(const std::string& key);
    std::optional<int64_t> integer(const std::string& key, int64_t min, int64_t max);
    std::optional<bool> boolean(const std::string& key);
    // A number from 0 to 1 (an integer 0 or 1 too).
    std::optional<double> fraction(const std::string& key);
    const toml::table* table(const std::string& key);
    // An array of strings, each with its location.
    std::vector<std::pair<std::string, SourceLocation>> string_list(const std::string& key);

    void require(const std::string& key);  // reports a missing key
    SourceLocation where() const { return location_of(file_, table_.source()); }
    SourceLocation where(const toml::node& n) const { return location_of(file_, n.source()); }
    void error(const toml::node& n, std::string message) { diagnostics_->error(where(n), std::move(message)); }
    const std::string& file() const { return file_; }
    Diagnostics* diagnostics() const { return diagnostics_; }

    // Reports every key present but never asked for.
    void finish();

private:
    const toml::table& table_;
    std::string context_;
    std::string file_;
    Diagnostics* diagnostics_;
    std::vector<std::string> known_;
};

}  // namespace meridian::config

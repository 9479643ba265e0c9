// Typed, position-aware reads from one TOML table. Every key asked for is remembered, so that
// finish() can report the keys nobody asked for as unknown, with a did-you-mean. Settings are
// read through their schema row (config/schema.hpp): its type, range, default and old spelling.
#pragma once

#include <cassert>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "common/diagnostics.hpp"
#include "config/schema.hpp"

namespace meridian::config {

SourceLocation location_of(const std::string& file, const toml::source_region& region);

class TableReader {
public:
    // `context` names the table in messages: "zone", "[soa]", "server config" …
    TableReader(const toml::table& table, std::string context, std::string file, Diagnostics* diagnostics);

    // Reads the row's key into *out: the file's value when it is given and valid, else the row's
    // default. True when the file gave a valid value. Integer rows and duration rows (in
    // milliseconds, the old `*_ms` spelling too) read into integers, fraction rows into double,
    // string and choice rows into std::string.
    template <std::integral T>
    requires(!std::same_as<T, bool>) bool read(const Setting& row, T* out) {
        assert(row.min >= static_cast<int64_t>(std::numeric_limits<T>::min()));
        assert(static_cast<uint64_t>(row.max) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
        int64_t value = 0;
        const bool is_given = read_number(row, &value);
        *out = static_cast<T>(value);
        return is_given;
    }
    bool read(const Setting& row, bool* out);
    bool read(const Setting& row, double* out);
    bool read(const Setting& row, std::string* out);
    // The row's key, or its old spelling when that is the one given.
    const toml::node* node(const Setting& row);
    std::vector<std::pair<std::string, SourceLocation>> string_list(const Setting& row);
    void require(const Setting& row);

    const toml::node* node(const std::string& key);
    std::optional<std::string> string(const std::string& key);
    // `limit`: the constant the range protects, named in the message.
    std::optional<int64_t> integer(const std::string& key, int64_t min, int64_t max, std::string_view limit = {});
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
    bool read_number(const Setting& row, int64_t* out);
    bool read_duration(const Setting& row, int64_t* out);

    const toml::table& table_;
    std::string context_;
    std::string file_;
    Diagnostics* diagnostics_;
    std::vector<std::string> known_;
};

}  // namespace meridian::config

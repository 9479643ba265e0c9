// Helpers for tests that load zone TOML written to temporary files and check the diagnostics:
// each error as `file:line:column: message`, found by its exact position and a keyword.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "common/diagnostics.hpp"
#include "config/zone_file.hpp"
#include "test_support.hpp"
#include "zone/zone.hpp"

namespace meridian::test {

struct LoadedZoneFile {
    std::string file;
    config::LoadedZone loaded;
    Diagnostics diagnostics;

    const zone::Zone* zone() const { return loaded.zone.get(); }
    const std::vector<Diagnostic>& errors() const { return diagnostics.items(); }
};

inline LoadedZoneFile load_zone_text(std::string_view content) {
    static TempDir dir;  // one directory for the run; each file gets its own name
    static int counter = 0;
    LoadedZoneFile result;
    result.file = dir.write("zone-" + std::to_string(counter++) + ".toml", content).string();
    result.loaded = config::load_zone_file(result.file, &result.diagnostics);
    return result;
}

inline bool text_contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// The one error reported is `file:line:column: …keyword…`, and the zone was not loaded.
inline void check_single_error(const LoadedZoneFile& r, uint32_t line, uint32_t column, std::string_view keyword) {
    INFO(r.diagnostics.format_all());
    CHECK(r.zone() == nullptr);
    REQUIRE(r.errors().size() == 1);
    const std::string formatted = r.errors()[0].format();
    const std::string prefix = r.file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    CHECK(formatted.substr(0, prefix.size()) == prefix);
    CHECK(text_contains(formatted, keyword));
}

// Some error is at line:column of this file and mentions keyword.
inline bool has_error(const LoadedZoneFile& r, uint32_t line, uint32_t column, std::string_view keyword) {
    return std::any_of(r.errors().begin(), r.errors().end(), [&](const Diagnostic& d) {
        return d.where.file == r.file && d.where.line == line && d.where.column == column &&
               text_contains(d.message, keyword);
    });
}

// Lines 1–9: a servable zone without steering, so that steering tables start on line 10.
inline constexpr std::string_view kZoneHead =
    "origin = \"example.net.\"\n"              // 1
    "records = \"\"\"\n"                       // 2
    "@    3600 IN NS ns1\n"                    // 3
    "ns1  3600 IN A  192.0.2.1\n"              // 4
    "\"\"\"\n"                                 // 5
    "[soa]\n"                                  // 6
    "primary = \"ns1.example.net.\"\n"         // 7
    "contact = \"hostmaster@example.net\"\n"   // 8
    "serial = 1\n";                            // 9

// Lines 10–15: three regions; a and b IPv4 only, c dual-stack.
inline constexpr std::string_view kThreeRegions =
    "[regions.a]\n"                                   // 10
    "addresses = [\"192.0.2.10\"]\n"                  // 11
    "[regions.b]\n"                                   // 12
    "addresses = [\"192.0.2.20\"]\n"                  // 13
    "[regions.c]\n"                                   // 14
    "addresses = [\"192.0.2.30\", \"2001:db8::30\"]\n";  // 15

// A zone of kZoneHead, kThreeRegions and then `steering`, whose first line is line 16.
inline std::string zone_with_regions(std::string_view steering) {
    return std::string(kZoneHead) + std::string(kThreeRegions) + std::string(steering);
}

}  // namespace meridian::test

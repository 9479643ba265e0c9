// One row of the source CSV: its network and the GeoIP2-City-shaped record it maps to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "network.hpp"

namespace mmdb {

// The CSV columns, in order. The first non-comment line of the source must be exactly this.
inline constexpr const char* kColumns[] = {
    "network", "continent", "country", "subdivision", "asn", "as_org", "latitude", "longitude",
};
inline constexpr std::size_t kColumnCount = sizeof kColumns / sizeof kColumns[0];

struct GeoRecord {
    std::string continent;    // continent.code; empty = absent
    std::string country;      // country.iso_code
    std::string subdivision;  // subdivisions[0].iso_code
    std::optional<std::uint32_t> asn;
    std::string as_org;
    std::optional<double> latitude;
    std::optional<double> longitude;  // present exactly when latitude is
};

struct GeoRow {
    std::size_t line = 0;
    Network network;
    GeoRecord record;
};

// True if `line` is the expected header.
bool is_header(const CsvLine& line);

// Validates one data line. On failure returns false and sets `error` (without file:line).
bool parse_geo_row(const CsvLine& line, GeoRow& out, std::string& error);

// Encodes the record as a data-section map:
// {"continent":{"code":..},"country":{"iso_code":..},"subdivisions":[{"iso_code":..}],
//  "location":{"latitude":..,"longitude":..},"autonomous_system_number":..,
//  "autonomous_system_organization":..}; absent fields are left out.
std::vector<std::uint8_t> encode_geo_record(const GeoRecord& record);

}  // namespace mmdb

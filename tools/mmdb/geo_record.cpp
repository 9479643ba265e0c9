#include "geo_record.hpp"

#include <charconv>
#include <cmath>
#include <string_view>
#include <system_error>

#include "data_encoder.hpp"

namespace mmdb {
namespace {

bool all_of(std::string_view s, bool (*pred)(char)) {
    for (char c : s) {
        if (!pred(c)) {
            return false;
        }
    }
    return true;
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_upper_or_digit(char c) { return is_upper(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool parse_coordinate(const std::string& text, double limit, const char* name, double& out, std::string& error) {
    double value = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::fixed);
    if (ec != std::errc() || ptr != last || !std::isfinite(value)) {
        error = std::string("bad ") + name + " '" + text + "': expected a decimal number";
        return false;
    }
    if (value < -limit || value > limit) {
        error = std::string(name) + " " + text + " is outside [-" + std::to_string(static_cast<int>(limit)) + "," +
                std::to_string(static_cast<int>(limit)) + "]";
        return false;
    }
    out = value;
    return true;
}

}  // namespace

bool is_header(const CsvLine& line) {
    if (line.fields.size() != kColumnCount) {
        return false;
    }
    for (std::size_t i = 0; i < kColumnCount; ++i) {
        if (line.fields[i] != kColumns[i]) {
            return false;
        }
    }
    return true;
}

bool parse_geo_row(const CsvLine& line, GeoRow& out, std::string& error) {
    const auto& f = line.fields;
    if (f.size() != kColumnCount) {
        error = "expected " + std::to_string(kColumnCount) + " columns, found " + std::to_string(f.size());
        return false;
    }
    GeoRow row;
    row.line = line.line;
    if (!parse_network(f[0], row.network, error)) {
        return false;
    }

    GeoRecord& rec = row.record;
    static constexpr std::string_view kContinents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    if (!f[1].empty()) {
        bool known = false;
        for (auto code : kContinents) {
            known = known || f[1] == code;
        }
        if (!known) {
            error = "bad continent '" + f[1] + "': expected one of AF AN AS EU NA OC SA";
            return false;
        }
        rec.continent = f[1];
    }
    if (!f[2].empty()) {
        if (f[2].size() != 2 || !all_of(f[2], is_upper)) {
            error = "bad country '" + f[2] + "': expected an ISO 3166-1 alpha-2 code such as GB";
            return false;
        }
        rec.country = f[2];
    }
    if (!f[3].empty()) {
        if (f[3].size() > 3 || !all_of(f[3], is_upper_or_digit)) {
            error = "bad subdivision '" + f[3] + "': expected an ISO 3166-2 code without the country, such as ENG";
            return false;
        }
        rec.subdivision = f[3];
    }
    if (!f[4].empty()) {
        std::uint32_t asn = 0;
        const char* first = f[4].data();
        const char* last = first + f[4].size();
        const auto [ptr, ec] = std::from_chars(first, last, asn);
        if (!all_of(f[4], is_digit) || ec != std::errc() || ptr != last || asn == 0) {
            error = "bad ASN '" + f[4] + "': expected a number from 1 to 4294967295";
            return false;
        }
        rec.asn = asn;
    }
    rec.as_org = f[5];
    if (f[6].empty() != f[7].empty()) {
        error = "latitude and longitude must be given together";
        return false;
    }
    if (!f[6].empty()) {
        double lat = 0;
        double lon = 0;
        if (!parse_coordinate(f[6], 90, "latitude", lat, error) ||
            !parse_coordinate(f[7], 180, "longitude", lon, error)) {
            return false;
        }
        rec.latitude = lat;
        rec.longitude = lon;
    }
    out = std::move(row);
    return true;
}

std::vector<std::uint8_t> encode_geo_record(const GeoRecord& record) {
    std::vector<std::uint8_t> bytes;
    Encoder enc(bytes);
    const std::size_t pairs = (record.continent.empty() ? 0 : 1) + (record.country.empty() ? 0 : 1) +
                              (record.subdivision.empty() ? 0 : 1) + (record.latitude ? 1 : 0) + (record.asn ? 1 : 0) +
                              (record.as_org.empty() ? 0 : 1);
    enc.map(pairs);
    if (!record.continent.empty()) {
        enc.string("continent");
        enc.map(1);
        enc.string("code");
        enc.string(record.continent);
    }
    if (!record.country.empty()) {
        enc.string("country");
        enc.map(1);
        enc.string("iso_code");
        enc.string(record.country);
    }
    if (!record.subdivision.empty()) {
        enc.string("subdivisions");
        enc.array(1);
        enc.map(1);
        enc.string("iso_code");
        enc.string(record.subdivision);
    }
    if (record.latitude && record.longitude) {
        enc.string("location");
        enc.map(2);
        enc.string("latitude");
        enc.float64(*record.latitude);
        enc.string("longitude");
        enc.float64(*record.longitude);
    }
    if (record.asn) {
        enc.string("autonomous_system_number");
        enc.uint32(*record.asn);
    }
    if (!record.as_org.empty()) {
        enc.string("autonomous_system_organization");
        enc.string(record.as_org);
    }
    return bytes;
}

}  // namespace mmdb

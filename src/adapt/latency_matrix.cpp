#include "adapt/latency_matrix.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace meridian::adapt {

namespace {

// Spaces and tabs around a field or a line; a line's CR (CRLF files) is dropped before.
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A field as an error quotes it: bytes outside printable ASCII as \xNN.
std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
            out += c;
        } else {
            constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
    }
    return out;
}

bool is_header(std::string_view line) {
    constexpr std::string_view kHeader = "country,region,rtt_ms";
    if (line.size() != kHeader.size()) return false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i] >= 'A' && line[i] <= 'Z' ? static_cast<char>(line[i] - 'A' + 'a') : line[i];
        if (c != kHeader[i]) return false;
    }
    return true;
}

bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// A region name as the zone files allow it: letters, digits, '-', '_' and '.'.
bool is_region_name(std::string_view s) {
    if (s.empty() || s.size() > 255) return false;
    for (const char c : s) {
        if (!is_letter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '.') return false;
    }
    return true;
}

}  // namespace

std::optional<LatencyMatrix> LatencyMatrix::parse(std::string_view text, const std::string& file,
                                                  Diagnostics* diagnostics) {
    LatencyMatrix matrix;
    bool is_ok = true;
    bool is_first = true;  // no measurement or header seen yet
    uint32_t line_number = 0;
    std::size_t errors = 0;
    const auto fail = [&](const std::string& message) {
        if (++errors <= kMaxMatrixErrors) diagnostics->error({file, line_number, 0}, message);
        is_ok = false;
    };
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark (spreadsheet exports)
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        const std::string_view raw = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (raw.size() > kMaxMatrixLineBytes) {
            fail("line longer than " + std::to_string(kMaxMatrixLineBytes) + " bytes");
            continue;
        }
        const std::string_view line = trim(raw.ends_with('\r') ? raw.substr(0, raw.size() - 1) : raw);
        if (line.empty() || line.front() == '#') continue;
        const bool was_first = is_first;
        is_first = false;
        if (was_first && is_header(line)) continue;
        const std::size_t first = line.find(',');
        const std::size_t second = first == std::string_view::npos ? first : line.find(',', first + 1);
        if (second == std::string_view::npos || line.find(',', second + 1) != std::string_view::npos) {
            fail("expected country,region,rtt_ms");
            continue;
        }
        const std::string_view country = trim(line.substr(0, first));
        const std::string_view region = trim(line.substr(first + 1, second - first - 1));
        const std::string_view rtt_text = trim(line.substr(second + 1));
        if (country.size() != 2 || !is_letter(country[0]) || !is_letter(country[1])) {
            fail("\"" + printable(country) + "\" is not an ISO 3166-1 alpha-2 country code");
            continue;
        }
        if (!is_region_name(region)) {
            fail("\"" + printable(region) + "\" is not a region name");
            continue;
        }
        double rtt = 0;
        const auto [ptr, ec] = std::from_chars(rtt_text.data(), rtt_text.data() + rtt_text.size(), rtt);
        if (ec != std::errc() || ptr != rtt_text.data() + rtt_text.size() || !std::isfinite(rtt) || rtt <= 0 ||
            rtt > kMaxMatrixRttMs) {
            fail("\"" + printable(rtt_text) + "\" is not a round-trip time in milliseconds (0 < rtt_ms ≤ " +
                 std::to_string(static_cast<int>(kMaxMatrixRttMs)) + ")");
            continue;
        }
        if (matrix.rtt_.size() >= kMaxMatrixEntries) {
            fail("more than " + std::to_string(kMaxMatrixEntries) + " measurements");
            break;
        }
        matrix.rtt_[{Country{upper(country[0]), upper(country[1])}, std::string(region)}] = rtt;
    }
    if (errors > kMaxMatrixErrors)
        diagnostics->error({file, 0, 0}, "and " + std::to_string(errors - kMaxMatrixErrors) + " more errors");
    if (!is_ok) return std::nullopt;
    return matrix;
}

std::optional<LatencyMatrix> LatencyMatrix::load(const std::string& path, Diagnostics* diagnostics) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diagnostics->error({path, 0, 0}, "cannot read the latency matrix");
        return std::nullopt;
    }
    std::error_code ec;
    if (const auto size = std::filesystem::file_size(path, ec); !ec && size > kMaxMatrixFileBytes) {
        diagnostics->error({path, 0, 0},
                           "the latency matrix is larger than " + std::to_string(kMaxMatrixFileBytes >> 20) + " MiB");
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path, diagnostics);
}

std::optional<double> LatencyMatrix::rtt_ms(Country country, std::string_view region) const {
    const auto it = rtt_.find(std::pair<Country, std::string_view>{country, region});
    if (it == rtt_.end()) return std::nullopt;
    return it->second;
}

}  // namespace meridian::adapt

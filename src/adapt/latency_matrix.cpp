#include "adapt/latency_matrix.hpp"

#include <charconv>
#include <cmath>
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
    uint32_t line_number = 0;
    const auto fail = [&](const std::string& message) {
        diagnostics->error({file, line_number, 0}, message);
        is_ok = false;
    };
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
        if (line_number == 1 && line == "country,region,rtt_ms") continue;
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
            fail("\"" + std::string(country) + "\" is not an ISO 3166-1 alpha-2 country code");
            continue;
        }
        if (!is_region_name(region)) {
            fail("\"" + std::string(region) + "\" is not a region name");
            continue;
        }
        double rtt = 0;
        const auto [ptr, ec] = std::from_chars(rtt_text.data(), rtt_text.data() + rtt_text.size(), rtt);
        if (ec != std::errc() || ptr != rtt_text.data() + rtt_text.size() || !std::isfinite(rtt) || rtt <= 0 ||
            rtt > kMaxMatrixRttMs) {
            fail("\"" + std::string(rtt_text) + "\" is not a round-trip time in milliseconds (0 < rtt_ms ≤ " +
                 std::to_string(static_cast<int>(kMaxMatrixRttMs)) + ")");
            continue;
        }
        if (matrix.rtt_.size() >= kMaxMatrixEntries) {
            fail("more than " + std::to_string(kMaxMatrixEntries) + " measurements");
            break;
        }
        matrix.rtt_[{Country{upper(country[0]), upper(country[1])}, std::string(region)}] = rtt;
    }
    if (!is_ok) return std::nullopt;
    return matrix;
}

std::optional<LatencyMatrix> LatencyMatrix::load(const std::string& path, Diagnostics* diagnostics) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diagnostics->error({path, 0, 0}, "cannot read the latency matrix");
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path, diagnostics);
}

std::optional<double> LatencyMatrix::rtt_ms(Country country, std::string_view region) const {
    const auto it = rtt_.find(std::pair<Country, std::string>{country, std::string(region)});
    if (it == rtt_.end()) return std::nullopt;
    return it->second;
}

}  // namespace meridian::adapt

// A latency matrix: the round-trip time from clients in a country to a region, as an operator
// measured it (real-user measurements, a RUM export). Text, one measurement per line:
//
//   # country,region,rtt_ms
//   BR,us-east-1,118
//   BR,sa-east-1,24.5
//
// `country` is ISO 3166-1 alpha-2 (any case), `region` a region name as the zones write it,
// `rtt_ms` a number of milliseconds, 0 < rtt_ms ≤ kMaxMatrixRttMs. Blank lines and lines
// starting with '#' are skipped, and so is a header "country,region,rtt_ms" (any case) before the
// first measurement; a UTF-8 byte order mark at the start is dropped.
// A country and region given twice keep the last value. Every bad line is an error with its line
// number; a file with any error is not used at all.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/diagnostics.hpp"

namespace meridian::adapt {

inline constexpr double kMaxMatrixRttMs = 60000;
inline constexpr std::size_t kMaxMatrixLineBytes = 4096;  // a longer line is an error
inline constexpr std::size_t kMaxMatrixEntries = 1000000;
inline constexpr std::size_t kMaxMatrixFileBytes = std::size_t{16} << 20;  // a larger file is refused unread
inline constexpr std::size_t kMaxMatrixErrors = 20;                        // reported one by one; the rest counted

class LatencyMatrix {
public:
    using Country = std::array<char, 2>;  // upper case

    // Parses `text` (named `file` in errors); nullopt with every error in `diagnostics`.
    static std::optional<LatencyMatrix> parse(std::string_view text, const std::string& file, Diagnostics* diagnostics);
    // Reads and parses a file; an unreadable one is an error too.
    static std::optional<LatencyMatrix> load(const std::string& path, Diagnostics* diagnostics);

    std::optional<double> rtt_ms(Country country, std::string_view region) const;
    std::size_t size() const noexcept { return rtt_.size(); }

private:
    // Ordered by (country, region); looked up with a string_view, so a lookup allocates nothing.
    struct Less {
        using is_transparent = void;
        template <typename A, typename B>
        bool operator()(const A& a, const B& b) const {
            if (a.first != b.first) return a.first < b.first;
            return std::string_view(a.second) < std::string_view(b.second);
        }
    };
    std::map<std::pair<Country, std::string>, double, Less> rtt_;
};

}  // namespace meridian::adapt

// What a geo lookup learned about one client address. Fixed-size, so lookups never allocate.
// Geo code only produces facts; the steering stage decides with them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace meridian::geo {

// ISO codes are stored upper-case and NUL-padded; an empty code means unknown.
template <std::size_t N>
struct Code {
    std::array<char, N> chars{};

    std::string_view view() const noexcept {
        std::size_t n = 0;
        while (n < N && chars[n] != 0) ++n;
        return {chars.data(), n};
    }
    bool empty() const noexcept { return chars[0] == 0; }
    void assign(std::string_view text) noexcept;
    bool operator==(const Code&) const = default;
};

struct Facts {
    Code<2> continent;    // AF AN AS EU NA OC SA
    Code<2> country;      // ISO 3166-1 alpha-2
    Code<3> subdivision;  // the part after "CC-" of ISO 3166-2 ("CA" for US-CA)
    uint32_t asn = 0;     // 0: unknown
    bool has_location = false;
    bool is_location_from_country = false;  // the country's capital stood in for coordinates
    double latitude = 0;
    double longitude = 0;
    // Prefix length of the database network that gave these facts, in the client's family
    // (0–32 for IPv4): every address in that network gets the same facts.
    uint8_t prefix_length = 0;
    bool is_found = false;  // some database had a record for the address
};

template <std::size_t N>
void Code<N>::assign(std::string_view text) noexcept {
    chars = {};
    for (std::size_t i = 0; i < N && i < text.size(); ++i) {
        const char c = text[i];
        chars[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    }
}

}  // namespace meridian::geo

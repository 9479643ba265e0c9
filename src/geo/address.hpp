// IP addresses and networks as plain bytes: parsing (control plane), prefix arithmetic (data
// plane, no allocation). IPv4 uses the first 4 bytes.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::geo {

struct IpAddress {
    uint8_t family = 0;  // 4 or 6; 0: none
    std::array<uint8_t, 16> bytes{};

    static IpAddress v4(const std::array<uint8_t, 4>& b) noexcept {
        IpAddress a;
        a.family = 4;
        std::copy(b.begin(), b.end(), a.bytes.begin());
        return a;
    }
    static IpAddress v6(const std::array<uint8_t, 16>& b) noexcept { return {6, b}; }

    unsigned width() const noexcept { return family == 4 ? 32 : 128; }
    bool is_valid() const noexcept { return family == 4 || family == 6; }
    bool operator==(const IpAddress&) const = default;
};

struct Network {
    IpAddress address;  // bits past prefix_length are zero
    uint8_t prefix_length = 0;

    bool contains(const IpAddress& a) const noexcept;
    bool contains(const Network& other) const noexcept;
    bool overlaps(const Network& other) const noexcept { return contains(other) || other.contains(*this); }
};

// Bit `index` (0 = most significant) of the address.
inline bool bit_at(const IpAddress& a, unsigned index) noexcept {
    return ((a.bytes[index / 8] >> (7 - index % 8)) & 1u) != 0;
}

// The address with every bit past the first `prefix_length` cleared.
IpAddress masked(const IpAddress& a, unsigned prefix_length) noexcept;

// How many leading bits two addresses of the same family share.
unsigned common_prefix_length(const IpAddress& a, const IpAddress& b) noexcept;

IpAddress from_sockaddr(const sockaddr* address) noexcept;
// Fills `out` (sockaddr_in or sockaddr_in6) and returns its size.
socklen_t to_sockaddr(const IpAddress& address, sockaddr_storage* out) noexcept;

std::optional<IpAddress> parse_address(std::string_view text);
// "192.0.2.0/24", "2001:db8::/32"; a bare address is a full-length prefix. With `is_strict`,
// bits set past the prefix are an error (nullopt) instead of being cleared.
std::optional<Network> parse_network(std::string_view text, bool is_strict);

std::string to_string(const IpAddress& address);
std::string to_string(const Network& network);

}  // namespace meridian::geo

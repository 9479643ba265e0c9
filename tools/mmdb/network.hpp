// IPv4/IPv6 CIDR parsing into positions in a 128-bit (IPv6) search tree.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mmdb {

using Address = std::array<std::uint8_t, 16>;

struct Network {
    Address address{};    // IPv4 networks live in ::/96 (address[12..15])
    unsigned prefix = 0;  // prefix length in the 128-bit tree (IPv4 /n -> n + 96)
    bool ipv4 = false;
    std::string text;  // as written in the source, for messages

    // Bit `index` (0 = most significant) of the 128-bit address.
    unsigned bit(unsigned index) const { return (address[index / 8] >> (7 - index % 8)) & 1u; }
};

// Parses "ADDRESS/PREFIX". Rejects malformed text, out-of-range prefixes and addresses with
// bits set past the prefix length. On failure returns false and sets `error`.
bool parse_network(std::string_view text, Network& out, std::string& error);

}  // namespace mmdb

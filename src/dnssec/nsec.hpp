// NSEC rdata (RFC 4034 §4.1): the next owner name and the type bitmap, written without
// allocation, for the denial records compact denial of existence makes (RFC 9824).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace meridian::dnssec {

inline constexpr uint16_t kTypeNsec = 47, kTypeRrsig = 46, kTypeDnskey = 48, kTypeCds = 59, kTypeCdnskey = 60;
// The pseudo-type that marks a compact NXDOMAIN answer's NSEC (RFC 9824 §2).
inline constexpr uint16_t kTypeNxname = 128;

// Room for a bitmap of every type in windows 0 and 1 (CAA is 257): 2 × (2 + 32) bytes.
inline constexpr std::size_t kMaxBitmapSize = 68;

// Writes the type bitmap of `types` (any order, duplicates allowed, types in windows 0 and 1
// only) at `out`, which holds kMaxBitmapSize bytes; returns its size.
inline std::size_t write_type_bitmap(std::span<const uint16_t> types, uint8_t* out) noexcept {
    std::size_t size = 0;
    for (unsigned window = 0; window < 2; ++window) {
        uint8_t bits[32] = {};
        std::size_t length = 0;
        for (const uint16_t type : types) {
            if ((type >> 8) != window) continue;
            const unsigned low = type & 0xFF;
            bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
            length = std::max<std::size_t>(length, low / 8 + 1);
        }
        if (length == 0) continue;
        out[size++] = static_cast<uint8_t>(window);
        out[size++] = static_cast<uint8_t>(length);
        std::copy(bits, bits + length, out + size);
        size += length;
    }
    return size;
}

// The NSEC rdata whose next name is the immediate successor of `owner` in canonical order,
// "\000.owner" (RFC 4470 §3.1.2, RFC 9824 §3): it covers no other name. `owner` is a lower-case
// wire name; `out` holds 1 + 255 + kMaxBitmapSize bytes. Returns the size, 0 when the successor
// would be longer than a name may be.
inline std::size_t write_compact_nsec(std::span<const uint8_t> owner, std::span<const uint16_t> types,
                                      uint8_t* out) noexcept {
    if (owner.size() + 2 > 255) return 0;
    out[0] = 1;
    out[1] = 0;
    std::copy(owner.begin(), owner.end(), out + 2);
    return 2 + owner.size() + write_type_bitmap(types, out + 2 + owner.size());
}

}  // namespace meridian::dnssec

// SipHash-2-4 with its 128-bit output (Aumasson and Bernstein, 2012): a keyed hash for tables
// whose keys come from outside (query names), where collisions must not be choosable. Streaming,
// eight bytes at a time where it can, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace meridian {

class SipHash128 {
public:
    SipHash128(uint64_t k0, uint64_t k1) noexcept
        : v0_(0x736f6d6570736575ull ^ k0), v1_(0x646f72616e646f6dull ^ k1 ^ 0xee), v2_(0x6c7967656e657261ull ^ k0),
          v3_(0x7465646279746573ull ^ k1) {}

    void add(const uint8_t* bytes, std::size_t size) noexcept {
        std::size_t i = 0;
        while (i < size && length_ % 8 != 0) add_byte(bytes[i++]);
        for (; i + 8 <= size; i += 8) {
            uint64_t m;
            std::memcpy(&m, bytes + i, 8);  // little-endian words, as the reference reads them
            absorb(m);
            length_ += 8;
        }
        while (i < size) add_byte(bytes[i++]);
    }
    void add_u16(uint16_t v) noexcept {
        const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
        add(b, 2);
    }
    void add_u32(uint32_t v) noexcept {
        const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                              static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
        add(b, 4);
    }

    std::array<uint64_t, 2> finish() const noexcept {
        SipHash128 s = *this;
        s.absorb(s.pending_ | (uint64_t{s.length_ & 0xFF} << 56));
        s.v2_ ^= 0xee;
        for (int i = 0; i < 4; ++i) s.round();
        const uint64_t first = s.v0_ ^ s.v1_ ^ s.v2_ ^ s.v3_;
        s.v1_ ^= 0xdd;
        for (int i = 0; i < 4; ++i) s.round();
        return {first, s.v0_ ^ s.v1_ ^ s.v2_ ^ s.v3_};
    }

private:
    static uint64_t rotl(uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }
    void add_byte(uint8_t byte) noexcept {
        pending_ |= uint64_t{byte} << (8 * (length_ % 8));
        if (++length_ % 8 == 0) {
            absorb(pending_);
            pending_ = 0;
        }
    }
    void round() noexcept {
        v0_ += v1_;
        v1_ = rotl(v1_, 13) ^ v0_;
        v0_ = rotl(v0_, 32);
        v2_ += v3_;
        v3_ = rotl(v3_, 16) ^ v2_;
        v0_ += v3_;
        v3_ = rotl(v3_, 21) ^ v0_;
        v2_ += v1_;
        v1_ = rotl(v1_, 17) ^ v2_;
        v2_ = rotl(v2_, 32);
    }
    void absorb(uint64_t m) noexcept {
        v3_ ^= m;
        round();
        round();
        v0_ ^= m;
    }

    uint64_t v0_, v1_, v2_, v3_;
    uint64_t pending_ = 0;
    uint64_t length_ = 0;
};

}  // namespace meridian

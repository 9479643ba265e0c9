// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash for tables whose keys come
// from outside (query names), where collisions must not be choosable. Streaming, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace meridian {

class SipHash {
public:
    SipHash(uint64_t k0, uint64_t k1) noexcept
        : v0_(0x736f6d6570736575ull ^ k0), v1_(0x646f72616e646f6dull ^ k1), v2_(0x6c7967656e657261ull ^ k0),
          v3_(0x7465646279746573ull ^ k1) {}

    void add(const uint8_t* bytes, std::size_t size) noexcept {
        for (std::size_t i = 0; i < size; ++i) {
            pending_ |= uint64_t{bytes[i]} << (8 * (length_ % 8));
            if (++length_ % 8 == 0) {
                absorb(pending_);
                pending_ = 0;
            }
        }
    }
    void add_u16(uint16_t v) noexcept {
        const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
        add(b, 2);
    }
    void add_u32(uint32_t v) noexcept {
        add_u16(static_cast<uint16_t>(v >> 16));
        add_u16(static_cast<uint16_t>(v));
    }

    uint64_t finish() const noexcept {
        SipHash s = *this;
        s.absorb(s.pending_ | (uint64_t{s.length_ & 0xFF} << 56));
        s.v2_ ^= 0xFF;
        for (int i = 0; i < 4; ++i) s.round();
        return s.v0_ ^ s.v1_ ^ s.v2_ ^ s.v3_;
    }

private:
    static uint64_t rotl(uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }
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

#include "data_encoder.hpp"

#include <bit>
#include <stdexcept>

namespace mmdb {

void Encoder::control(DataType type, std::size_t size) {
    if (size > kMaxSize) {
        throw std::length_error("value too large for the MaxMind DB format");
    }
    const auto type_number = static_cast<unsigned>(type);
    // Types above 7 are "extended": type bits 000 in the control byte, then (type - 7).
    const unsigned type_bits = type_number <= 7 ? type_number : 0;
    unsigned size_bits = 0;
    std::size_t extra = 0;
    std::size_t extra_bytes = 0;
    if (size < 29) {
        size_bits = static_cast<unsigned>(size);
    } else if (size < 29 + 256) {
        size_bits = 29;
        extra = size - 29;
        extra_bytes = 1;
    } else if (size < 285 + 65536) {
        size_bits = 30;
        extra = size - 285;
        extra_bytes = 2;
    } else {
        size_bits = 31;
        extra = size - 65821;
        extra_bytes = 3;
    }
    out_.push_back(static_cast<std::uint8_t>((type_bits << 5) | size_bits));
    if (type_number > 7) {
        out_.push_back(static_cast<std::uint8_t>(type_number - 7));
    }
    for (std::size_t i = extra_bytes; i > 0; --i) {
        out_.push_back(static_cast<std::uint8_t>((extra >> (8 * (i - 1))) & 0xFF));
    }
}

void Encoder::unsigned_int(DataType type, std::uint64_t value, unsigned max_bytes) {
    // Unsigned integers are stored with leading zero bytes dropped (zero has size 0).
    unsigned bytes = 0;
    for (std::uint64_t v = value; v != 0; v >>= 8) {
        ++bytes;
    }
    if (bytes > max_bytes) {
        throw std::out_of_range("integer too large for its type");
    }
    control(type, bytes);
    for (unsigned i = bytes; i > 0; --i) {
        out_.push_back(static_cast<std::uint8_t>((value >> (8 * (i - 1))) & 0xFF));
    }
}

void Encoder::string(std::string_view value) {
    control(DataType::Utf8String, value.size());
    out_.insert(out_.end(), value.begin(), value.end());
}

void Encoder::float64(double value) {
    control(DataType::Double, 8);
    const auto bits = std::bit_cast<std::uint64_t>(value);
    for (int shift = 56; shift >= 0; shift -= 8) {
        out_.push_back(static_cast<std::uint8_t>((bits >> shift) & 0xFF));
    }
}

void Encoder::uint16(std::uint16_t value) { unsigned_int(DataType::Uint16, value, 2); }
void Encoder::uint32(std::uint32_t value) { unsigned_int(DataType::Uint32, value, 4); }
void Encoder::uint64(std::uint64_t value) { unsigned_int(DataType::Uint64, value, 8); }

void Encoder::boolean(bool value) {
    // Booleans carry their value in the size field and have no payload.
    control(DataType::Boolean, value ? 1 : 0);
}

void Encoder::map(std::size_t pairs) { control(DataType::Map, pairs); }
void Encoder::array(std::size_t count) { control(DataType::Array, count); }

}  // namespace mmdb

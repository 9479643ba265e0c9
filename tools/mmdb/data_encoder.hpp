// Encoder for the MaxMind DB data section types (spec v2.0, "Output Data Section"):
// each value is a control byte (type in the top 3 bits, size in the low 5), an optional
// extended-type byte, optional size bytes, then the payload, all big-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace mmdb {

enum class DataType : std::uint8_t {
    Pointer = 1,
    Utf8String = 2,
    Double = 3,
    Bytes = 4,
    Uint16 = 5,
    Uint32 = 6,
    Map = 7,
    Int32 = 8,
    Uint64 = 9,
    Uint128 = 10,
    Array = 11,
    Boolean = 14,
    Float = 15,
};

class Encoder {
public:
    // Largest size the control byte can express (65821 + 2^24 - 1).
    static constexpr std::size_t kMaxSize = 65821 + 0xFFFFFF;

    explicit Encoder(std::vector<std::uint8_t>& out) : out_(out) {}

    void string(std::string_view value);
    void float64(double value);
    void uint16(std::uint16_t value);
    void uint32(std::uint32_t value);
    void uint64(std::uint64_t value);
    void boolean(bool value);
    // A map of `pairs` key/value pairs follows: write key (string), value, key, value, ...
    void map(std::size_t pairs);
    // An array of `count` values follows.
    void array(std::size_t count);

private:
    void control(DataType type, std::size_t size);
    void unsigned_int(DataType type, std::uint64_t value, unsigned max_bytes);

    std::vector<std::uint8_t>& out_;
};

}  // namespace mmdb

// Domain names in wire form: reading (with compression, RFC 1035 §4.1.4), case folding and
// comparison. Names are plain byte strings of length-prefixed labels ending in the root label.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/wire.hpp"

namespace meridian::dns {

enum class NameError : uint8_t {
    none,
    truncated,       // the packet ends inside the name
    bad_label_type,  // 0x40 / 0x80 label types (RFC 6891 §5 retired them)
    too_long,        // more than 255 bytes once decompressed
    bad_pointer,     // a pointer that does not point strictly backwards, or too many hops
};

const char* describe(NameError error) noexcept;

// A name decompressed into a fixed buffer; never allocates.
struct NameBuffer {
    std::array<uint8_t, kMaxNameLength> bytes;
    uint8_t length = 0;

    std::string_view view() const noexcept { return {reinterpret_cast<const char*>(bytes.data()), length}; }
};

// Reads the name at packet[*offset], following compression pointers, into `out`.
// On success *offset is past the name's bytes in the packet (after the first pointer, if any).
NameError read_name(const uint8_t* packet, std::size_t packet_size, std::size_t* offset, NameBuffer* out) noexcept;

// Skips the name at packet[*offset] without copying it, with the same checks as read_name.
NameError skip_name(const uint8_t* packet, std::size_t packet_size, std::size_t* offset) noexcept;

inline uint8_t to_lower_ascii(uint8_t c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

// Lower-cases the label bytes of a well-formed uncompressed wire name in place.
void lowercase_name(uint8_t* name, std::size_t length) noexcept;

// Offsets of each label of a well-formed uncompressed name, the root label included;
// returns the number of labels (root counts as one: "." has 1, "com." has 2).
std::size_t label_offsets(const uint8_t* name, std::size_t length, std::array<uint8_t, kMaxLabels>* offsets) noexcept;

std::size_t count_labels(std::string_view name) noexcept;

// True when `name` is `ancestor` or below it; both lower-case wire names.
bool is_subdomain(std::string_view name, std::string_view ancestor) noexcept;

// Control-plane conversions (allocate). Text form is absolute, with a trailing dot.
std::string name_to_text(std::string_view wire);
// "geo.example.com", "GEO.example.com." or "." → the lower-case wire name; nullopt when the text
// is not a name (an empty label, a label over 63 bytes, over 255 in all, a bad escape).
std::optional<std::string> lower_wire_from_text(std::string_view text);

}  // namespace meridian::dns

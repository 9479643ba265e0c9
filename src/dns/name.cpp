#include "dns/name.hpp"

#include <cctype>

namespace meridian::dns {

const char* describe(NameError error) noexcept {
    switch (error) {
    case NameError::none: return "no error";
    case NameError::truncated: return "name runs past the end of the message";
    case NameError::bad_label_type: return "reserved label type";
    case NameError::too_long: return "name longer than 255 bytes";
    case NameError::bad_pointer: return "compression pointer that does not point backwards";
    }
    return "unknown name error";
}

namespace {

// Shared walk for read_name and skip_name. `out` may be null.
NameError walk_name(const uint8_t* packet, std::size_t packet_size, std::size_t* offset, NameBuffer* out) noexcept {
    std::size_t pos = *offset;
    std::size_t end_in_packet = 0;  // where the caller resumes; set at the first pointer
    std::size_t name_length = 0;
    // A pointer must target an offset before the start of the label run that contains it, so
    // every hop goes strictly backwards and loops are impossible (RFC 1035 §4.1.4 only ever
    // points at earlier occurrences).
    std::size_t run_start = pos;
    for (;;) {
        if (pos >= packet_size) return NameError::truncated;
        const uint8_t len = packet[pos];
        const uint8_t kind = len & 0xC0;
        if (kind == 0xC0) {
            if (pos + 1 >= packet_size) return NameError::truncated;
            const std::size_t target = ((len & 0x3Fu) << 8) | packet[pos + 1];
            if (target >= run_start) return NameError::bad_pointer;
            if (end_in_packet == 0) end_in_packet = pos + 2;
            pos = target;
            run_start = target;
            continue;
        }
        if (kind != 0) return NameError::bad_label_type;
        if (name_length + 1u + len > kMaxNameLength) return NameError::too_long;
        if (pos + 1u + len > packet_size) return NameError::truncated;
        if (out != nullptr) {
            out->bytes[name_length] = len;
            for (std::size_t i = 0; i < len; ++i) out->bytes[name_length + 1 + i] = packet[pos + 1 + i];
        }
        name_length += 1u + len;
        pos += 1u + len;
        if (len == 0) break;
    }
    if (out != nullptr) out->length = static_cast<uint8_t>(name_length);
    *offset = end_in_packet != 0 ? end_in_packet : pos;
    return NameError::none;
}

}  // namespace

NameError read_name(const uint8_t* packet, std::size_t packet_size, std::size_t* offset, NameBuffer* out) noexcept {
    return walk_name(packet, packet_size, offset, out);
}

NameError skip_name(const uint8_t* packet, std::size_t packet_size, std::size_t* offset) noexcept {
    return walk_name(packet, packet_size, offset, nullptr);
}

void lowercase_name(uint8_t* name, std::size_t length) noexcept {
    std::size_t pos = 0;
    while (pos < length && name[pos] != 0) {
        const std::size_t len = name[pos];
        for (std::size_t i = 1; i <= len && pos + i < length; ++i) name[pos + i] = to_lower_ascii(name[pos + i]);
        pos += len + 1;
    }
}

std::size_t label_offsets(const uint8_t* name, std::size_t length, std::array<uint8_t, kMaxLabels>* offsets) noexcept {
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < length && count < kMaxLabels) {
        (*offsets)[count++] = static_cast<uint8_t>(pos);
        if (name[pos] == 0) break;
        pos += name[pos] + 1u;
    }
    return count;
}

std::size_t count_labels(std::string_view name) noexcept {
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < name.size()) {
        ++count;
        const auto len = static_cast<uint8_t>(name[pos]);
        if (len == 0) break;
        pos += len + 1u;
    }
    return count;
}

bool is_subdomain(std::string_view name, std::string_view ancestor) noexcept {
    if (ancestor.size() > name.size()) return false;
    // Walk name's label boundaries: the suffix must start on one of them.
    std::size_t pos = 0;
    while (pos < name.size()) {
        if (name.size() - pos == ancestor.size()) return name.substr(pos) == ancestor;
        const auto len = static_cast<uint8_t>(name[pos]);
        if (len == 0) break;
        pos += len + 1u;
    }
    return false;
}

std::string name_to_text(std::string_view wire) {
    std::string text;
    std::size_t pos = 0;
    while (pos < wire.size()) {
        const auto len = static_cast<uint8_t>(wire[pos]);
        if (len == 0) break;
        for (std::size_t i = 1; i <= len && pos + i < wire.size(); ++i) {
            const auto c = static_cast<unsigned char>(wire[pos + i]);
            if (c == '.' || c == '\\') {
                text += '\\';
                text += static_cast<char>(c);
            } else if (c <= 0x20 || c >= 0x7F) {
                char escaped[5];
                escaped[0] = '\\';
                escaped[1] = static_cast<char>('0' + c / 100);
                escaped[2] = static_cast<char>('0' + (c / 10) % 10);
                escaped[3] = static_cast<char>('0' + c % 10);
                escaped[4] = 0;
                text += escaped;
            } else {
                text += static_cast<char>(c);
            }
        }
        text += '.';
        pos += len + 1u;
    }
    return text.empty() ? std::string(".") : text;
}

std::optional<std::string> lower_wire_from_text(std::string_view text) {
    if (text == ".") return std::string(1, '\0');
    if (!text.empty() && text.back() == '.' && (text.size() < 2 || text[text.size() - 2] != '\\'))
        text.remove_suffix(1);
    std::string wire;
    std::string label;
    auto end_label = [&]() {
        if (label.empty() || label.size() > kMaxLabelLength) return false;
        wire += static_cast<char>(label.size());
        wire += label;
        label.clear();
        return true;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '.') {
            if (!end_label()) return std::nullopt;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= text.size()) return std::nullopt;
            if (std::isdigit(static_cast<unsigned char>(text[i + 1])) != 0) {
                unsigned value = 0;
                for (std::size_t k = 1; k <= 3; ++k) {
                    if (i + k >= text.size() || std::isdigit(static_cast<unsigned char>(text[i + k])) == 0)
                        return std::nullopt;
                    value = value * 10 + static_cast<unsigned>(text[i + k] - '0');
                }
                if (value > 255) return std::nullopt;
                c = static_cast<char>(value);
                i += 3;
            } else {
                c = text[++i];
            }
        }
        label += static_cast<char>(to_lower_ascii(static_cast<uint8_t>(c)));
    }
    if (!end_label()) return std::nullopt;
    wire += '\0';
    if (wire.size() > kMaxNameLength) return std::nullopt;
    return wire;
}

}  // namespace meridian::dns

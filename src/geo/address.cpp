#include "geo/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace meridian::geo {

bool Network::contains(const IpAddress& a) const noexcept {
    if (a.family != address.family) return false;
    return common_prefix_length(a, address) >= prefix_length;
}

bool Network::contains(const Network& other) const noexcept {
    return other.prefix_length >= prefix_length && contains(other.address);
}

IpAddress masked(const IpAddress& a, unsigned prefix_length) noexcept {
    IpAddress out = a;
    for (unsigned i = 0; i < out.bytes.size(); ++i) {
        const unsigned bit = i * 8;
        if (bit >= prefix_length) {
            out.bytes[i] = 0;
        } else if (prefix_length - bit < 8) {
            out.bytes[i] = static_cast<uint8_t>(out.bytes[i] & (0xFF00u >> (prefix_length - bit)));
        }
    }
    return out;
}

unsigned common_prefix_length(const IpAddress& a, const IpAddress& b) noexcept {
    const unsigned width = a.width();
    unsigned bits = 0;
    for (unsigned byte = 0; byte < width / 8; ++byte) {
        const uint8_t diff = a.bytes[byte] ^ b.bytes[byte];
        if (diff == 0) {
            bits += 8;
            continue;
        }
        return bits + static_cast<unsigned>(__builtin_clz(diff) - 24);
    }
    return bits;
}

IpAddress from_sockaddr(const sockaddr* address) noexcept {
    IpAddress out;
    if (address == nullptr) return out;
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        out.family = 4;
        std::memcpy(out.bytes.data(), &v4->sin_addr, 4);
    } else if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        const uint8_t* b = v6->sin6_addr.s6_addr;
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d; it is an IPv4 client.
        static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (std::memcmp(b, kMapped, 12) == 0) {
            out.family = 4;
            std::memcpy(out.bytes.data(), b + 12, 4);
        } else {
            out.family = 6;
            std::memcpy(out.bytes.data(), b, 16);
        }
    }
    return out;
}

socklen_t to_sockaddr(const IpAddress& address, sockaddr_storage* out) noexcept {
    std::memset(out, 0, sizeof *out);
    if (address.family == 4) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(out);
        v4->sin_family = AF_INET;
        std::memcpy(&v4->sin_addr, address.bytes.data(), 4);
        return sizeof(sockaddr_in);
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, address.bytes.data(), 16);
    return sizeof(sockaddr_in6);
}

std::optional<IpAddress> parse_address(std::string_view text) {
    const std::string s(text);
    IpAddress out;
    if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) {
        out.family = 4;
        return out;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) == 1) {
        out.family = 6;
        return out;
    }
    return std::nullopt;
}

std::optional<Network> parse_network(std::string_view text, bool is_strict) {
    const auto slash = text.find('/');
    const auto address = parse_address(text.substr(0, slash));
    if (!address) return std::nullopt;
    Network out;
    unsigned length = address->width();
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || length > address->width()) {
            return std::nullopt;
        }
    }
    out.prefix_length = static_cast<uint8_t>(length);
    out.address = masked(*address, length);
    if (is_strict && out.address != *address) return std::nullopt;
    return out;
}

std::string to_string(const IpAddress& address) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(address.family == 4 ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof text);
    return text;
}

std::string to_string(const Network& network) {
    return to_string(network.address) + "/" + std::to_string(network.prefix_length);
}

}  // namespace meridian::geo

#include "network.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace mmdb {
namespace {

bool parse_prefix(std::string_view text, unsigned max, unsigned& out) {
    if (text.empty() || text.size() > 3) {
        return false;
    }
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max) {
        return false;
    }
    out = value;
    return true;
}

std::string format_address(const Address& address, bool ipv4) {
    char buffer[INET6_ADDRSTRLEN] = {};
    if (ipv4) {
        inet_ntop(AF_INET, address.data() + 12, buffer, sizeof buffer);
    } else {
        inet_ntop(AF_INET6, address.data(), buffer, sizeof buffer);
    }
    return buffer;
}

}  // namespace

bool parse_network(std::string_view text, Network& out, std::string& error) {
    const auto quoted = "'" + std::string(text) + "'";
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        error = "bad network " + quoted + ": expected ADDRESS/PREFIX";
        return false;
    }
    const std::string host(text.substr(0, slash));
    const std::string_view prefix_text = text.substr(slash + 1);
    if (host.empty() || host.size() >= INET6_ADDRSTRLEN) {
        error = "bad network " + quoted + ": bad address";
        return false;
    }

    Network net;
    net.text = std::string(text);
    net.ipv4 = host.find(':') == std::string::npos;
    unsigned prefix = 0;
    if (net.ipv4) {
        if (inet_pton(AF_INET, host.c_str(), net.address.data() + 12) != 1) {
            error = "bad network " + quoted + ": '" + host + "' is not an IPv4 address";
            return false;
        }
        if (!parse_prefix(prefix_text, 32, prefix)) {
            error = "bad network " + quoted + ": prefix length must be 0-32";
            return false;
        }
        net.prefix = prefix + 96;
    } else {
        if (inet_pton(AF_INET6, host.c_str(), net.address.data()) != 1) {
            error = "bad network " + quoted + ": '" + host + "' is not an IPv6 address";
            return false;
        }
        if (!parse_prefix(prefix_text, 128, prefix)) {
            error = "bad network " + quoted + ": prefix length must be 0-128";
            return false;
        }
        net.prefix = prefix;
    }

    Address masked = net.address;
    for (unsigned i = net.prefix; i < 128; ++i) {
        masked[i / 8] = static_cast<std::uint8_t>(masked[i / 8] & ~(0x80u >> (i % 8)));
    }
    if (masked != net.address) {
        error = "bad network " + quoted + ": address has bits set past the /" + std::to_string(prefix) +
                " prefix (did you mean " + format_address(masked, net.ipv4) + "/" + std::to_string(prefix) + "?)";
        return false;
    }
    out = std::move(net);
    return true;
}

}  // namespace mmdb

#include "wire.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace bench {

namespace {

constexpr uint16_t kTypeOpt = 41;
constexpr uint16_t kTypeRrsig = 46;
constexpr uint16_t kFlagDo = 0x8000;
constexpr uint16_t kOptionEcs = 8;
constexpr uint16_t kEdnsPayload = 1232;

struct TypeName {
    const char* text;
    uint16_t value;
};
constexpr TypeName kTypes[] = {{"A", 1},     {"NS", 2},      {"CNAME", 5},  {"SOA", 6},    {"PTR", 12},  {"MX", 15},
                               {"TXT", 16},  {"AAAA", 28},   {"SRV", 33},   {"NAPTR", 35}, {"DS", 43},   {"RRSIG", 46},
                               {"NSEC", 47}, {"DNSKEY", 48}, {"NSEC3", 50}, {"HTTPS", 65}, {"CAA", 257}, {"ANY", 255}};
constexpr const char* kRcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                   "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};

bool equal_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

void put16(std::vector<uint8_t>* out, unsigned value) {
    out->push_back(static_cast<uint8_t>(value >> 8));
    out->push_back(static_cast<uint8_t>(value & 0xff));
}

uint16_t get16(std::span<const uint8_t> m, std::size_t at) { return static_cast<uint16_t>((m[at] << 8) | m[at + 1]); }

// Reads a (possibly compressed) name at *pos; leaves *pos after it in the original place.
bool read_name(std::span<const uint8_t> m, std::size_t* pos, std::string* out) {
    std::size_t at = *pos;
    bool jumped = false;
    int hops = 0;
    out->clear();
    while (true) {
        if (at >= m.size()) return false;
        const uint8_t len = m[at];
        if ((len & 0xc0) == 0xc0) {
            if (at + 1 >= m.size() || ++hops > 64) return false;
            const auto target = static_cast<std::size_t>(((len & 0x3f) << 8) | m[at + 1]);
            if (!jumped) *pos = at + 2;
            jumped = true;
            at = target;
            continue;
        }
        if ((len & 0xc0) != 0) return false;
        if (len == 0) {
            if (!jumped) *pos = at + 1;
            if (out->empty()) *out = ".";
            return true;
        }
        if (at + 1 + len > m.size()) return false;
        for (std::size_t i = 0; i < len; ++i) {
            out->push_back(static_cast<char>(std::tolower(m[at + 1 + i])));
        }
        out->push_back('.');
        if (out->size() > 255) return false;
        at += 1 + len;
    }
}

}  // namespace

std::optional<uint32_t> parse_v4(std::string_view text) {
    in_addr a{};
    const std::string s(text);
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

std::string format_v4(uint32_t address) {
    return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
           std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

std::optional<Subnet> parse_subnet(std::string_view text, std::string* error) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        *error = "subnet \"" + std::string(text) + "\" has no /prefix";
        return std::nullopt;
    }
    Subnet s;
    const std::string address(text.substr(0, slash));
    if (inet_pton(AF_INET, address.c_str(), s.bytes.data()) == 1) {
        s.family = AF_INET;
    } else if (inet_pton(AF_INET6, address.c_str(), s.bytes.data()) == 1) {
        s.family = AF_INET6;
    } else {
        *error = "\"" + address + "\" is not an IP address";
        return std::nullopt;
    }
    unsigned prefix = 0;
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    const unsigned max = s.family == AF_INET ? 32 : 128;
    if (ec != std::errc() || end != digits.data() + digits.size() || prefix > max) {
        *error = "bad prefix length in \"" + std::string(text) + "\"";
        return std::nullopt;
    }
    s.prefix = static_cast<uint8_t>(prefix);
    for (unsigned bit = prefix; bit < max; ++bit) {
        if ((s.bytes[bit / 8] >> (7 - bit % 8)) & 1) {
            *error = "\"" + std::string(text) + "\" has bits set past the prefix";
            return std::nullopt;
        }
    }
    return s;
}

std::string format_subnet(const Subnet& s) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(s.family, s.bytes.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(s.prefix);
}

bool parse_sockaddr(std::string_view text, bool need_port, sockaddr_storage* out, socklen_t* size) {
    *out = sockaddr_storage{};
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return false;
        host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port_text = rest.substr(1);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        const auto colon = text.find(':');
        host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
    } else {
        host = std::string(text);
    }
    unsigned port = 0;
    if (!port_text.empty()) {
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) return false;
    } else if (need_port) {
        return false;
    }
    auto* v4 = reinterpret_cast<sockaddr_in*>(out);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        *size = sizeof(sockaddr_in);
        return true;
    }
    *out = sockaddr_storage{};
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        *size = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

std::string format_sockaddr(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
    }
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

bool is_loopback(const sockaddr* address) {
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) != 0;
    }
    return false;
}

uint16_t qtype_from_text(std::string_view text) {
    for (const auto& t : kTypes) {
        if (equal_nocase(text, t.text)) return t.value;
    }
    if (text.size() > 4 && equal_nocase(text.substr(0, 4), "TYPE")) {
        unsigned value = 0;
        const auto digits = text.substr(4);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec == std::errc() && end == digits.data() + digits.size() && value > 0 && value < 65536) {
            return static_cast<uint16_t>(value);
        }
    }
    return 0;
}

std::string qtype_text(uint16_t qtype) {
    for (const auto& t : kTypes) {
        if (t.value == qtype) return t.text;
    }
    return "TYPE" + std::to_string(qtype);
}

int rcode_from_text(std::string_view text) {
    for (std::size_t i = 0; i < std::size(kRcodes); ++i) {
        if (equal_nocase(text, kRcodes[i])) return static_cast<int>(i);
    }
    if (equal_nocase(text, "BADVERS")) return 16;
    return -1;
}

std::string rcode_text(unsigned rcode) {
    if (rcode < std::size(kRcodes)) return kRcodes[rcode];
    if (rcode == 16) return "BADVERS";
    return "RCODE" + std::to_string(rcode);
}

std::vector<uint8_t> build_query(const QuerySpec& spec, std::string* error) {
    std::vector<uint8_t> out;
    out.reserve(64 + spec.name.size());
    put16(&out, 0);  // ID: set per send
    put16(&out, 0);  // QR=0 OPCODE=0 RD=0
    put16(&out, 1);  // QDCOUNT
    put16(&out, 0);
    put16(&out, 0);
    const bool edns = spec.edns || spec.ecs.has_value() || spec.dnssec_ok;
    put16(&out, edns ? 1 : 0);
    std::string_view name = spec.name;
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::size_t total = 1;
    while (!name.empty()) {
        const auto dot = name.find('.');
        const auto label = name.substr(0, dot);
        if (label.empty() || label.size() > 63) {
            *error = "bad label in \"" + spec.name + "\"";
            return {};
        }
        total += label.size() + 1;
        out.push_back(static_cast<uint8_t>(label.size()));
        for (const char c : label) out.push_back(static_cast<uint8_t>(std::tolower(static_cast<unsigned char>(c))));
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    if (total > 255) {
        *error = "name \"" + spec.name + "\" is longer than 255 octets";
        return {};
    }
    out.push_back(0);
    put16(&out, spec.qtype);
    put16(&out, 1);  // IN
    if (edns) {
        out.push_back(0);  // root
        put16(&out, kTypeOpt);
        put16(&out, kEdnsPayload);
        put16(&out, 0);                             // extended rcode, version
        put16(&out, spec.dnssec_ok ? kFlagDo : 0);  // flags
        if (spec.ecs) {
            const Subnet& s = *spec.ecs;
            const unsigned address_bytes = (s.prefix + 7u) / 8u;
            put16(&out, 4 + 4 + address_bytes);  // RDLENGTH
            put16(&out, kOptionEcs);
            put16(&out, 4 + address_bytes);
            put16(&out, s.family == AF_INET ? 1 : 2);
            out.push_back(s.prefix);
            out.push_back(0);  // scope
            for (unsigned i = 0; i < address_bytes; ++i) out.push_back(s.bytes[i]);
        } else {
            put16(&out, 0);
        }
    }
    return out;
}

std::size_t question_end(std::span<const uint8_t> message) {
    std::size_t at = 12;
    while (at < message.size() && message[at] != 0) at += 1u + message[at];
    return at + 5;  // root label, type, class
}

bool parse_response(std::span<const uint8_t> m, Response* out, std::string* error) {
    *out = Response{};
    if (m.size() < 12) {
        *error = "shorter than a header";
        return false;
    }
    out->id = get16(m, 0);
    const uint16_t flags = get16(m, 2);
    out->qr = (flags & 0x8000) != 0;
    out->aa = (flags & 0x0400) != 0;
    out->tc = (flags & 0x0200) != 0;
    out->rcode = flags & 0xf;
    const uint16_t qd = get16(m, 4);
    out->ancount = get16(m, 6);
    const unsigned counts[3] = {out->ancount, get16(m, 8), get16(m, 10)};
    std::size_t at = 12;
    std::string name;
    for (unsigned i = 0; i < qd; ++i) {
        if (!read_name(m, &at, &name) || at + 4 > m.size()) {
            *error = "bad question";
            return false;
        }
        if (i == 0) {
            out->qname = name;
            out->qtype = get16(m, at);
        }
        at += 4;
    }
    for (unsigned section = 0; section < 3; ++section) {
        for (unsigned i = 0; i < counts[section]; ++i) {
            if (!read_name(m, &at, &name) || at + 10 > m.size()) {
                *error = "bad record header";
                return false;
            }
            const uint16_t type = get16(m, at);
            const uint16_t klass = get16(m, at + 2);
            const uint32_t ttl = (uint32_t{get16(m, at + 4)} << 16) | get16(m, at + 6);
            const uint16_t rdlen = get16(m, at + 8);
            at += 10;
            if (at + rdlen > m.size()) {
                *error = "record data past the end";
                return false;
            }
            const auto rdata = m.subspan(at, rdlen);
            if (section == 0 && type == 1 && rdlen == 4) {
                out->a.push_back((uint32_t{rdata[0]} << 24) | (uint32_t{rdata[1]} << 16) | (uint32_t{rdata[2]} << 8) |
                                 rdata[3]);
            } else if (section == 0 && type == 28 && rdlen == 16) {
                std::array<uint8_t, 16> v6{};
                std::memcpy(v6.data(), rdata.data(), 16);
                out->aaaa.push_back(v6);
            } else if (section == 0 && type == 5) {
                ++out->cnames;
            } else if (section < 2 && type == kTypeRrsig && rdlen >= 2) {
                (section == 0 ? out->rrsig_answer : out->rrsig_authority).push_back(get16(rdata, 0));
            } else if (section == 2 && type == kTypeOpt) {
                out->has_opt = true;
                out->rcode |= (ttl >> 24) << 4;
                out->dnssec_ok = (ttl & kFlagDo) != 0;
                (void)klass;
                std::size_t o = 0;
                while (o + 4 <= rdata.size()) {
                    const uint16_t code = get16(rdata, o);
                    const uint16_t len = get16(rdata, o + 2);
                    if (o + 4 + len > rdata.size()) break;
                    if (code == kOptionEcs && len >= 4) out->ecs_scope = rdata[o + 4 + 3];
                    o += 4u + len;
                }
            }
            at += rdlen;
        }
    }
    return true;
}

bool has_rrsig(const uint8_t* m, std::size_t size) noexcept {
    if (size < 12) return false;
    // Skips a name: labels up to the root or a compression pointer.
    auto skip_name = [&](std::size_t at) -> std::size_t {
        while (at < size) {
            const uint8_t len = m[at];
            if ((len & 0xc0) == 0xc0) return at + 2;
            if (len == 0) return at + 1;
            at += 1u + len;
        }
        return size + 1;
    };
    const unsigned qd = (unsigned{m[4]} << 8) | m[5];
    const unsigned records = ((unsigned{m[6]} << 8) | m[7]) + ((unsigned{m[8]} << 8) | m[9]);
    std::size_t at = 12;
    for (unsigned i = 0; i < qd; ++i) at = skip_name(at) + 4;
    for (unsigned i = 0; i < records; ++i) {
        at = skip_name(at);
        if (at + 10 > size) return false;
        if (((unsigned{m[at]} << 8) | m[at + 1]) == kTypeRrsig) return true;
        at += 10u + ((std::size_t{m[at + 8]} << 8) | m[at + 9]);
    }
    return false;
}

}  // namespace bench

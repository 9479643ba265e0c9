// DNS wire-format constants and big-endian helpers (RFC 1035 §4). No I/O, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace meridian::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameLength = 255;  // RFC 1035 §2.3.4, wire form
inline constexpr std::size_t kMaxLabelLength = 63;
inline constexpr std::size_t kMaxLabels = 128;       // 255 bytes hold at most 127 labels + root
inline constexpr std::size_t kClassicUdpSize = 512;  // RFC 1035 §4.2.1
inline constexpr std::size_t kMaxMessageSize = 65535;

namespace rrtype {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16, AAAA = 28,
                          SRV = 33, NAPTR = 35, DS = 43, OPT = 41, RRSIG = 46, NSEC = 47, DNSKEY = 48, SSHFP = 44,
                          TLSA = 52, SVCB = 64, HTTPS = 65, CAA = 257, TSIG = 250, IXFR = 251, AXFR = 252, MAILB = 253,
                          MAILA = 254, ANY = 255;
}
namespace rrclass {
inline constexpr uint16_t IN = 1, CH = 3, NONE = 254, ANY = 255;
}
namespace rcode {
inline constexpr uint16_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5, NOTAUTH = 9,
                          BADVERS = 16;  // BADVERS needs the OPT extended rcode
}
namespace opcode {
inline constexpr uint8_t QUERY = 0, NOTIFY = 4;
}
namespace edns_option {
inline constexpr uint16_t NSID = 3, CLIENT_SUBNET = 8;
}

// Header flag bits in the second 16-bit word (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD).
namespace flag {
inline constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080, AD = 0x0020, CD = 0x0010;
}
inline constexpr uint16_t kEdnsDoBit = 0x8000;  // in the OPT TTL's low 16 bits (RFC 3225)
inline constexpr uint16_t kEdnsCoBit = 0x4000;  // Compact Answers OK, next to DO (RFC 9824 §4)

inline uint16_t read_u16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t read_u32(const uint8_t* p) noexcept {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void write_u16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void write_u32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

}  // namespace meridian::dns

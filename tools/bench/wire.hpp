// tools/bench: the little DNS wire format the load generator needs (queries out, responses in).
// Self-contained on purpose: the bench must not trust the server's own code to judge it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// An address family and up to 16 bytes: an EDNS Client Subnet or a plain address.
struct Subnet {
    int family = AF_INET;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};
    uint8_t prefix = 0;

    uint32_t v4() const noexcept {
        return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
    }
};

// "81.2.69.0/24", "2001:db8::/48"; bits past the prefix must be clear.
std::optional<Subnet> parse_subnet(std::string_view text, std::string* error);
std::string format_subnet(const Subnet& s);
std::string format_v4(uint32_t address);
std::optional<uint32_t> parse_v4(std::string_view text);

// "127.0.0.1:5300", "[::1]:5300" (port required), "127.0.0.2" / "::1" (port 0).
bool parse_sockaddr(std::string_view text, bool need_port, sockaddr_storage* out, socklen_t* size);
std::string format_sockaddr(const sockaddr* address);
bool is_loopback(const sockaddr* address);

struct QuerySpec {
    std::string name;  // presentation form, with or without the final dot
    uint16_t qtype = 1;
    bool edns = true;  // an OPT record (payload 1232), implied by ecs and dnssec_ok
    std::optional<Subnet> ecs;
    bool dnssec_ok = false;  // the DO bit (RFC 3225): ask for signatures
};

uint16_t qtype_from_text(std::string_view text);  // 0 when unknown
std::string qtype_text(uint16_t qtype);
int rcode_from_text(std::string_view text);  // -1 when unknown
std::string rcode_text(unsigned rcode);

// A query with ID 0, RD clear. Empty on a malformed name (the error says why).
std::vector<uint8_t> build_query(const QuerySpec& spec, std::string* error);

// Length of the header plus the question of a message we built (to compare echoed questions).
std::size_t question_end(std::span<const uint8_t> message);

struct Response {
    uint16_t id = 0;
    bool qr = false, aa = false, tc = false;
    unsigned rcode = 0;  // with the extended bits of the OPT, when present
    std::string qname;   // lower case, with the final dot
    uint16_t qtype = 0;
    uint16_t ancount = 0;
    std::vector<uint32_t> a;  // the A records of the answer section
    std::vector<std::array<uint8_t, 16>> aaaa;
    unsigned cnames = 0;
    bool has_opt = false;
    bool dnssec_ok = false;                 // DO echoed in the OPT
    std::optional<uint8_t> ecs_scope;       // the scope of an echoed ECS option
    std::vector<uint16_t> rrsig_answer;     // types covered by the RRSIGs of the answer section
    std::vector<uint16_t> rrsig_authority;  // and of the authority section
};

// Parses a whole response; false (error set) on anything malformed.
bool parse_response(std::span<const uint8_t> message, Response* out, std::string* error);

// The timed path's cheap look at a response to a DO query: true when its answer or authority
// section holds an RRSIG (names are skipped, not read); false too when it is malformed.
bool has_rrsig(const uint8_t* message, std::size_t size) noexcept;

}  // namespace bench

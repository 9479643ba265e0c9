// Tests for the EDNS Client Subnet option in dns/query (RFC 7871 §6): well-formed options are
// read field by field, and every malformation makes the query FORMERR (RFC 7871 §7.1.1).
// Packets are written byte by byte so that each malformation is explicit.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "test_support.hpp"

using meridian::dns::Query;
using meridian::dns::QueryStatus;
using meridian::dns::read_query;
using meridian::test::wire;

namespace {

void put_u16(std::string* out, uint16_t v) {
    *out += static_cast<char>(v >> 8);
    *out += static_cast<char>(v & 0xFF);
}

// The option's data: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS (RFC 7871 §6).
std::string ecs_data(uint16_t family, uint8_t source, uint8_t scope, const std::vector<uint8_t>& address) {
    std::string data;
    put_u16(&data, family);
    data += static_cast<char>(source);
    data += static_cast<char>(scope);
    for (const uint8_t b : address) data += static_cast<char>(b);
    return data;
}

// An EDNS option: code, length, data.
std::string option(uint16_t code, const std::string& data) {
    std::string out;
    put_u16(&out, code);
    put_u16(&out, static_cast<uint16_t>(data.size()));
    return out + data;
}

std::string ecs(uint16_t family, uint8_t source, uint8_t scope, const std::vector<uint8_t>& address) {
    return option(meridian::dns::edns_option::CLIENT_SUBNET, ecs_data(family, source, scope, address));
}

// A query for www.example.com/A with one OPT record holding `options`.
std::vector<uint8_t> query_with_options(const std::string& options) {
    std::string p;
    put_u16(&p, 0x1234);  // ID
    put_u16(&p, 0x0100);  // RD
    put_u16(&p, 1);       // QDCOUNT
    put_u16(&p, 0);
    put_u16(&p, 0);
    put_u16(&p, 1);  // ARCOUNT: the OPT
    p += wire("www.example.com.");
    put_u16(&p, meridian::dns::rrtype::A);
    put_u16(&p, 1);
    p += '\0';  // root owner
    put_u16(&p, meridian::dns::rrtype::OPT);
    put_u16(&p, 1232);
    p += std::string(4, '\0');  // extended rcode, version, flags
    put_u16(&p, static_cast<uint16_t>(options.size()));
    p += options;
    return meridian::test::bytes_of(p);
}

}  // namespace

TEST_CASE("a well-formed ECS option is read field by field", "[dns]") {
    struct Case {
        const char* what;
        uint16_t family;
        uint8_t source;
        std::vector<uint8_t> address;
    };
    const Case cases[] = {
        {"IPv4 /24", 1, 24, {192, 0, 2}},
        {"IPv4 /32", 1, 32, {127, 0, 0, 2}},
        {"IPv4 /20: the last byte's low bits are zero", 1, 20, {198, 51, 96}},
        {"IPv4 /1", 1, 1, {0x80}},
        {"IPv6 /56", 2, 56, {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00}},
        {"IPv6 /128", 2, 128, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
        {"IPv6 /41", 2, 41, {0x20, 0x01, 0x0d, 0xb8, 0x02, 0x80}},
        {"IPv4 /0 without address bytes", 1, 0, {}},
        {"IPv6 /0 without address bytes", 2, 0, {}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        Query q;
        REQUIRE(read_query(query_with_options(ecs(c.family, c.source, 0, c.address)), &q) == QueryStatus::ok);
        REQUIRE(q.edns.is_present);
        const meridian::dns::ClientSubnet& s = q.edns.client_subnet;
        CHECK(s.is_present);
        CHECK(s.family == c.family);
        CHECK(s.source_prefix == c.source);
        CHECK(s.address_size == c.address.size());
        for (std::size_t i = 0; i < 16; ++i) {
            CHECK(s.address[i] == (i < c.address.size() ? c.address[i] : 0));  // zero past the bytes sent
        }
    }
}

TEST_CASE("ECS is read beside other options, in any order", "[dns]") {
    const std::string nsid = option(meridian::dns::edns_option::NSID, "");
    const std::string unknown = option(65001, "xyz");
    for (const std::string& options : {nsid + ecs(1, 24, 0, {192, 0, 2}) + unknown,
                                       ecs(1, 24, 0, {192, 0, 2}) + nsid, unknown + ecs(1, 24, 0, {192, 0, 2})}) {
        Query q;
        REQUIRE(read_query(query_with_options(options), &q) == QueryStatus::ok);
        CHECK(q.edns.client_subnet.is_present);
        CHECK(q.edns.client_subnet.source_prefix == 24);
        CHECK(q.edns.client_subnet.address[2] == 2);
    }
    SECTION("no ECS option: not present") {
        Query q;
        REQUIRE(read_query(query_with_options(nsid), &q) == QueryStatus::ok);
        CHECK(q.edns.wants_nsid);
        CHECK_FALSE(q.edns.client_subnet.is_present);
    }
}

TEST_CASE("a malformed ECS option makes the query FORMERR", "[dns]") {
    struct Case {
        const char* what;
        std::string options;
    };
    const Case cases[] = {
        {"unknown family 3", ecs(3, 24, 0, {192, 0, 2})},
        {"family 0", ecs(0, 0, 0, {})},
        {"IPv4 source 33", ecs(1, 33, 0, {192, 0, 2, 1, 0})},
        {"IPv4 source 33 with four bytes", ecs(1, 33, 0, {192, 0, 2, 1})},
        {"IPv6 source 129", ecs(2, 129, 0, std::vector<uint8_t>(17, 0))},
        {"too many address bytes for the source", ecs(1, 24, 0, {192, 0, 2, 0})},
        {"too few address bytes for the source", ecs(1, 24, 0, {192, 0})},
        {"address bytes with source 0", ecs(1, 0, 0, {0})},
        {"no address bytes for a /8", ecs(1, 8, 0, {})},
        {"IPv6: too few bytes", ecs(2, 48, 0, {0x20, 0x01, 0x0d, 0xb8})},
        {"a bit set past the source prefix (/20)", ecs(1, 20, 0, {198, 51, 100})},
        {"the last bit past /31 set", ecs(1, 31, 0, {192, 0, 2, 1})},
        {"a bit past /41 in IPv6", ecs(2, 41, 0, {0x20, 0x01, 0x0d, 0xb8, 0x02, 0x40})},
        {"a non-zero scope in a query", ecs(1, 24, 24, {192, 0, 2})},
        {"scope 1 with source 0", ecs(1, 0, 1, {})},
        {"two ECS options", ecs(1, 24, 0, {192, 0, 2}) + ecs(1, 24, 0, {192, 0, 2})},
        {"two ECS options of different families", ecs(1, 24, 0, {192, 0, 2}) + ecs(2, 0, 0, {})},
        {"an option shorter than the fixed part", option(meridian::dns::edns_option::CLIENT_SUBNET, std::string("\0\1\x18", 3))},
        {"an empty option", option(meridian::dns::edns_option::CLIENT_SUBNET, "")},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        Query q;
        CHECK(read_query(query_with_options(c.options), &q) == QueryStatus::formerr);
        // What was read so far can still be echoed in the FORMERR answer.
        CHECK(q.id == 0x1234);
        CHECK(q.has_question);
    }
}

// Tests for geo/address: parsing addresses and networks, prefix arithmetic, and the conversion
// of socket addresses (a v4-mapped IPv6 source is an IPv4 client).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <optional>
#include <string>

#include "geo/address.hpp"

using meridian::geo::IpAddress;
using meridian::geo::Network;
using meridian::geo::parse_address;
using meridian::geo::parse_network;

namespace {

IpAddress address(const char* text) {
    const auto a = parse_address(text);
    REQUIRE(a.has_value());
    return *a;
}

Network network(const char* text) {
    const auto n = parse_network(text, /*is_strict=*/true);
    REQUIRE(n.has_value());
    return *n;
}

}  // namespace

TEST_CASE("parse_address reads IPv4 and IPv6 text and rejects anything else", "[geo]") {
    SECTION("IPv4: the first four bytes") {
        const auto a = parse_address("192.0.2.1");
        REQUIRE(a.has_value());
        CHECK(a->family == 4);
        CHECK(a->width() == 32);
        CHECK(a->is_valid());
        CHECK(a->bytes[0] == 192);
        CHECK(a->bytes[1] == 0);
        CHECK(a->bytes[2] == 2);
        CHECK(a->bytes[3] == 1);
        for (std::size_t i = 4; i < 16; ++i) CHECK(a->bytes[i] == 0);
    }
    SECTION("IPv6") {
        const auto a = parse_address("2001:db8::1");
        REQUIRE(a.has_value());
        CHECK(a->family == 6);
        CHECK(a->width() == 128);
        CHECK(a->bytes[0] == 0x20);
        CHECK(a->bytes[1] == 0x01);
        CHECK(a->bytes[2] == 0x0d);
        CHECK(a->bytes[3] == 0xb8);
        CHECK(a->bytes[15] == 1);
    }
    SECTION("a v4-mapped IPv6 text stays IPv6 (only socket sources are unmapped)") {
        const auto a = parse_address("::ffff:192.0.2.1");
        REQUIRE(a.has_value());
        CHECK(a->family == 6);
    }
    SECTION("malformed text") {
        for (const char* text : {"", "1.2.3", "256.0.0.1", " 192.0.2.1", "192.0.2.1 ", "192.0.2.1/24", "2001:db8:::1",
                                 "example.com", "::g"}) {
            CAPTURE(text);
            CHECK_FALSE(parse_address(text).has_value());
        }
    }
    SECTION("a default IpAddress is no address") {
        CHECK_FALSE(IpAddress{}.is_valid());
    }
}

TEST_CASE("parse_network: strict rejects host bits, lenient clears them", "[geo]") {
    struct Case {
        const char* text;
        bool is_strict;
        const char* expected;  // nullptr: rejected
    };
    const Case cases[] = {
        {"192.0.2.0/24", true, "192.0.2.0/24"},
        {"192.0.2.0/24", false, "192.0.2.0/24"},
        {"192.0.2.1/24", true, nullptr},
        {"192.0.2.1/24", false, "192.0.2.0/24"},
        {"192.0.2.255/25", false, "192.0.2.128/25"},
        {"10.255.255.255/8", false, "10.0.0.0/8"},
        {"10.1.0.0/15", true, nullptr},
        {"10.0.0.0/15", true, "10.0.0.0/15"},
        {"0.0.0.0/0", true, "0.0.0.0/0"},
        {"1.2.3.4/0", false, "0.0.0.0/0"},
        {"1.2.3.4/0", true, nullptr},
        {"192.0.2.7", true, "192.0.2.7/32"},  // a bare address is a full-length prefix
        {"192.0.2.7/32", true, "192.0.2.7/32"},
        {"2001:db8::/32", true, "2001:db8::/32"},
        {"2001:db8::1/64", true, nullptr},
        {"2001:db8::1/64", false, "2001:db8::/64"},
        {"2001:db8:ffff:ffff::/33", false, "2001:db8:8000::/33"},
        {"2001:db8::1", true, "2001:db8::1/128"},
        {"::/0", true, "::/0"},
        // Bad lengths and malformed text.
        {"192.0.2.0/33", false, nullptr},
        {"192.0.2.0/255", false, nullptr},
        {"192.0.2.0/256", false, nullptr},
        {"192.0.2.0/4294967320", false, nullptr},
        {"2001:db8::/129", false, nullptr},
        {"192.0.2.0/", false, nullptr},
        {"192.0.2.0/-1", false, nullptr},
        {"192.0.2.0/+8", false, nullptr},
        {"192.0.2.0/ 24", false, nullptr},
        {"192.0.2.0/24 ", false, nullptr},
        {"192.0.2.0/24x", false, nullptr},
        {"192.0.2.0/24/8", false, nullptr},
        {"/24", false, nullptr},
        {"", false, nullptr},
        {"192.0.2/24", false, nullptr},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text, c.is_strict);
        const auto n = parse_network(c.text, c.is_strict);
        if (c.expected == nullptr) {
            CHECK_FALSE(n.has_value());
        } else {
            REQUIRE(n.has_value());
            CHECK(meridian::geo::to_string(*n) == c.expected);
        }
    }
}

TEST_CASE("a lenient parse keeps the prefix length and family", "[geo]") {
    const auto n = parse_network("198.51.100.77/20", /*is_strict=*/false);
    REQUIRE(n.has_value());
    CHECK(n->address.family == 4);
    CHECK(n->prefix_length == 20);
    CHECK(n->address.bytes[2] == 96);  // 100 = 0110 0100: the low four bits are past /20
    CHECK(n->address.bytes[3] == 0);
}

TEST_CASE("Network::contains tests addresses of the same family only", "[geo]") {
    struct Case {
        const char* network;
        const char* address;
        bool is_inside;
    };
    const Case cases[] = {
        {"10.0.0.0/8", "10.0.0.0", true},
        {"10.0.0.0/8", "10.255.255.255", true},
        {"10.0.0.0/8", "11.0.0.0", false},
        {"10.0.0.0/8", "9.255.255.255", false},
        {"192.0.2.128/25", "192.0.2.127", false},
        {"192.0.2.128/25", "192.0.2.128", true},
        {"192.0.2.7/32", "192.0.2.7", true},
        {"192.0.2.7/32", "192.0.2.6", false},
        {"0.0.0.0/0", "203.0.113.9", true},
        {"0.0.0.0/0", "2001:db8::1", false},  // another family
        {"::/0", "192.0.2.1", false},
        {"::/0", "2001:db8::1", true},
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"2001:db8::/32", "2001:db9::1", false},
        {"::/96", "192.0.2.1", false},  // IPv4 is not ::/96 here, whatever a database does
    };
    for (const Case& c : cases) {
        CAPTURE(c.network, c.address);
        CHECK(network(c.network).contains(address(c.address)) == c.is_inside);
    }
}

TEST_CASE("Network::contains and overlaps compare networks", "[geo]") {
    struct Case {
        const char* a;
        const char* b;
        bool a_contains_b;
        bool b_contains_a;
    };
    const Case cases[] = {
        {"10.0.0.0/8", "10.1.0.0/16", true, false},
        {"10.0.0.0/8", "10.0.0.0/8", true, true},
        {"10.0.0.0/8", "11.0.0.0/8", false, false},
        {"10.0.0.0/7", "11.0.0.0/8", true, false},
        {"192.0.2.0/25", "192.0.2.128/25", false, false},
        {"0.0.0.0/0", "198.51.100.0/24", true, false},
        {"0.0.0.0/0", "::/0", false, false},
        {"2001:db8::/32", "2001:db8:1::/48", true, false},
        {"2001:db8::/48", "2001:db8:1::/48", false, false},
    };
    for (const Case& c : cases) {
        CAPTURE(c.a, c.b);
        const Network a = network(c.a);
        const Network b = network(c.b);
        CHECK(a.contains(b) == c.a_contains_b);
        CHECK(b.contains(a) == c.b_contains_a);
        const bool overlaps = c.a_contains_b || c.b_contains_a;
        CHECK(a.overlaps(b) == overlaps);
        CHECK(b.overlaps(a) == overlaps);  // symmetric
    }
}

TEST_CASE("common_prefix_length counts the leading bits two addresses share", "[geo]") {
    struct Case {
        const char* a;
        const char* b;
        unsigned bits;
    };
    const Case cases[] = {
        {"192.0.2.1", "192.0.2.1", 32},
        {"192.0.2.0", "192.0.2.1", 31},
        {"192.0.2.0", "192.0.3.0", 23},
        {"10.0.0.0", "11.0.0.0", 7},
        {"0.0.0.0", "128.0.0.0", 0},
        {"127.0.0.1", "81.2.69.1", 2},
        {"2001:db8::1", "2001:db8::1", 128},
        {"2001:db8::", "2001:db8:0:0:8000::", 64},
        {"2001:db8::", "2001:db8::1", 127},
        {"::", "8000::", 0},
        {"2001:db8:100::", "2001:db8:200::", 38},
    };
    for (const Case& c : cases) {
        CAPTURE(c.a, c.b);
        CHECK(meridian::geo::common_prefix_length(address(c.a), address(c.b)) == c.bits);
        CHECK(meridian::geo::common_prefix_length(address(c.b), address(c.a)) == c.bits);
    }
}

TEST_CASE("bit_at reads bits from the most significant end", "[geo]") {
    const IpAddress a = address("128.0.0.1");  // 1000 0000 ... 0000 0001
    CHECK(meridian::geo::bit_at(a, 0));
    CHECK_FALSE(meridian::geo::bit_at(a, 1));
    CHECK_FALSE(meridian::geo::bit_at(a, 30));
    CHECK(meridian::geo::bit_at(a, 31));
}

TEST_CASE("from_sockaddr turns socket sources into addresses; v4-mapped IPv6 is an IPv4 client", "[geo]") {
    SECTION("IPv4") {
        sockaddr_in v4{};
        v4.sin_family = AF_INET;
        v4.sin_port = htons(5300);
        REQUIRE(inet_pton(AF_INET, "203.0.113.9", &v4.sin_addr) == 1);
        const IpAddress a = meridian::geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4));
        CHECK(a.family == 4);
        CHECK(meridian::geo::to_string(a) == "203.0.113.9");
    }
    SECTION("IPv6") {
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        REQUIRE(inet_pton(AF_INET6, "2001:db8::53", &v6.sin6_addr) == 1);
        const IpAddress a = meridian::geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6));
        CHECK(a.family == 6);
        CHECK(meridian::geo::to_string(a) == "2001:db8::53");
        CHECK(a.bytes[15] == 0x53);
    }
    SECTION("v4-mapped IPv6 (a dual-stack socket) → family 4") {
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        REQUIRE(inet_pton(AF_INET6, "::ffff:198.51.100.20", &v6.sin6_addr) == 1);
        const IpAddress a = meridian::geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6));
        CHECK(a.family == 4);
        CHECK(meridian::geo::to_string(a) == "198.51.100.20");
        for (std::size_t i = 4; i < 16; ++i) CHECK(a.bytes[i] == 0);  // equal to a parsed IPv4 address
        CHECK(a.bytes == address("198.51.100.20").bytes);
    }
    SECTION("IPv4-compatible ::a.b.c.d and NAT64 64:ff9b::/96 stay IPv6") {
        for (const char* text : {"::198.51.100.20", "64:ff9b::c633:6414", "::fffe:c633:6414"}) {
            CAPTURE(text);
            sockaddr_in6 v6{};
            v6.sin6_family = AF_INET6;
            REQUIRE(inet_pton(AF_INET6, text, &v6.sin6_addr) == 1);
            CHECK(meridian::geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6)).family == 6);
        }
    }
    SECTION("no address or another family: no client address") {
        CHECK(meridian::geo::from_sockaddr(nullptr).family == 0);
        sockaddr_un local{};
        local.sun_family = AF_UNIX;
        CHECK_FALSE(meridian::geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&local)).is_valid());
    }
}

TEST_CASE("to_sockaddr and from_sockaddr round-trip both families", "[geo]") {
    for (const char* text : {"192.0.2.1", "0.0.0.0", "2001:db8::1", "::1"}) {
        CAPTURE(text);
        const IpAddress a = address(text);
        sockaddr_storage storage;
        const socklen_t size = meridian::geo::to_sockaddr(a, &storage);
        CHECK(size == (a.family == 4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
        CHECK(storage.ss_family == (a.family == 4 ? AF_INET : AF_INET6));
        const IpAddress back = meridian::geo::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
        CHECK(back.family == a.family);
        CHECK(back.bytes == a.bytes);
    }
}

TEST_CASE("masked clears every bit past the prefix, inside a byte too", "[geo]") {
    using meridian::geo::masked;
    CHECK(masked(address("192.0.2.255"), 24) == address("192.0.2.0"));
    CHECK(masked(address("192.0.2.255"), 27) == address("192.0.2.224"));
    CHECK(masked(address("192.0.2.255"), 0) == address("0.0.0.0"));
    CHECK(masked(address("192.0.2.255"), 32) == address("192.0.2.255"));
    CHECK(masked(address("2001:db8:abcd:ef01::1"), 56) == address("2001:db8:abcd:ef00::"));
    CHECK(masked(address("2001:db8:abcd:ef01::1"), 50) == address("2001:db8:abcd:c000::"));
    CHECK(masked(address("2001:db8::ffff"), 128) == address("2001:db8::ffff"));
    CHECK(masked(address("2001:db8::1"), 56).family == 6);
}

// Tests for dns/query: which packets are answered, refused as malformed or dropped, and the EDNS
// facts read from the OPT record (RFC 1035 §4.1, RFC 6891 §6).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/ldns.hpp"
#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "test_support.hpp"

using meridian::dns::Query;
using meridian::dns::QueryStatus;
using meridian::dns::read_query;
using meridian::test::wire;
namespace flag = meridian::dns::flag;
namespace rrtype = meridian::dns::rrtype;

namespace {

// Builds a packet byte by byte, so that every malformation can be written down exactly.
struct Packet {
    std::vector<uint8_t> bytes;

    Packet& u8(uint8_t v) {
        bytes.push_back(v);
        return *this;
    }
    Packet& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
    Packet& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
    Packet& raw(std::string_view s) {
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    Packet& name(std::string_view text) { return raw(wire(text)); }
    Packet& question(std::string_view text, uint16_t qtype = rrtype::A, uint16_t qclass = 1) {
        return name(text).u16(qtype).u16(qclass);
    }
    // An OPT record (RFC 6891 §6.1.2); `options` is the raw rdata.
    Packet& opt(uint16_t payload, uint8_t version = 0, uint16_t flags = 0, std::string_view options = {}) {
        u8(0).u16(rrtype::OPT).u16(payload).u8(0).u8(version).u16(flags);
        return u16(static_cast<uint16_t>(options.size())).raw(options);
    }
};

Packet header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
    Packet p;
    p.u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    return p;
}

uint16_t opcode_flags(uint8_t opcode) { return static_cast<uint16_t>(opcode << 11); }

// An EDNS option: code, length, data.
std::string option(uint16_t code, std::string_view data) {
    std::string out;
    out += static_cast<char>(code >> 8);
    out += static_cast<char>(code & 0xFF);
    out += static_cast<char>(data.size() >> 8);
    out += static_cast<char>(data.size() & 0xFF);
    out.append(data);
    return out;
}

QueryStatus read(const Packet& p, Query* q) { return read_query(p.bytes, q); }

}  // namespace

TEST_CASE("read_query accepts a plain query and records its question", "[dns]") {
    const Packet p = header(0xBEEF, flag::RD | flag::CD, 1).question("www.example.com.", rrtype::AAAA, 1);
    Query q;
    REQUIRE(read(p, &q) == QueryStatus::ok);
    CHECK(q.id == 0xBEEF);
    CHECK(q.opcode == 0);
    CHECK(q.flags == (flag::RD | flag::CD));
    CHECK(q.has_flag(flag::RD));
    CHECK_FALSE(q.has_flag(flag::AD));
    CHECK(q.has_question);
    CHECK(q.qname_size == 17);
    CHECK(q.qname_lower.view() == wire("www.example.com."));
    CHECK(q.qtype == rrtype::AAAA);
    CHECK(q.qclass == 1);
    CHECK(q.question_end == 12 + 17 + 4);
    CHECK_FALSE(q.edns.is_present);
}

TEST_CASE("read_query lower-cases the lookup name but not the packet", "[dns]") {
    const Packet p = header(1, 0, 1).question("WwW.ExAmple.COM.");
    Query q;
    REQUIRE(read(p, &q) == QueryStatus::ok);
    CHECK(q.qname_lower.view() == wire("www.example.com."));
    CHECK(q.qname_size == 17);
    const std::string sent(reinterpret_cast<const char*>(p.bytes.data()) + 12, q.qname_size);
    CHECK(sent == wire("WwW.ExAmple.COM."));
}

TEST_CASE("read_query ignores bytes after the last record", "[dns]") {
    Packet p = header(1, 0, 1).question("example.com.");
    p.raw("\xDE\xAD\xBE\xEF trailing garbage");
    Query q;
    CHECK(read(p, &q) == QueryStatus::ok);
    CHECK(q.question_end == 12 + 13 + 4);
}

TEST_CASE("read_query drops packets that cannot be queries", "[dns]") {
    Query q;
    SECTION("empty") { CHECK(read_query({}, &q) == QueryStatus::drop); }
    SECTION("eleven bytes") {
        Packet p = header(1, 0, 1);
        p.bytes.resize(11);
        CHECK(read(p, &q) == QueryStatus::drop);
    }
    SECTION("a response (QR=1), however well formed") {
        const Packet p = header(1, flag::QR, 1).question("example.com.");
        CHECK(read(p, &q) == QueryStatus::drop);
    }
}

TEST_CASE("read_query answers malformed queries with FORMERR", "[dns]") {
    struct Case {
        const char* what;
        Packet packet;
    };
    const std::vector<Case> cases = {
        {"no question", header(1, 0, 0)},
        {"two questions", header(1, 0, 2).question("a.example.").question("b.example.")},
        {"QDCOUNT 1 but no question bytes", header(1, 0, 1)},
        {"the question name is cut short", header(1, 0, 1).raw("\7exam")},
        {"the question ends inside QTYPE/QCLASS", header(1, 0, 1).name("example.com.").u16(1)},
        // Offset 4 of the header holds QDCOUNT = 0x0001, whose first byte reads as the root
        // label: a pointer "works" but a question cannot legitimately contain one.
        {"a pointer in the question", header(1, 0, 1).raw("\3www\xC0\x04").u16(1).u16(1)},
        {"a pointer to itself in the question", header(1, 0, 1).raw("\xC0\x0C").u16(1).u16(1)},
        {"a reserved label type in the question", header(1, 0, 1).raw("\x41\x01").u8(0).u16(1).u16(1)},
        {"two OPT records", header(1, 0, 1, 0, 0, 2).question("example.com.").opt(1232).opt(1232)},
        {"an OPT whose owner is not the root",
         header(1, 0, 1, 0, 0, 1).question("example.com.").name("example.com.").u16(rrtype::OPT).u16(1232).u32(0).u16(0)},
        {"an OPT in the answer section", header(1, 0, 1, 1, 0, 0).question("example.com.").opt(1232)},
        {"an OPT in the authority section", header(1, 0, 1, 0, 1, 0).question("example.com.").opt(1232)},
        {"an option longer than the OPT rdata",
         header(1, 0, 1, 0, 0, 1).question("example.com.").opt(1232, 0, 0, option(3, "abcd").substr(0, 6))},
        {"an option header cut short", header(1, 0, 1, 0, 0, 1).question("example.com.").opt(1232, 0, 0, std::string_view("\0\3\0", 3))},
        {"OPT rdata running past the end of the packet",
         header(1, 0, 1, 0, 0, 1).question("example.com.").u8(0).u16(rrtype::OPT).u16(1232).u32(0).u16(8).u16(3)},
        {"an OPT record cut short", header(1, 0, 1, 0, 0, 1).question("example.com.").u8(0).u16(rrtype::OPT).u16(1232)},
        {"ARCOUNT larger than the records present", header(1, 0, 1, 0, 0, 1).question("example.com.")},
        {"a question of type OPT", header(1, 0, 1).question("example.com.", rrtype::OPT)},
    };
    for (const Case& c : cases) {
        SECTION(c.what) {
            Query q;
            CHECK(read(c.packet, &q) == QueryStatus::formerr);
            CHECK(q.id == 1);  // enough was read to echo the ID
        }
    }
}

TEST_CASE("read_query accepts an OPT record after ordinary records in the additional section", "[dns]") {
    // A non-OPT record in the authority section is skipped, then the OPT in additional is read.
    const Packet p = header(1, 0, 1, 0, 1, 1)
                         .question("example.com.")
                         .name("example.com.").u16(rrtype::A).u16(1).u32(60).u16(4).u32(0xC0000201)
                         .opt(4096, 0, 0x8000);
    Query q;
    REQUIRE(read(p, &q) == QueryStatus::ok);
    CHECK(q.edns.is_present);
    CHECK(q.edns.udp_payload == 4096);
    CHECK(q.edns.is_dnssec_ok);
}

TEST_CASE("read_query answers opcodes other than QUERY with NOTIMP", "[dns]") {
    // 2 STATUS (RFC 1035), 4 NOTIFY (RFC 1996), 5 UPDATE (RFC 2136).
    for (const uint8_t opcode : {uint8_t{2}, uint8_t{4}, uint8_t{5}, uint8_t{15}}) {
        CAPTURE(int{opcode});
        SECTION("opcode " + std::to_string(opcode) + " with a question") {
            const Packet p = header(0x4242, opcode_flags(opcode) | flag::RD, 1).question("Example.COM.", rrtype::SOA);
            Query q;
            CHECK(read(p, &q) == QueryStatus::notimp);
            CHECK(q.id == 0x4242);
            CHECK(q.opcode == opcode);
            CHECK(q.has_question);  // so that the error answer can echo it
            CHECK(q.qtype == rrtype::SOA);
            CHECK(q.qname_lower.view() == wire("example.com."));
        }
        SECTION("opcode " + std::to_string(opcode) + " without a question") {
            const Packet p = header(0x4242, opcode_flags(opcode), 0);
            Query q;
            CHECK(read(p, &q) == QueryStatus::notimp);
            CHECK(q.opcode == opcode);
            CHECK_FALSE(q.has_question);
        }
    }
}

TEST_CASE("read_query reads the EDNS fields of the OPT record", "[dns]") {
    SECTION("payload, version 0, DO clear, no options") {
        const Packet p = header(1, 0, 1, 0, 0, 1).question("example.com.").opt(1232);
        Query q;
        REQUIRE(read(p, &q) == QueryStatus::ok);
        CHECK(q.edns.is_present);
        CHECK(q.edns.udp_payload == 1232);
        CHECK(q.edns.version == 0);
        CHECK_FALSE(q.edns.is_dnssec_ok);
        CHECK_FALSE(q.edns.wants_nsid);
    }
    SECTION("DO bit and an empty NSID option among unknown options") {
        const std::string options = option(10, "12345678") + option(3, "") + option(65001, "xyz");
        const Packet p = header(1, 0, 1, 0, 0, 1).question("example.com.").opt(4096, 0, 0x8000, options);
        Query q;
        REQUIRE(read(p, &q) == QueryStatus::ok);
        CHECK(q.edns.udp_payload == 4096);
        CHECK(q.edns.is_dnssec_ok);
        CHECK(q.edns.wants_nsid);
    }
    SECTION("other bits of the flags word are not DO") {
        const Packet p = header(1, 0, 1, 0, 0, 1).question("example.com.").opt(512, 0, 0x7FFF);
        Query q;
        REQUIRE(read(p, &q) == QueryStatus::ok);
        CHECK_FALSE(q.edns.is_dnssec_ok);
    }
    SECTION("a payload below 512 is reported as sent") {
        const Packet p = header(1, 0, 1, 0, 0, 1).question("example.com.").opt(100);
        Query q;
        REQUIRE(read(p, &q) == QueryStatus::ok);
        CHECK(q.edns.udp_payload == 100);
    }
}

TEST_CASE("read_query answers an EDNS version above 0 with BADVERS", "[dns]") {
    const Packet p = header(7, 0, 1, 0, 0, 1).question("example.com.").opt(4096, 1, 0x8000, option(3, ""));
    Query q;
    REQUIRE(read(p, &q) == QueryStatus::badvers);
    CHECK(q.id == 7);
    CHECK(q.has_question);
    CHECK(q.edns.is_present);
    CHECK(q.edns.version == 1);
    CHECK(q.edns.udp_payload == 4096);
    CHECK(q.edns.is_dnssec_ok);  // copied into the BADVERS answer
}

TEST_CASE("read_query agrees with packets encoded by ldns", "[dns]") {
    ldns_rdf* qname = ldns_dname_new_frm_str("MiXeD.Example.ORG.");
    REQUIRE(qname != nullptr);
    meridian::ldns::PacketPtr pkt(ldns_pkt_query_new(qname, LDNS_RR_TYPE_MX, LDNS_RR_CLASS_IN, LDNS_RD | LDNS_CD));
    REQUIRE(pkt);
    ldns_pkt_set_id(pkt.get(), 0x1234);

    SECTION("without EDNS") {
        uint8_t* data = nullptr;
        std::size_t size = 0;
        REQUIRE(ldns_pkt2wire(&data, pkt.get(), &size) == LDNS_STATUS_OK);
        const std::vector<uint8_t> bytes(data, data + size);
        std::free(data);

        Query q;
        REQUIRE(read_query(bytes, &q) == QueryStatus::ok);
        CHECK(q.id == 0x1234);
        CHECK(q.has_flag(flag::RD));
        CHECK(q.has_flag(flag::CD));
        CHECK(q.qtype == rrtype::MX);
        CHECK(q.qclass == 1);
        CHECK(q.qname_lower.view() == wire("mixed.example.org."));
        CHECK(q.question_end == bytes.size());
        CHECK_FALSE(q.edns.is_present);
    }
    SECTION("with EDNS payload and DO") {
        ldns_pkt_set_edns_udp_size(pkt.get(), 1400);
        ldns_pkt_set_edns_do(pkt.get(), true);
        uint8_t* data = nullptr;
        std::size_t size = 0;
        REQUIRE(ldns_pkt2wire(&data, pkt.get(), &size) == LDNS_STATUS_OK);
        const std::vector<uint8_t> bytes(data, data + size);
        std::free(data);

        Query q;
        REQUIRE(read_query(bytes, &q) == QueryStatus::ok);
        CHECK(q.edns.is_present);
        CHECK(q.edns.udp_payload == 1400);
        CHECK(q.edns.is_dnssec_ok);
        CHECK(q.edns.version == 0);
        CHECK_FALSE(q.edns.wants_nsid);
    }
    SECTION("with EDNS version 1") {
        ldns_pkt_set_edns_udp_size(pkt.get(), 1232);
        ldns_pkt_set_edns_version(pkt.get(), 1);
        uint8_t* data = nullptr;
        std::size_t size = 0;
        REQUIRE(ldns_pkt2wire(&data, pkt.get(), &size) == LDNS_STATUS_OK);
        const std::vector<uint8_t> bytes(data, data + size);
        std::free(data);

        Query q;
        CHECK(read_query(bytes, &q) == QueryStatus::badvers);
    }
}

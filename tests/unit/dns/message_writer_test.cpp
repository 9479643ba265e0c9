// Tests for dns/message_writer: the bytes of a response, name compression (RFC 1035 §4.1.4,
// RFC 3597 §4), limits with atomic roll-back, and the OPT record (RFC 6891 §6.1.2). ldns decodes
// every message as an independent check.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/ldns.hpp"
#include "dns/message_writer.hpp"
#include "dns/wire.hpp"
#include "test_support.hpp"

using meridian::dns::MessageWriter;
using meridian::dns::RdataForm;
using meridian::dns::Section;
using meridian::test::decode;
using meridian::test::rdf_text;
using meridian::test::u8;
using meridian::test::wire;
namespace flag = meridian::dns::flag;
namespace rrtype = meridian::dns::rrtype;

namespace {

constexpr uint16_t kIN = 1;

bool add(MessageWriter& w, Section section, const std::string& owner, uint16_t type, const std::string& rdata,
         uint32_t ttl = 300) {
    return w.add_record(section, u8(owner), owner.size(), type, kIN, ttl, u8(rdata), rdata.size(),
                        meridian::dns::rdata_form_for(type));
}

std::string a_rdata(uint8_t last) { return std::string("\xC0\x00\x02", 3) + static_cast<char>(last); }

std::string mx_rdata(uint16_t preference, std::string_view target) {
    return std::string{static_cast<char>(preference >> 8), static_cast<char>(preference & 0xFF)} + wire(target);
}

// SOA rdata: two names and five 32-bit fields (RFC 1035 §3.3.13).
std::string soa_rdata(std::string_view mname, std::string_view rname) {
    std::string out = wire(mname) + wire(rname);
    for (int i = 0; i < 5; ++i) out += std::string("\0\0\0\x3C", 4);
    return out;
}

struct Message {
    std::vector<uint8_t> buffer = std::vector<uint8_t>(4096);
    MessageWriter w{buffer};

    explicit Message(std::string_view qname = "www.example.com.", uint16_t qtype = rrtype::A) {
        w.write_header(0x1234, flag::QR | flag::AA);
        const std::string q = wire(qname);
        w.write_question(u8(q), q.size(), qtype, kIN);
    }
    std::vector<uint8_t> finish() {
        const std::size_t size = w.finish();
        return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size)};
    }
};

std::string owner_text(const ldns_rr_list* list, std::size_t i) {
    return rdf_text(ldns_rr_owner(ldns_rr_list_rr(list, i)));
}
std::string rdata_text(const ldns_rr_list* list, std::size_t i, std::size_t field) {
    return rdf_text(ldns_rr_rdf(ldns_rr_list_rr(list, i), field));
}

}  // namespace

TEST_CASE("write_header and write_question produce the exact header and question", "[dns]") {
    std::vector<uint8_t> buffer(512);
    MessageWriter w(buffer);
    REQUIRE(w.write_header(0x1234, flag::QR | flag::AA | flag::RD));
    const std::string q = wire("Example.com.");
    REQUIRE(w.write_question(u8(q), q.size(), rrtype::MX, kIN));
    REQUIRE(w.finish() == 12 + 13 + 4);
    const std::string expected = std::string("\x12\x34\x85\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) + q +
                                 std::string("\x00\x0F\x00\x01", 4);
    CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), 29) == expected);
    CHECK(w.flags() == (flag::QR | flag::AA | flag::RD));
}

TEST_CASE("write_header starts a fresh message", "[dns]") {
    Message m;
    REQUIRE(add(m.w, Section::answer, wire("www.example.com."), rrtype::A, a_rdata(1)));
    REQUIRE(m.w.write_header(9, 0));
    CHECK(m.w.size() == 12);
    CHECK(m.w.count(Section::answer) == 0);
    CHECK(m.w.finish() == 12);
}

TEST_CASE("rdata_form_for compresses only the RFC 1035 types", "[dns]") {
    using meridian::dns::rdata_form_for;
    CHECK(rdata_form_for(rrtype::NS) == RdataForm::name);
    CHECK(rdata_form_for(rrtype::CNAME) == RdataForm::name);
    CHECK(rdata_form_for(rrtype::PTR) == RdataForm::name);
    CHECK(rdata_form_for(rrtype::MX) == RdataForm::preference_name);
    CHECK(rdata_form_for(rrtype::SOA) == RdataForm::soa);
    for (const uint16_t type : {rrtype::A, rrtype::AAAA, rrtype::TXT, rrtype::SRV, rrtype::NAPTR, rrtype::DS,
                                rrtype::SVCB, rrtype::HTTPS, rrtype::CAA, rrtype::TLSA, rrtype::SSHFP}) {
        CAPTURE(type);
        CHECK(rdata_form_for(type) == RdataForm::opaque);  // RFC 3597 §4
    }
}

TEST_CASE("names sharing a suffix with earlier names become pointers", "[dns]") {
    Message m;  // question www.example.com. at offset 12; "example" starts at 16
    REQUIRE(add(m.w, Section::answer, wire("www.example.com."), rrtype::A, a_rdata(1)));
    const std::size_t mail_at = m.w.size();
    REQUIRE(add(m.w, Section::answer, wire("mail.example.com."), rrtype::A, a_rdata(2)));
    const auto bytes = m.finish();

    // The first owner is entirely a pointer to the question.
    CHECK(bytes[33] == 0xC0);
    CHECK(bytes[34] == 0x0C);
    // The second is one label and a pointer to "example.com." inside the question.
    CHECK(std::string(bytes.begin() + static_cast<std::ptrdiff_t>(mail_at),
                      bytes.begin() + static_cast<std::ptrdiff_t>(mail_at + 7)) == std::string("\4mail\xC0\x10", 7));

    const auto pkt = decode(bytes);
    REQUIRE(pkt);
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    REQUIRE(ldns_rr_list_rr_count(answer) == 2);
    CHECK(owner_text(answer, 0) == "www.example.com.");
    CHECK(owner_text(answer, 1) == "mail.example.com.");
    CHECK(rdata_text(answer, 1, 0) == "192.0.2.2");
}

TEST_CASE("names inside NS, CNAME, MX and SOA rdata are compressed and round-trip", "[dns]") {
    Message m("example.com.", rrtype::SOA);
    REQUIRE(add(m.w, Section::answer, wire("example.com."), rrtype::SOA,
                soa_rdata("ns1.example.com.", "hostmaster.example.com.")));
    REQUIRE(add(m.w, Section::authority, wire("example.com."), rrtype::NS, wire("ns1.example.com.")));
    REQUIRE(add(m.w, Section::authority, wire("example.com."), rrtype::NS, wire("ns2.example.net.")));
    REQUIRE(add(m.w, Section::additional, wire("alias.example.com."), rrtype::CNAME, wire("ns1.example.com.")));
    REQUIRE(add(m.w, Section::additional, wire("example.com."), rrtype::MX, mx_rdata(10, "mx.ns2.example.net.")));
    // The owner below is written in full only once: here it becomes a pointer to the MX rdata.
    REQUIRE(add(m.w, Section::additional, wire("mx.ns2.example.net."), rrtype::A, a_rdata(25)));
    const auto bytes = m.finish();

    const std::size_t uncompressed = 12 + 17 + (13 + 10 + 17 + 24 + 20) + 2 * (13 + 10) + 17 + 17 +
                                     (19 + 10 + 17) + (13 + 10 + 2 + 20) + (20 + 10 + 4);
    CHECK(bytes.size() < uncompressed - 60);

    const auto pkt = decode(bytes);
    REQUIRE(pkt);
    CHECK(ldns_pkt_ancount(pkt.get()) == 1);
    CHECK(ldns_pkt_nscount(pkt.get()) == 2);
    CHECK(ldns_pkt_arcount(pkt.get()) == 3);
    const ldns_rr_list* an = ldns_pkt_answer(pkt.get());
    const ldns_rr_list* ns = ldns_pkt_authority(pkt.get());
    const ldns_rr_list* ar = ldns_pkt_additional(pkt.get());
    CHECK(rdata_text(an, 0, 0) == "ns1.example.com.");
    CHECK(rdata_text(an, 0, 1) == "hostmaster.example.com.");
    CHECK(rdata_text(an, 0, 6) == "60");
    CHECK(rdata_text(ns, 0, 0) == "ns1.example.com.");
    CHECK(rdata_text(ns, 1, 0) == "ns2.example.net.");
    CHECK(owner_text(ar, 0) == "alias.example.com.");
    CHECK(rdata_text(ar, 0, 0) == "ns1.example.com.");
    CHECK(rdata_text(ar, 1, 0) == "10");
    CHECK(rdata_text(ar, 1, 1) == "mx.ns2.example.net.");
    CHECK(owner_text(ar, 2) == "mx.ns2.example.net.");
    CHECK(ldns_rdf_size(ldns_rr_rdf(ldns_rr_list_rr(ar, 2), 0)) == 4);
}

TEST_CASE("a pointer to the question keeps the case the client sent", "[dns]") {
    Message m("WwW.ExAmPle.CoM.");
    REQUIRE(add(m.w, Section::answer, wire("www.example.com."), rrtype::A, a_rdata(1)));
    REQUIRE(add(m.w, Section::answer, wire("ftp.example.com."), rrtype::A, a_rdata(2)));
    const auto pkt = decode(m.finish());
    REQUIRE(pkt);
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    CHECK(owner_text(answer, 0) == "WwW.ExAmPle.CoM.");
    CHECK(owner_text(answer, 1) == "ftp.ExAmPle.CoM.");
}

TEST_CASE("opaque rdata is copied verbatim and never compressed", "[dns]") {
    Message m("_sip._udp.example.com.", rrtype::SRV);
    SECTION("SRV: the target stays uncompressed (RFC 2782, RFC 3597 §4)") {
        const std::string srv = std::string("\x00\x0A\x00\x14\x13\xC4", 6) + wire("www.example.com.");
        REQUIRE(add(m.w, Section::answer, wire("_sip._udp.example.com."), rrtype::SRV, srv));
        const auto bytes = m.finish();
        // Owner is a pointer (2), then type, class, TTL (8), RDLENGTH, then the rdata as given.
        const std::size_t rdata_at = 12 + 23 + 4 + 2 + 8 + 2;
        REQUIRE(bytes.size() == rdata_at + srv.size());
        CHECK(meridian::dns::read_u16(bytes.data() + rdata_at - 2) == srv.size());
        CHECK(std::string(bytes.begin() + static_cast<std::ptrdiff_t>(rdata_at), bytes.end()) == srv);
        const auto pkt = decode(bytes);
        REQUIRE(pkt);
        CHECK(rdata_text(ldns_pkt_answer(pkt.get()), 0, 3) == "www.example.com.");
    }
    SECTION("TXT whose bytes look like a name already in the message") {
        const std::string txt = wire("_sip._udp.example.com.");
        REQUIRE(add(m.w, Section::answer, wire("_sip._udp.example.com."), rrtype::TXT, txt));
        const auto bytes = m.finish();
        const std::size_t rdata_at = 12 + 23 + 4 + 2 + 8 + 2;
        REQUIRE(bytes.size() == rdata_at + txt.size());
        CHECK(std::string(bytes.begin() + static_cast<std::ptrdiff_t>(rdata_at), bytes.end()) == txt);
    }
}

TEST_CASE("a record that does not fit under the limit is refused and rolled back", "[dns]") {
    Message m;
    REQUIRE(add(m.w, Section::answer, wire("www.example.com."), rrtype::A, a_rdata(1)));
    const std::size_t size_before = m.w.size();
    const std::vector<uint8_t> bytes_before(m.buffer.begin(), m.buffer.begin() + static_cast<std::ptrdiff_t>(size_before));

    // "new.example.com." + fixed part fit; its 16 bytes of AAAA rdata do not.
    m.w.set_limit(size_before + 6 + 10 + 8);
    const std::string aaaa(16, '\x01');
    CHECK_FALSE(add(m.w, Section::answer, wire("new.example.com."), rrtype::AAAA, aaaa));
    CHECK(m.w.size() == size_before);
    CHECK(m.w.count(Section::answer) == 1);
    CHECK_FALSE(add(m.w, Section::authority, wire("example.com."), rrtype::NS, wire("a-long-name-server.example.net.")));
    CHECK(m.w.count(Section::authority) == 0);
    CHECK(m.w.size() == size_before);
    CHECK(std::vector<uint8_t>(m.buffer.begin(), m.buffer.begin() + static_cast<std::ptrdiff_t>(size_before)) ==
          bytes_before);

    SECTION("the refused owner is not used as a compression target afterwards") {
        m.w.set_limit(4096);
        // Overwrites the bytes where "new" was written, then names "new.example.com." again:
        // a stale compression target would make it decode as "other.example.com.".
        REQUIRE(add(m.w, Section::answer, wire("other.example.com."), rrtype::A, a_rdata(2)));
        REQUIRE(add(m.w, Section::answer, wire("new.example.com."), rrtype::A, a_rdata(3)));
        const auto pkt = decode(m.finish());
        REQUIRE(pkt);
        const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
        REQUIRE(ldns_rr_list_rr_count(answer) == 3);
        CHECK(owner_text(answer, 1) == "other.example.com.");
        CHECK(owner_text(answer, 2) == "new.example.com.");
    }
    SECTION("the finished message holds only what fitted") {
        const auto pkt = decode(m.finish());
        REQUIRE(pkt);
        CHECK(ldns_pkt_ancount(pkt.get()) == 1);
        CHECK(ldns_pkt_nscount(pkt.get()) == 0);
    }
}

TEST_CASE("set_limit never allows more than the buffer", "[dns]") {
    std::vector<uint8_t> buffer(100);
    MessageWriter w(buffer);
    CHECK(w.limit() == 100);
    w.set_limit(65535);
    CHECK(w.limit() == 100);
    w.set_limit(50);
    CHECK(w.limit() == 50);
}

TEST_CASE("rollback to a mark removes records, counts and compression targets", "[dns]") {
    Message m;
    const MessageWriter::Mark mark = m.w.mark();
    REQUIRE(add(m.w, Section::answer, wire("a.example.org."), rrtype::A, a_rdata(1)));
    REQUIRE(add(m.w, Section::authority, wire("b.example.org."), rrtype::A, a_rdata(2)));
    REQUIRE(add(m.w, Section::additional, wire("c.example.org."), rrtype::A, a_rdata(3)));
    m.w.rollback(mark);
    CHECK(m.w.size() == 12 + 17 + 4);
    CHECK(m.w.count(Section::answer) == 0);
    CHECK(m.w.count(Section::authority) == 0);
    CHECK(m.w.count(Section::additional) == 0);

    REQUIRE(add(m.w, Section::answer, wire("zzzzzzz.example.net."), rrtype::A, a_rdata(4)));
    REQUIRE(add(m.w, Section::answer, wire("a.example.org."), rrtype::A, a_rdata(5)));
    const auto pkt = decode(m.finish());
    REQUIRE(pkt);
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    REQUIRE(ldns_rr_list_rr_count(answer) == 2);
    CHECK(ldns_pkt_nscount(pkt.get()) == 0);
    CHECK(owner_text(answer, 0) == "zzzzzzz.example.net.");
    CHECK(owner_text(answer, 1) == "a.example.org.");
}

TEST_CASE("names past offset 0x3FFF are written in full: a pointer holds only 14 bits", "[dns]") {
    std::vector<uint8_t> buffer(40000);
    MessageWriter w(buffer);
    w.write_header(1, flag::QR);
    const std::string q = wire("example.com.");
    w.write_question(u8(q), q.size(), rrtype::TXT, kIN);
    const std::string filler(17000, 'x');  // opaque, so nothing inside it is remembered
    REQUIRE(add(w, Section::answer, q, 65280, filler));
    REQUIRE(w.size() > 0x3FFF);
    REQUIRE(add(w, Section::answer, wire("far.example.net."), rrtype::A, a_rdata(1)));
    REQUIRE(add(w, Section::answer, wire("far.example.net."), rrtype::A, a_rdata(2)));
    const std::size_t size = w.finish();
    const auto pkt = decode(buffer.data(), size);
    REQUIRE(pkt);
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    REQUIRE(ldns_rr_list_rr_count(answer) == 3);
    CHECK(owner_text(answer, 1) == "far.example.net.");
    CHECK(owner_text(answer, 2) == "far.example.net.");
}

TEST_CASE("add_opt writes the OPT record into the space reserved past the limit", "[dns]") {
    Message m;
    const std::size_t question_end = m.w.size();
    m.w.set_limit(question_end);  // nothing else fits
    CHECK_FALSE(add(m.w, Section::answer, wire("www.example.com."), rrtype::A, a_rdata(1)));

    const std::string nsid = std::string("\x00\x03\x00\x02", 4) + "ns";
    SECTION("with extended rcode, DO and an option") {
        REQUIRE(m.w.add_opt(1232, 1, true, {u8(nsid), nsid.size()}));
        CHECK(m.w.count(Section::additional) == 1);
        const auto bytes = m.finish();
        REQUIRE(bytes.size() == question_end + 11 + nsid.size());
        const std::string opt(bytes.begin() + static_cast<std::ptrdiff_t>(question_end), bytes.end());
        // Root owner, TYPE 41, CLASS = payload, TTL = ext-rcode | version | DO+Z, RDLENGTH.
        CHECK(opt == std::string("\x00\x00\x29\x04\xD0\x01\x00\x80\x00\x00\x06", 11) + nsid);

        const auto pkt = decode(bytes);
        REQUIRE(pkt);
        CHECK(ldns_pkt_edns(pkt.get()));
        CHECK(ldns_pkt_edns_udp_size(pkt.get()) == 1232);
        CHECK(ldns_pkt_edns_extended_rcode(pkt.get()) == 1);
        CHECK(ldns_pkt_edns_version(pkt.get()) == 0);
        CHECK(ldns_pkt_edns_do(pkt.get()));
    }
    SECTION("without DO or options") {
        REQUIRE(m.w.add_opt(4096, 0, false, {}));
        const auto bytes = m.finish();
        REQUIRE(bytes.size() == question_end + 11);
        const std::string opt(bytes.begin() + static_cast<std::ptrdiff_t>(question_end), bytes.end());
        CHECK(opt == std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11));
        const auto pkt = decode(bytes);
        REQUIRE(pkt);
        CHECK_FALSE(ldns_pkt_edns_do(pkt.get()));
        CHECK(ldns_pkt_edns_udp_size(pkt.get()) == 4096);
    }
    SECTION("the limit still applies to records after the OPT") {
        REQUIRE(m.w.add_opt(1232, 0, false, {}));
        CHECK_FALSE(add(m.w, Section::additional, wire("www.example.com."), rrtype::A, a_rdata(1)));
    }
}

TEST_CASE("add_opt fails when the buffer itself is full", "[dns]") {
    std::vector<uint8_t> buffer(12 + 17 + 4 + 10);  // one byte short of an empty OPT
    MessageWriter w(buffer);
    w.write_header(1, flag::QR);
    const std::string q = wire("www.example.com.");
    REQUIRE(w.write_question(u8(q), q.size(), rrtype::A, kIN));
    CHECK_FALSE(w.add_opt(1232, 0, false, {}));
    CHECK(w.count(Section::additional) == 0);
    CHECK(w.size() == 12 + 17 + 4);
}

TEST_CASE("add_opt that fits only without its options leaves the message unchanged", "[dns]") {
    std::vector<uint8_t> buffer(12 + 17 + 4 + 11 + 2);  // the fixed OPT fits, a 6-byte option does not
    MessageWriter w(buffer);
    w.write_header(1, flag::QR);
    const std::string q = wire("www.example.com.");
    REQUIRE(w.write_question(u8(q), q.size(), rrtype::A, kIN));
    const std::string nsid = std::string("\x00\x03\x00\x02", 4) + "ns";
    CHECK_FALSE(w.add_opt(1232, 0, false, {u8(nsid), nsid.size()}));
    CHECK(w.count(Section::additional) == 0);
    CHECK(w.size() == 12 + 17 + 4);  // no half-written OPT left behind ARCOUNT's back
}

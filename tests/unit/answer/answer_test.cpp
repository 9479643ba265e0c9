// Tests for answer/answer: answer_query as a pure function of query bytes and a snapshot loaded
// from the example zone (zones/geo.example.com.toml). Queries are encoded and every response
// decoded by ldns, an implementation independent of Meridian's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "answer/answer.hpp"
#include "common/ldns.hpp"
#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/wire.hpp"
#include "test_support.hpp"

using meridian::answer::answer_query;
using meridian::answer::ClientInfo;
using meridian::answer::Snapshot;
using meridian::answer::Transport;
using meridian::test::rdf_text;
using meridian::test::TempDir;

namespace {

constexpr const char* kOrigin = "geo.example.com.";

// A snapshot of the repository's example zones, through the same loader the server uses.
// `extra` is appended to a config that sets the identity the tests below expect.
std::unique_ptr<Snapshot> load_snapshot(const std::string& zones_path, const std::string& extra = "",
                                        const std::string& identity = "nsid = \"meridian-test\"\n"
                                                                      "hostname = \"host-a\"\n"
                                                                      "id_server = \"node-a\"\n"
                                                                      "version = \"Meridian test\"\n") {
    TempDir dir;
    const std::string config = "zones = [\"" + zones_path + "\"]\n[listen]\nudp = [\"127.0.0.1:53\"]\n" + extra +
                               "[identity]\n" + identity;
    const auto path = dir.write("meridian.toml", config);
    meridian::Diagnostics diagnostics;
    const auto server_config = meridian::config::load_server_config(path.string(), &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(server_config.has_value());
    auto snapshot = meridian::config::load_snapshot(*server_config, &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(snapshot != nullptr);
    return snapshot;
}

const Snapshot& example() {
    static const std::unique_ptr<Snapshot> snapshot = load_snapshot(std::string(MERIDIAN_SOURCE_DIR) + "/zones");
    return *snapshot;
}

struct QueryOptions {
    uint16_t id = 0x4D2;
    uint16_t flags = LDNS_RD;
    ldns_rr_class qclass = LDNS_RR_CLASS_IN;
    int edns_payload = -1;  // -1: no OPT record
    bool is_dnssec_ok = false;
    uint8_t edns_version = 0;
    bool wants_nsid = false;
};

std::vector<uint8_t> make_query(const std::string& qname, ldns_rr_type qtype, const QueryOptions& o = {}) {
    ldns_rdf* name = ldns_dname_new_frm_str(qname.c_str());
    REQUIRE(name != nullptr);
    meridian::ldns::PacketPtr pkt(ldns_pkt_query_new(name, qtype, o.qclass, o.flags));
    REQUIRE(pkt);
    ldns_pkt_set_id(pkt.get(), o.id);
    if (o.edns_payload >= 0) {
        ldns_pkt_set_edns_udp_size(pkt.get(), static_cast<uint16_t>(o.edns_payload));
        ldns_pkt_set_edns_do(pkt.get(), o.is_dnssec_ok);
        ldns_pkt_set_edns_version(pkt.get(), o.edns_version);
        if (o.wants_nsid) {
            static const uint8_t nsid_option[] = {0, 3, 0, 0};  // NSID, empty (RFC 5001 §2.1)
            ldns_pkt_set_edns_data(pkt.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 4, nsid_option));
        }
    }
    uint8_t* data = nullptr;
    std::size_t size = 0;
    REQUIRE(ldns_pkt2wire(&data, pkt.get(), &size) == LDNS_STATUS_OK);
    std::vector<uint8_t> bytes(data, data + size);
    std::free(data);
    if (o.edns_payload >= 0) REQUIRE(meridian::dns::read_u16(bytes.data() + 10) == 1);  // ARCOUNT: the OPT
    return bytes;
}

struct Response {
    std::vector<uint8_t> bytes;
    meridian::ldns::PacketPtr pkt;

    const ldns_pkt* operator->() const { return pkt.get(); }
    std::size_t answers() const { return ldns_pkt_ancount(pkt.get()); }
    std::size_t authorities() const { return ldns_pkt_nscount(pkt.get()); }
    std::size_t additionals() const { return ldns_pkt_arcount(pkt.get()); }
    const ldns_rr* answer(std::size_t i) const { return ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), i); }
    const ldns_rr* authority(std::size_t i) const { return ldns_rr_list_rr(ldns_pkt_authority(pkt.get()), i); }
    const ldns_rr* additional(std::size_t i) const { return ldns_rr_list_rr(ldns_pkt_additional(pkt.get()), i); }
    uint16_t header_rcode() const { return bytes[3] & 0xF; }
    // ARCOUNT as sent: ldns moves the OPT out of the additional section when it decodes.
    uint16_t raw_arcount() const { return meridian::dns::read_u16(bytes.data() + 10); }
    // RCODE with the OPT's upper eight bits (RFC 6891 §6.1.3), read from the bytes.
    uint16_t full_rcode() const {
        return static_cast<uint16_t>((ldns_pkt_edns(pkt.get()) ? ldns_pkt_edns_extended_rcode(pkt.get()) << 4 : 0) |
                                     header_rcode());
    }
};

Response ask(const Snapshot& snapshot, const std::vector<uint8_t>& query, Transport transport = Transport::udp) {
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    const std::size_t size = answer_query(snapshot, ClientInfo{transport}, query, buffer);
    buffer.resize(size);
    Response r{buffer, nullptr};
    if (size != 0) {
        r.pkt = meridian::test::decode(buffer);
        REQUIRE(r.pkt);  // every response must be a valid DNS message
    }
    return r;
}

Response ask(const std::string& qname, ldns_rr_type qtype, const QueryOptions& o = {}) {
    return ask(example(), make_query(qname, qtype, o));
}

std::string owner(const ldns_rr* rr) { return rdf_text(ldns_rr_owner(rr)); }
std::string rdata(const ldns_rr* rr, std::size_t i = 0) { return rdf_text(ldns_rr_rdf(rr, i)); }

// The SOA of a negative answer: the zone's, with TTL min(SOA TTL, MINIMUM) = 60 (RFC 2308 §3).
void check_negative_soa(const Response& r) {
    REQUIRE(r.authorities() == 1);
    const ldns_rr* soa = r.authority(0);
    CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
    CHECK(owner(soa) == kOrigin);
    CHECK(ldns_rr_ttl(soa) == 60);
    CHECK(rdata(soa, 2) == "2026112701");
}

}  // namespace

TEST_CASE("an exact answer is authoritative and echoes the ID, RD and CD but never sets RA", "[answer]") {
    SECTION("RD set") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_A, {.id = 0xCAFE, .flags = LDNS_RD | LDNS_CD});
        CHECK(ldns_pkt_id(r.pkt.get()) == 0xCAFE);
        CHECK(ldns_pkt_qr(r.pkt.get()));
        CHECK(ldns_pkt_aa(r.pkt.get()));
        CHECK(ldns_pkt_rd(r.pkt.get()));
        CHECK(ldns_pkt_cd(r.pkt.get()));
        CHECK_FALSE(ldns_pkt_ra(r.pkt.get()));  // not a resolver
        CHECK_FALSE(ldns_pkt_tc(r.pkt.get()));
        CHECK(ldns_pkt_get_opcode(r.pkt.get()) == LDNS_PACKET_QUERY);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        REQUIRE(r.answers() == 1);
        CHECK(owner(r.answer(0)) == "www.geo.example.com.");
        CHECK(ldns_rr_get_type(r.answer(0)) == LDNS_RR_TYPE_A);
        CHECK(ldns_rr_ttl(r.answer(0)) == 300);
        CHECK(rdata(r.answer(0)) == "192.0.2.10");
        CHECK(r.authorities() == 0);
        CHECK(r.additionals() == 0);
        CHECK_FALSE(ldns_pkt_edns(r.pkt.get()));  // no OPT without an OPT in the query
        CHECK(r.raw_arcount() == 0);
    }
    SECTION("RD clear") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_AAAA, {.flags = 0});
        CHECK_FALSE(ldns_pkt_rd(r.pkt.get()));
        CHECK_FALSE(ldns_pkt_cd(r.pkt.get()));
        CHECK(ldns_pkt_aa(r.pkt.get()));
        REQUIRE(r.answers() == 1);
        CHECK(rdata(r.answer(0)) == "2001:db8::10");
    }
}

TEST_CASE("the question is echoed byte for byte and the answer owner keeps the client's case", "[answer]") {
    const auto query = make_query("WwW.GeO.ExAmPlE.CoM.", LDNS_RR_TYPE_A);
    const Response r = ask(example(), query);
    const std::size_t question_size = query.size() - 12;
    REQUIRE(r.bytes.size() > 12 + question_size);
    CHECK(std::equal(query.begin() + 12, query.end(), r.bytes.begin() + 12));
    REQUIRE(r.answers() == 1);
    CHECK(owner(r.answer(0)) == "WwW.GeO.ExAmPlE.CoM.");
}

TEST_CASE("a CNAME chain is followed inside the zone", "[answer]") {
    SECTION("alias2 → alias → www") {
        const Response r = ask("alias2.geo.example.com.", LDNS_RR_TYPE_A);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        REQUIRE(r.answers() == 3);
        CHECK(owner(r.answer(0)) == "alias2.geo.example.com.");
        CHECK(rdata(r.answer(0)) == "alias.geo.example.com.");
        CHECK(owner(r.answer(1)) == "alias.geo.example.com.");
        CHECK(rdata(r.answer(1)) == "www.geo.example.com.");
        CHECK(owner(r.answer(2)) == "www.geo.example.com.");
        CHECK(ldns_rr_get_type(r.answer(2)) == LDNS_RR_TYPE_A);
        CHECK(rdata(r.answer(2)) == "192.0.2.10");
    }
    SECTION("a query for the CNAME itself gets only the CNAME") {
        const Response r = ask("alias.geo.example.com.", LDNS_RR_TYPE_CNAME);
        REQUIRE(r.answers() == 1);
        CHECK(ldns_rr_get_type(r.answer(0)) == LDNS_RR_TYPE_CNAME);
    }
    SECTION("a chain ending in NODATA carries the SOA") {
        const Response r = ask("alias.geo.example.com.", LDNS_RR_TYPE_MX);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        REQUIRE(r.answers() == 1);
        check_negative_soa(r);
    }
}

TEST_CASE("a name that does not exist gets NXDOMAIN with the SOA", "[answer]") {
    for (const char* name : {"nope.geo.example.com.", "deep.nope.geo.example.com.", "x.www.geo.example.com."}) {
        CAPTURE(name);
        const Response r = ask(name, LDNS_RR_TYPE_A);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NXDOMAIN);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        CHECK(r.answers() == 0);
        check_negative_soa(r);
    }
}

TEST_CASE("a name without the asked type gets NODATA with the SOA", "[answer]") {
    struct Case {
        const char* name;
        ldns_rr_type type;
    };
    for (const Case c : {Case{"www.geo.example.com.", LDNS_RR_TYPE_TXT}, Case{"txtonly.geo.example.com.", LDNS_RR_TYPE_A},
                         Case{"geo.example.com.", LDNS_RR_TYPE_AAAA}}) {
        CAPTURE(c.name, c.type);
        const Response r = ask(c.name, c.type);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        CHECK(r.answers() == 0);
        check_negative_soa(r);
    }
}

TEST_CASE("empty non-terminals answer NODATA, not NXDOMAIN", "[answer]") {
    struct Case {
        const char* name;
        ldns_rr_type type;
    };
    for (const Case c : {Case{"wild.geo.example.com.", LDNS_RR_TYPE_TXT}, Case{"wild.geo.example.com.", LDNS_RR_TYPE_A},
                         Case{"_udp.geo.example.com.", LDNS_RR_TYPE_SRV}}) {
        CAPTURE(c.name, c.type);
        const Response r = ask(c.name, c.type);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(r.answers() == 0);
        check_negative_soa(r);
    }
}

TEST_CASE("a wildcard synthesises answers owned by the query name", "[answer]") {
    for (const char* name : {"foo.wild.geo.example.com.", "a.b.wild.geo.example.com.", "FoO.wild.geo.example.com."}) {
        CAPTURE(name);
        const Response r = ask(name, LDNS_RR_TYPE_TXT);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        REQUIRE(r.answers() == 1);
        CHECK(owner(r.answer(0)) == name);  // RFC 4592 §3.3.1: the owner is the qname
        CHECK(rdata(r.answer(0)) == "\"wildcard answer\"");
    }
    SECTION("another type at a wildcard-matched name is NODATA") {
        const Response r = ask("foo.wild.geo.example.com.", LDNS_RR_TYPE_A);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(r.answers() == 0);
        check_negative_soa(r);
    }
    SECTION("the wildcard's own name is answered as is") {
        const Response r = ask("*.wild.geo.example.com.", LDNS_RR_TYPE_TXT);
        REQUIRE(r.answers() == 1);
        CHECK(owner(r.answer(0)) == "*.wild.geo.example.com.");
    }
    SECTION("the wildcard does not match beside its parent") {
        CHECK(ldns_pkt_get_rcode(ask("foo.geo.example.com.", LDNS_RR_TYPE_TXT).pkt.get()) == LDNS_RCODE_NXDOMAIN);
    }
}

TEST_CASE("names at or below a zone cut get a referral", "[answer]") {
    for (const char* name : {"x.sub.geo.example.com.", "sub.geo.example.com.", "ns.sub.geo.example.com."}) {
        CAPTURE(name);
        const Response r = ask(name, LDNS_RR_TYPE_A);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));  // not authoritative below the cut (RFC 1034 §4.3.2)
        CHECK(r.answers() == 0);
        REQUIRE(r.authorities() == 1);
        CHECK(ldns_rr_get_type(r.authority(0)) == LDNS_RR_TYPE_NS);
        CHECK(owner(r.authority(0)) == "sub.geo.example.com.");
        CHECK(rdata(r.authority(0)) == "ns.sub.geo.example.com.");
        REQUIRE(r.additionals() == 1);
        CHECK(owner(r.additional(0)) == "ns.sub.geo.example.com.");
        CHECK(rdata(r.additional(0)) == "192.0.2.80");
    }
}

TEST_CASE("DS at a zone cut is answered by the parent, authoritatively", "[answer]") {
    const Response r = ask("sub.geo.example.com.", LDNS_RR_TYPE_DS);
    CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(r.pkt.get()));  // RFC 4035 §3.1.4.1: the parent side of the cut
    CHECK(r.answers() == 0);
    check_negative_soa(r);  // the zone has no DS for sub: NODATA
}

TEST_CASE("addresses of in-zone NS, MX and SRV targets go in the additional section", "[answer]") {
    SECTION("MX") {
        const Response r = ask("mail.geo.example.com.", LDNS_RR_TYPE_MX);
        REQUIRE(r.answers() == 1);
        CHECK(rdata(r.answer(0), 1) == "mx1.geo.example.com.");
        REQUIRE(r.additionals() == 1);
        CHECK(owner(r.additional(0)) == "mx1.geo.example.com.");
        CHECK(rdata(r.additional(0)) == "192.0.2.25");
    }
    SECTION("SRV") {
        const Response r = ask("_sip._udp.geo.example.com.", LDNS_RR_TYPE_SRV);
        REQUIRE(r.answers() == 1);
        CHECK(rdata(r.answer(0), 3) == "sip.geo.example.com.");
        REQUIRE(r.additionals() == 1);
        CHECK(owner(r.additional(0)) == "sip.geo.example.com.");
        CHECK(rdata(r.additional(0)) == "192.0.2.60");
    }
    SECTION("NS at the apex") {
        const Response r = ask("geo.example.com.", LDNS_RR_TYPE_NS);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        REQUIRE(r.answers() == 2);
        REQUIRE(r.additionals() == 2);
        std::vector<std::string> glue = {owner(r.additional(0)) + " " + rdata(r.additional(0)),
                                         owner(r.additional(1)) + " " + rdata(r.additional(1))};
        std::sort(glue.begin(), glue.end());
        CHECK(glue == std::vector<std::string>{"ns1.geo.example.com. 192.0.2.53", "ns2.geo.example.com. 192.0.2.54"});
    }
}

TEST_CASE("names outside every zone are REFUSED", "[answer]") {
    for (const char* name : {"www.example.org.", "example.com.", "com.", "."}) {
        CAPTURE(name);
        const Response r = ask(name, LDNS_RR_TYPE_A);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_REFUSED);
        CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));
        CHECK(r.answers() == 0);
        CHECK(r.authorities() == 0);
    }
}

TEST_CASE("ANY is answered with one RRset", "[answer]") {
    SECTION("www: A before AAAA") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_ANY);
        REQUIRE(r.answers() == 1);
        CHECK(ldns_rr_get_type(r.answer(0)) == LDNS_RR_TYPE_A);
    }
    SECTION("the apex: the two NS records of one RRset") {
        const Response r = ask("geo.example.com.", LDNS_RR_TYPE_ANY);
        REQUIRE(r.answers() == 2);
        CHECK(ldns_rr_get_type(r.answer(0)) == LDNS_RR_TYPE_NS);
        CHECK(ldns_rr_get_type(r.answer(1)) == LDNS_RR_TYPE_NS);
    }
}

TEST_CASE("zone transfers are REFUSED", "[answer]") {
    for (const ldns_rr_type type : {LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR}) {
        CAPTURE(type);
        const Response r = ask(kOrigin, type);
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_REFUSED);
        CHECK(r.answers() == 0);
    }
}

TEST_CASE("CHAOS TXT names report the server's identity", "[answer]") {
    struct Case {
        const char* name;
        const char* text;
    };
    for (const Case c : {Case{"version.bind.", "\"Meridian test\""}, Case{"version.server.", "\"Meridian test\""},
                         Case{"hostname.bind.", "\"host-a\""}, Case{"id.server.", "\"node-a\""},
                         Case{"ID.Server.", "\"node-a\""}}) {
        CAPTURE(c.name);
        const Response r = ask(c.name, LDNS_RR_TYPE_TXT, {.qclass = LDNS_RR_CLASS_CH});
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        REQUIRE(r.answers() == 1);
        CHECK(owner(r.answer(0)) == c.name);
        CHECK(ldns_rr_get_class(r.answer(0)) == LDNS_RR_CLASS_CH);
        CHECK(rdata(r.answer(0)) == c.text);
    }
    SECTION("other CHAOS names are REFUSED") {
        CHECK(ldns_pkt_get_rcode(ask("authors.bind.", LDNS_RR_TYPE_TXT, {.qclass = LDNS_RR_CLASS_CH}).pkt.get()) ==
              LDNS_RCODE_REFUSED);
    }
    SECTION("with chaos = false, every CHAOS query is REFUSED") {
        const auto snapshot = load_snapshot(std::string(MERIDIAN_SOURCE_DIR) + "/zones", "",
                                            "version = \"Meridian test\"\nchaos = false\n");
        for (const char* name : {"version.bind.", "hostname.bind.", "id.server."}) {
            CAPTURE(name);
            const Response r =
                ask(*snapshot, make_query(name, LDNS_RR_TYPE_TXT, {.qclass = LDNS_RR_CLASS_CH}));
            CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_REFUSED);
            CHECK(r.answers() == 0);
        }
    }
    SECTION("without a version, version.bind is REFUSED") {
        const auto snapshot = load_snapshot(std::string(MERIDIAN_SOURCE_DIR) + "/zones", "", "hostname = \"h\"\n");
        const Response r = ask(*snapshot, make_query("version.bind.", LDNS_RR_TYPE_TXT, {.qclass = LDNS_RR_CLASS_CH}));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_REFUSED);
    }
}

TEST_CASE("EDNS: the OPT record of the answer", "[answer]") {
    SECTION("OPT in the query: OPT in the answer, with our payload size") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_A, {.edns_payload = 4096});
        REQUIRE(ldns_pkt_edns(r.pkt.get()));
        CHECK(ldns_pkt_edns_udp_size(r.pkt.get()) == 1232);  // udp_max_payload (RFC 6891 §6.2.5)
        CHECK(ldns_pkt_edns_version(r.pkt.get()) == 0);
        CHECK_FALSE(ldns_pkt_edns_do(r.pkt.get()));
        CHECK(r.raw_arcount() == 1);
        REQUIRE(r.answers() == 1);
    }
    SECTION("the DO bit is copied (RFC 3225 §3)") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_A, {.edns_payload = 1232, .is_dnssec_ok = true});
        REQUIRE(ldns_pkt_edns(r.pkt.get()));
        CHECK(ldns_pkt_edns_do(r.pkt.get()));
    }
    SECTION("an unsupported version gets BADVERS and nothing else") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_A,
                               {.edns_payload = 1232, .is_dnssec_ok = true, .edns_version = 1});
        REQUIRE(ldns_pkt_edns(r.pkt.get()));
        CHECK(r.full_rcode() == 16);  // BADVERS: 1 in the OPT, 0 in the header (RFC 6891 §6.1.3)
        CHECK(r.header_rcode() == 0);
        CHECK(ldns_pkt_edns_version(r.pkt.get()) == 0);
        CHECK(ldns_pkt_edns_do(r.pkt.get()));
        CHECK(r.answers() == 0);
        CHECK(r.authorities() == 0);
        CHECK(r.raw_arcount() == 1);  // the OPT only
        CHECK(ldns_pkt_id(r.pkt.get()) == 0x4D2);
    }
    SECTION("NSID when asked and configured") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_A, {.edns_payload = 1232, .wants_nsid = true});
        REQUIRE(ldns_pkt_edns(r.pkt.get()));
        const std::string nsid = "meridian-test";
        const std::string option = std::string("\x00\x03\x00", 3) + static_cast<char>(nsid.size()) + nsid;
        // The OPT is the last record: its rdata (the option) ends the message.
        REQUIRE(r.bytes.size() > option.size());
        CHECK(std::string(r.bytes.end() - static_cast<std::ptrdiff_t>(option.size()), r.bytes.end()) == option);
        const ldns_rdf* data = ldns_pkt_edns_data(r.pkt.get());
        REQUIRE(data != nullptr);
        CHECK(ldns_rdf_size(data) == option.size());
        REQUIRE(r.answers() == 1);
    }
    SECTION("no NSID when not asked") {
        const Response r = ask("www.geo.example.com.", LDNS_RR_TYPE_A, {.edns_payload = 1232});
        const ldns_rdf* data = ldns_pkt_edns_data(r.pkt.get());
        CHECK((data == nullptr || ldns_rdf_size(data) == 0));
        CHECK(meridian::dns::read_u16(r.bytes.data() + r.bytes.size() - 2) == 0);  // OPT RDLENGTH 0
    }
    SECTION("no NSID when none is configured") {
        const auto snapshot = load_snapshot(std::string(MERIDIAN_SOURCE_DIR) + "/zones", "", "hostname = \"h\"\n");
        const Response r = ask(*snapshot, make_query("www.geo.example.com.", LDNS_RR_TYPE_A,
                                                     {.edns_payload = 1232, .wants_nsid = true}));
        REQUIRE(ldns_pkt_edns(r.pkt.get()));
        CHECK(meridian::dns::read_u16(r.bytes.data() + r.bytes.size() - 2) == 0);
    }
}

TEST_CASE("an answer too big for the client's payload is truncated to nothing", "[answer]") {
    // big.geo.example.com holds 30 TXT records of about 100 bytes each.
    const std::string big = "big.geo.example.com.";
    SECTION("UDP without EDNS: 512 bytes") {
        const Response r = ask(big, LDNS_RR_TYPE_TXT);
        CHECK(ldns_pkt_tc(r.pkt.get()));
        CHECK(ldns_pkt_aa(r.pkt.get()));
        CHECK(r.answers() == 0);
        CHECK(r.authorities() == 0);
        CHECK(r.bytes.size() <= 512);
    }
    SECTION("UDP with EDNS 1232") {
        const Response r = ask(big, LDNS_RR_TYPE_TXT, {.edns_payload = 1232, .wants_nsid = true});
        CHECK(ldns_pkt_tc(r.pkt.get()));
        CHECK(r.answers() == 0);
        CHECK(ldns_pkt_edns(r.pkt.get()));  // the OPT survives truncation
        CHECK(r.bytes.size() <= 1232);
    }
    SECTION("an EDNS payload below 512 counts as 512 (RFC 6891 §6.2.5)") {
        const Response small = ask("geo.example.com.", LDNS_RR_TYPE_NS, {.edns_payload = 100});
        CHECK_FALSE(ldns_pkt_tc(small.pkt.get()));
        CHECK(small.answers() == 2);
        CHECK(small.bytes.size() > 100);
        const Response r = ask(big, LDNS_RR_TYPE_TXT, {.edns_payload = 100});
        CHECK(ldns_pkt_tc(r.pkt.get()));
        CHECK(r.bytes.size() <= 512);
    }
    SECTION("UDP with EDNS 4096 but our cap at 1232") {
        const Response r = ask(big, LDNS_RR_TYPE_TXT, {.edns_payload = 4096});
        CHECK(ldns_pkt_tc(r.pkt.get()));
        CHECK(r.answers() == 0);
    }
    SECTION("TCP: everything") {
        const Response r = ask(example(), make_query(big, LDNS_RR_TYPE_TXT), Transport::tcp);
        CHECK_FALSE(ldns_pkt_tc(r.pkt.get()));
        CHECK(r.answers() == 30);
    }
    SECTION("udp_max_payload 4096 and a client offering 4096: everything") {
        const auto snapshot =
            load_snapshot(std::string(MERIDIAN_SOURCE_DIR) + "/zones", "[server]\nudp_max_payload = 4096\n");
        const Response r = ask(*snapshot, make_query(big, LDNS_RR_TYPE_TXT, {.edns_payload = 4096}));
        CHECK_FALSE(ldns_pkt_tc(r.pkt.get()));
        CHECK(r.answers() == 30);
        CHECK(r.bytes.size() <= 4096);
        CHECK(ldns_pkt_edns_udp_size(r.pkt.get()) == 4096);
    }
}

TEST_CASE("FORMERR and NOTIMP answers echo the ID and opcode", "[answer]") {
    SECTION("FORMERR: two questions") {
        auto query = make_query("www.geo.example.com.", LDNS_RR_TYPE_A, {.id = 0x1111});
        const std::vector<uint8_t> question(query.begin() + 12, query.end());
        query.insert(query.end(), question.begin(), question.end());
        query[5] = 2;  // QDCOUNT
        const Response r = ask(example(), query);
        REQUIRE(r.pkt);
        CHECK(r.header_rcode() == LDNS_RCODE_FORMERR);
        CHECK(ldns_pkt_id(r.pkt.get()) == 0x1111);
        CHECK(ldns_pkt_qr(r.pkt.get()));
        CHECK(ldns_pkt_get_opcode(r.pkt.get()) == LDNS_PACKET_QUERY);
        CHECK(r.answers() == 0);
    }
    SECTION("FORMERR: no question") {
        std::vector<uint8_t> query = {0x22, 0x22, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
        const Response r = ask(example(), query);
        REQUIRE(r.pkt);
        CHECK(r.header_rcode() == LDNS_RCODE_FORMERR);
        CHECK(ldns_pkt_id(r.pkt.get()) == 0x2222);
        CHECK(ldns_pkt_rd(r.pkt.get()));
        CHECK(ldns_pkt_qdcount(r.pkt.get()) == 0);
    }
    SECTION("NOTIMP: NOTIFY (opcode 4) and UPDATE (opcode 5)") {
        for (const uint8_t opcode : {uint8_t{4}, uint8_t{5}}) {
            CAPTURE(int{opcode});
            auto query = make_query("geo.example.com.", LDNS_RR_TYPE_SOA, {.id = 0x3333, .flags = 0});
            query[2] = static_cast<uint8_t>(query[2] | (opcode << 3));
            const Response r = ask(example(), query);
            REQUIRE(r.pkt);
            CHECK(r.header_rcode() == LDNS_RCODE_NOTIMPL);
            CHECK(ldns_pkt_id(r.pkt.get()) == 0x3333);
            CHECK(((r.bytes[2] >> 3) & 0xF) == opcode);
            CHECK(ldns_pkt_qdcount(r.pkt.get()) == 1);  // the question is echoed
            CHECK(r.answers() == 0);
            CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));
        }
    }
}

TEST_CASE("packets that are not queries get no answer at all", "[answer]") {
    std::vector<uint8_t> buffer(512);
    SECTION("QR=1") {
        auto query = make_query("www.geo.example.com.", LDNS_RR_TYPE_A);
        query[2] |= 0x80;
        CHECK(answer_query(example(), {}, query, buffer) == 0);
    }
    SECTION("shorter than a header") {
        const std::vector<uint8_t> query(11, 0);
        CHECK(answer_query(example(), {}, query, buffer) == 0);
        CHECK(answer_query(example(), {}, {}, buffer) == 0);
    }
}

TEST_CASE("CNAME loops and long chains end, listing each CNAME once", "[answer]") {
    TempDir dir;
    dir.write("zones/loop.toml",
              "origin = \"loop.example.\"\n"
              "records = \"\"\"\n"
              "@     IN NS    ns\n"
              "ns    IN A     192.0.2.1\n"
              "a     IN CNAME b\n"
              "b     IN CNAME c\n"
              "c     IN CNAME a\n"
              "self  IN CNAME self\n"
              "c1    IN CNAME c2\n"
              "c2    IN CNAME c3\n"
              "c3    IN CNAME c4\n"
              "c4    IN CNAME c5\n"
              "c5    IN CNAME c6\n"
              "c6    IN CNAME c7\n"
              "c7    IN CNAME c8\n"
              "c8    IN CNAME c9\n"
              "c9    IN CNAME c10\n"
              "c10   IN A     192.0.2.10\n"
              "out   IN CNAME www.example.org.\n"
              "\"\"\"\n"
              "[soa]\nprimary = \"ns.loop.example.\"\ncontact = \"h.loop.example.\"\nserial = 1\n");
    const auto snapshot = load_snapshot((dir.path() / "zones").string());

    SECTION("a three-step loop") {
        const Response r = ask(*snapshot, make_query("a.loop.example.", LDNS_RR_TYPE_A));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        REQUIRE(r.answers() == 3);
        CHECK(owner(r.answer(0)) == "a.loop.example.");
        CHECK(owner(r.answer(1)) == "b.loop.example.");
        CHECK(owner(r.answer(2)) == "c.loop.example.");
    }
    SECTION("a CNAME to itself") {
        const Response r = ask(*snapshot, make_query("self.loop.example.", LDNS_RR_TYPE_A));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(r.answers() == 1);
    }
    SECTION("a chain longer than 8 stops after 8 CNAMEs") {
        const Response r = ask(*snapshot, make_query("c1.loop.example.", LDNS_RR_TYPE_A));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(r.answers() == 8);
        for (std::size_t i = 0; i < r.answers(); ++i) CHECK(ldns_rr_get_type(r.answer(i)) == LDNS_RR_TYPE_CNAME);
    }
    SECTION("a chain that leaves the zone ends with the CNAME") {
        const Response r = ask(*snapshot, make_query("out.loop.example.", LDNS_RR_TYPE_A));
        CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        REQUIRE(r.answers() == 1);
        CHECK(rdata(r.answer(0)) == "www.example.org.");
        CHECK(r.authorities() == 0);
    }
}

TEST_CASE("answer_query allocates nothing once warmed up", "[answer]") {
    const Snapshot& snapshot = example();
    struct Case {
        std::vector<uint8_t> query;
        Transport transport;
    };
    std::vector<Case> cases = {
        {make_query("www.geo.example.com.", LDNS_RR_TYPE_A), Transport::udp},
        {make_query("nope.geo.example.com.", LDNS_RR_TYPE_A, {.edns_payload = 1232}), Transport::udp},
        {make_query("www.geo.example.com.", LDNS_RR_TYPE_TXT), Transport::udp},
        {make_query("alias2.geo.example.com.", LDNS_RR_TYPE_A), Transport::udp},
        {make_query("x.sub.geo.example.com.", LDNS_RR_TYPE_A), Transport::udp},
        {make_query("foo.wild.geo.example.com.", LDNS_RR_TYPE_TXT), Transport::udp},
        {make_query("mail.geo.example.com.", LDNS_RR_TYPE_MX), Transport::udp},
        {make_query("id.server.", LDNS_RR_TYPE_TXT, {.qclass = LDNS_RR_CLASS_CH}), Transport::udp},
        {make_query("big.geo.example.com.", LDNS_RR_TYPE_TXT, {.edns_payload = 1232, .wants_nsid = true}),
         Transport::udp},
        {make_query("big.geo.example.com.", LDNS_RR_TYPE_TXT), Transport::tcp},
        {make_query("www.geo.example.com.", LDNS_RR_TYPE_A, {.edns_payload = 1232, .edns_version = 1}),
         Transport::udp},
        {{0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}, Transport::udp},  // FORMERR
    };
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    std::vector<std::size_t> sizes(cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        sizes[i] = answer_query(snapshot, ClientInfo{cases[i].transport}, cases[i].query, buffer);  // warm-up
    }

    const std::size_t before = meridian::test::allocation_count();
    for (int round = 0; round < 10; ++round) {
        for (std::size_t i = 0; i < cases.size(); ++i) {
            sizes[i] = answer_query(snapshot, ClientInfo{cases[i].transport}, cases[i].query, buffer);
        }
    }
    const std::size_t after = meridian::test::allocation_count();
    CHECK(after == before);
    for (const std::size_t size : sizes) CHECK(size >= 12);  // every case produced an answer

    SECTION("the counter does count: an allocation moves it") {
        const std::size_t start = meridian::test::allocation_count();
        auto p = std::make_unique<std::array<uint8_t, 64>>();
        CHECK(meridian::test::allocation_count() > start);
    }
}

// Signed answers (answer/answer with a zone that has [dnssec]): the example zone signed with a
// key made for the test, answered for DO=1 queries, and every signature checked by ldns against
// the zone's DNSKEY set (an independent verifier). Also compact denial (RFC 9824), referrals,
// DO=0 answers, the signature cache's hits (no allocation) and the signing budget.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "answer/answer.hpp"
#include "common/ldns.hpp"
#include "common/siphash.hpp"
#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/wire.hpp"
#include "dnssec/nsec.hpp"
#include "geo/database.hpp"
#include "test_support.hpp"
#include "zone/signing.hpp"

using meridian::answer::answer_query;
using meridian::answer::ClientInfo;
using meridian::answer::OnlineSigner;
using meridian::answer::Snapshot;
using meridian::answer::Transport;
using meridian::test::rdf_text;
using meridian::test::TempDir;

namespace {

// The example zone without its own [dnssec] table: each test signs it (or not) its way.
std::string example_zone_text() {
    std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/zones/geo.example.com.toml");
    std::stringstream text;
    text << in.rdbuf();
    std::string zone = text.str();
    const std::size_t table = zone.find("\n[dnssec]\ngenerate = true\n");
    REQUIRE(table != std::string::npos);
    zone.erase(table + 1, std::string_view("[dnssec]\ngenerate = true\n").size());
    return zone;
}

// The example zone as an operator would sign it: the zone text with `dnssec_table` before [soa].
std::unique_ptr<Snapshot> load_example(TempDir& dir, const std::string& dnssec_table) {
    std::string zone = example_zone_text();
    if (!dnssec_table.empty()) {
        const std::size_t soa = zone.find("\n[soa]");
        REQUIRE(soa != std::string::npos);
        zone.insert(soa + 1, dnssec_table + "\n");
    }
    dir.write("zones/geo.example.com.toml", zone);
    const auto path = dir.write("meridian.toml", "zones = [\"" + (dir.path() / "zones").string() +
                                                     "\"]\n[listen]\nudp = [\"127.0.0.1:53\"]\n");
    meridian::Diagnostics diagnostics;
    const auto config = meridian::config::load_server_config(path.string(), &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(config.has_value());
    auto snapshot = meridian::config::load_snapshot(*config, &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(snapshot != nullptr);
    std::string error;
    std::shared_ptr<const meridian::geo::Database> db = meridian::geo::Database::open(MERIDIAN_TEST_MMDB, {}, &error);
    REQUIRE(db != nullptr);
    auto databases = std::make_shared<meridian::geo::GeoDatabases>();
    databases->add(db);
    snapshot->geo = databases;
    return snapshot;
}

struct Signed {
    TempDir dir;
    std::unique_ptr<Snapshot> snapshot;
    Signed(const std::string& table = "[dnssec]\ngenerate = true") : snapshot(load_example(dir, table)) {}
};

const Snapshot& signed_example() {
    static Signed s;
    return *s.snapshot;
}

const Snapshot& unsigned_example() {
    static TempDir dir;
    static const std::unique_ptr<Snapshot> snapshot = load_example(dir, "");
    return *snapshot;
}

// A query written by hand, so that every EDNS flag is ours to set: DO, CO, an ECS option.
std::vector<uint8_t> query(const std::string& name, uint16_t type, bool dnssec_ok = true, bool compact_ok = false,
                           const std::vector<uint8_t>& ecs = {}) {
    std::vector<uint8_t> q = {0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
    const std::string wire = meridian::test::wire(name);
    q.insert(q.end(), wire.begin(), wire.end());
    q.insert(q.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
    const uint16_t flags = (dnssec_ok ? 0x8000 : 0) | (compact_ok ? 0x4000 : 0);
    q.insert(q.end(), {0, 0, 41, 0x04, 0xD0, 0, 0, static_cast<uint8_t>(flags >> 8), static_cast<uint8_t>(flags), 0,
                       static_cast<uint8_t>(ecs.size())});
    q.insert(q.end(), ecs.begin(), ecs.end());
    return q;
}

// An ECS option for an IPv4 /24.
std::vector<uint8_t> ecs24(uint8_t a, uint8_t b, uint8_t c) { return {0, 8, 0, 7, 0, 1, 24, 0, a, b, c}; }

struct Reply {
    std::vector<uint8_t> bytes;
    meridian::ldns::PacketPtr pkt;
    ldns_pkt_rcode rcode() const { return ldns_pkt_get_rcode(pkt.get()); }
    bool tc() const { return ldns_pkt_tc(pkt.get()); }
};

Reply ask(const Snapshot& snapshot, const std::vector<uint8_t>& q, OnlineSigner* signer = nullptr,
          Transport transport = Transport::udp, uint64_t now_ms = 0) {
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    ClientInfo client;
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7F000001);
    client.source = reinterpret_cast<const sockaddr*>(&source);
    client.signer = signer;
    client.transport = transport;
    client.now_ms = now_ms;
    const std::size_t size = answer_query(snapshot, client, q, buffer);
    buffer.resize(size);
    REQUIRE(size >= 12);
    Reply r{buffer, meridian::test::decode(buffer)};
    REQUIRE(r.pkt);
    return r;
}

// The zone's DNSKEY RRset, asked for like any resolver would.
meridian::ldns::RrPtr dnskeys_as_list(const Snapshot& snapshot, ldns_rr_list** keys) {
    const Reply r = ask(snapshot, query("geo.example.com.", 48));
    *keys = ldns_pkt_rr_list_by_type(r.pkt.get(), LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
    REQUIRE(*keys != nullptr);
    REQUIRE(ldns_rr_list_rr_count(*keys) >= 1);
    return nullptr;
}

// Every RRset of `section` but RRSIGs, with the RRSIGs that cover it.
struct SignedSet {
    ldns_rr_list* rrset;
    ldns_rr_list* rrsigs;
};

std::vector<SignedSet> signed_sets(const Reply& r, ldns_pkt_section section) {
    ldns_rr_list* all = ldns_pkt_get_section_clone(r.pkt.get(), section);
    std::map<std::pair<std::string, int>, SignedSet> sets;
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(all); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(all, i);
        char* owner = ldns_rdf2str(ldns_rr_owner(rr));
        std::string key = owner;
        std::free(owner);
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const bool is_sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG;
        const int type = is_sig ? ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) : ldns_rr_get_type(rr);
        auto& set = sets[{key, type}];
        if (set.rrset == nullptr) set = {ldns_rr_list_new(), ldns_rr_list_new()};
        ldns_rr_list_push_rr(is_sig ? set.rrsigs : set.rrset, ldns_rr_clone(rr));
    }
    ldns_rr_list_deep_free(all);
    std::vector<SignedSet> out;
    out.reserve(sets.size());
    for (auto& [k, v] : sets) out.push_back(v);
    return out;
}

// Every RRset in answer and authority is signed, and ldns verifies each signature with the
// zone's keys; returns how many RRsets were checked.
std::size_t verify_reply(const Snapshot& snapshot, const Reply& r) {
    ldns_rr_list* keys = nullptr;
    dnskeys_as_list(snapshot, &keys);
    std::size_t checked = 0;
    for (const ldns_pkt_section section : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY}) {
        for (SignedSet& set : signed_sets(r, section)) {
            char* text = ldns_rr_list2str(set.rrset);
            INFO(text);
            std::free(text);
            const bool is_referral_ns = section == LDNS_SECTION_AUTHORITY && ldns_rr_list_rr_count(set.rrset) > 0 &&
                                        ldns_rr_get_type(ldns_rr_list_rr(set.rrset, 0)) == LDNS_RR_TYPE_NS &&
                                        !ldns_pkt_aa(r.pkt.get());
            if (!is_referral_ns) {
                REQUIRE(ldns_rr_list_rr_count(set.rrsigs) >= 1);
                ldns_rr_list* good = ldns_rr_list_new();
                for (std::size_t i = 0; i < ldns_rr_list_rr_count(set.rrsigs); ++i) {
                    CHECK(ldns_verify_rrsig_keylist(set.rrset, ldns_rr_list_rr(set.rrsigs, i), keys, good) ==
                          LDNS_STATUS_OK);
                }
                ldns_rr_list_free(good);
                ++checked;
            } else {
                CHECK(ldns_rr_list_rr_count(set.rrsigs) == 0);  // the child signs its NS, not us
            }
            ldns_rr_list_deep_free(set.rrset);
            ldns_rr_list_deep_free(set.rrsigs);
        }
    }
    ldns_rr_list_deep_free(keys);
    return checked;
}

// The NSEC of a reply's authority section, as text ("owner ttl IN NSEC next types").
std::string nsec_text(const Reply& r) {
    ldns_rr_list* nsecs = ldns_pkt_rr_list_by_type(r.pkt.get(), LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY);
    if (nsecs == nullptr) return "";
    REQUIRE(ldns_rr_list_rr_count(nsecs) == 1);
    char* text = ldns_rr2str(ldns_rr_list_rr(nsecs, 0));
    std::string out = text;
    std::free(text);
    ldns_rr_list_deep_free(nsecs);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

}  // namespace

TEST_CASE("signed: static, chained, wildcard and steered answers verify with ldns", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    struct Case {
        const char* name;
        uint16_t type;
        std::size_t sets;  // RRsets in answer + authority that must verify
    };
    const Case cases[] = {
        {"geo.example.com.", 6, 1},
        {"geo.example.com.", 2, 1},
        {"geo.example.com.", 48, 1},
        {"geo.example.com.", 59, 1},
        {"geo.example.com.", 60, 1},
        {"www.geo.example.com.", 1, 1},
        {"www.geo.example.com.", 28, 1},
        {"mail.geo.example.com.", 15, 1},
        {"alias2.geo.example.com.", 1, 3},
        {"x.wild.geo.example.com.", 16, 1},
        {"Some.WILD.geo.example.com.", 16, 1},
        {"app.geo.example.com.", 1, 1},
        {"app.geo.example.com.", 28, 1},
    };
    for (const Case& c : cases) {
        INFO(c.name << " type " << c.type);
        const Reply r = ask(s, query(c.name, c.type));
        CHECK(r.rcode() == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_aa(r.pkt.get()));
        CHECK(verify_reply(s, r) == c.sets);
    }
    // Steered answers for clients in different places: different addresses, each signed.
    std::set<std::string> answers;
    for (const auto& ecs : {ecs24(81, 2, 69), ecs24(89, 160, 20), ecs24(216, 160, 83), ecs24(2, 125, 160)}) {
        const Reply r = ask(s, query("app.geo.example.com.", 1, true, false, ecs));
        CHECK(verify_reply(s, r) == 1);
        answers.insert(rdf_text(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r.pkt.get()), 0), 0)));
    }
    CHECK(answers.size() >= 2);
}

TEST_CASE("signed: the CDS served is the DS of the signing key", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    const Reply keys = ask(s, query("geo.example.com.", 48));
    const Reply cds = ask(s, query("geo.example.com.", 59));
    ldns_rr_list* dnskey = ldns_pkt_rr_list_by_type(keys.pkt.get(), LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
    ldns_rr_list* cdss = ldns_pkt_rr_list_by_type(cds.pkt.get(), LDNS_RR_TYPE_CDS, LDNS_SECTION_ANSWER);
    REQUIRE(dnskey != nullptr);
    REQUIRE(cdss != nullptr);
    REQUIRE(ldns_rr_list_rr_count(dnskey) == 1);
    REQUIRE(ldns_rr_list_rr_count(cdss) == 1);
    meridian::ldns::RrPtr ds(ldns_key_rr2ds(ldns_rr_list_rr(dnskey, 0), LDNS_SHA256));
    const ldns_rr* c = ldns_rr_list_rr(cdss, 0);
    for (std::size_t i = 0; i < 4; ++i) CHECK(ldns_rdf_compare(ldns_rr_rdf(ds.get(), i), ldns_rr_rdf(c, i)) == 0);
    ldns_rr_list_deep_free(dnskey);
    ldns_rr_list_deep_free(cdss);
}

TEST_CASE("signed: compact denial of existence (RFC 9824)", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    SECTION("a name that does not exist: NOERROR, an NSEC at it listing NXNAME") {
        const Reply r = ask(s, query("nothere.geo.example.com.", 1));
        CHECK(r.rcode() == LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_ancount(r.pkt.get()) == 0);
        CHECK(nsec_text(r) ==
              "nothere.geo.example.com.\t60\tIN\tNSEC\t\\000.nothere.geo.example.com. RRSIG NSEC TYPE128");
        CHECK(verify_reply(s, r) == 2);  // SOA and NSEC
    }
    SECTION("with CO set the NXDOMAIN comes back, and CO with it") {
        const Reply r = ask(s, query("nothere.geo.example.com.", 1, true, true));
        CHECK(r.rcode() == LDNS_RCODE_NXDOMAIN);
        const std::size_t opt_flags = r.bytes.size() - 11 + 7;  // the OPT is last, without options
        CHECK((meridian::dns::read_u16(r.bytes.data() + opt_flags) & 0xC000) == 0xC000);
        CHECK(verify_reply(s, r) == 2);
    }
    SECTION("a name of 252 bytes: its NSEC's rdata (262 bytes) is signed whole") {
        const std::string label63(63, 'a');
        const std::string name = label63 + "." + label63 + "." + label63 + "." + std::string(42, 'b') +
                                 ".geo.example.com.";
        REQUIRE(meridian::test::wire(name).size() == 252);
        const Reply r = ask(s, query(name, 1));
        CHECK(r.rcode() == LDNS_RCODE_NOERROR);
        CHECK(verify_reply(s, r) == 2);
    }
    SECTION("NODATA: the NSEC lists the types present, not the one asked") {
        const Reply r = ask(s, query("txtonly.geo.example.com.", 1));
        CHECK(r.rcode() == LDNS_RCODE_NOERROR);
        CHECK(nsec_text(r) == "txtonly.geo.example.com.\t60\tIN\tNSEC\t\\000.txtonly.geo.example.com. TXT RRSIG NSEC");
        CHECK(verify_reply(s, r) == 2);
    }
    SECTION("NODATA at a steered name, and at a wildcard's expansion") {
        const Reply steered = ask(s, query("app.geo.example.com.", 16));
        CHECK(nsec_text(steered) == "app.geo.example.com.\t60\tIN\tNSEC\t\\000.app.geo.example.com. A AAAA RRSIG NSEC");
        CHECK(verify_reply(s, steered) == 2);
        const Reply expanded = ask(s, query("x.wild.geo.example.com.", 1));
        CHECK(nsec_text(expanded) ==
              "x.wild.geo.example.com.\t60\tIN\tNSEC\t\\000.x.wild.geo.example.com. TXT RRSIG NSEC");
        CHECK(verify_reply(s, expanded) == 2);
    }
    SECTION("an empty non-terminal") {
        const Reply r = ask(s, query("wild.geo.example.com.", 1));
        CHECK(nsec_text(r) == "wild.geo.example.com.\t60\tIN\tNSEC\t\\000.wild.geo.example.com. RRSIG NSEC");
        CHECK(verify_reply(s, r) == 2);
    }
}

TEST_CASE("signed: a referral to an unsigned child proves it has no DS", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    const Reply r = ask(s, query("www.sub.geo.example.com.", 1));
    CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));
    CHECK(nsec_text(r) == "sub.geo.example.com.\t60\tIN\tNSEC\t\\000.sub.geo.example.com. NS RRSIG NSEC");
    CHECK(verify_reply(s, r) == 1);  // the NSEC; the NS is the child's, unsigned
    // Glue is never signed.
    ldns_rr_list* sigs = ldns_pkt_rr_list_by_type(r.pkt.get(), LDNS_RR_TYPE_RRSIG, LDNS_SECTION_ADDITIONAL);
    CHECK(sigs == nullptr);
    ldns_rr_list_deep_free(sigs);
}

TEST_CASE("signed: DO=0 answers are those of the unsigned zone, byte for byte", "[dnssec][answer]") {
    for (const auto& [name, type] : std::vector<std::pair<std::string, uint16_t>>{{"www.geo.example.com.", 1},
                                                                                  {"mail.geo.example.com.", 15},
                                                                                  {"nothere.geo.example.com.", 1},
                                                                                  {"txtonly.geo.example.com.", 1},
                                                                                  {"alias2.geo.example.com.", 1},
                                                                                  {"www.sub.geo.example.com.", 1},
                                                                                  {"app.geo.example.com.", 1},
                                                                                  {"geo.example.com.", 6}}) {
        INFO(name);
        CHECK(ask(signed_example(), query(name, type, false)).bytes ==
              ask(unsigned_example(), query(name, type, false)).bytes);
    }
}

TEST_CASE("signed: what does not fit is truncated whole", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    std::vector<uint8_t> q = query("big.geo.example.com.", 16);
    q[q.size() - 8] = 0x02;  // EDNS payload 512 (0x0200)
    q[q.size() - 7] = 0x00;
    const Reply udp = ask(s, q);
    CHECK(udp.tc());
    CHECK(ldns_pkt_ancount(udp.pkt.get()) == 0);
    const Reply tcp = ask(s, q, nullptr, Transport::tcp);
    CHECK_FALSE(tcp.tc());
    CHECK(verify_reply(s, tcp) == 1);
}

TEST_CASE("signed: a cached signature is served without allocating", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    OnlineSigner signer(1000, 0, {7, 11});
    const std::vector<uint8_t> q = query("app.geo.example.com.", 1, true, false, ecs24(81, 2, 69));
    const Reply first = ask(s, q, &signer);  // signed now, then the next miss fills the cache
    const Reply second = ask(s, q, &signer);
    CHECK(signer.counters().misses.load() == 2);
    std::vector<uint8_t> buffer(meridian::dns::kMaxMessageSize);
    ClientInfo client;
    sockaddr_in source{};
    source.sin_family = AF_INET;
    client.source = reinterpret_cast<const sockaddr*>(&source);
    client.signer = &signer;
    const std::size_t before = meridian::test::allocation_count();
    const std::size_t size = answer_query(s, client, q, buffer);
    const std::size_t after = meridian::test::allocation_count();
    CHECK(after == before);
    CHECK(signer.counters().hits.load() == 1);
    buffer.resize(size);
    CHECK(buffer == second.bytes);  // the cached signature is the one made before
    CHECK(verify_reply(s, Reply{buffer, meridian::test::decode(buffer)}) == 1);
}

TEST_CASE("signed: the cache finds an RRset whatever the order of its records, and only that RRset",
          "[dnssec][answer]") {
    const meridian::zone::Zone& zone = signed_example().zones.zones()[0].zone();
    const meridian::zone::Signing& signing = *zone.signing();
    const meridian::dnssec::Key& key = *signing.zone_signers.at(0);
    OnlineSigner signer(64, 0, {1, 2});
    const std::string owner = meridian::test::wire("x.geo.example.com.");
    const uint8_t a[4] = {192, 0, 2, 1};
    const uint8_t b[4] = {192, 0, 2, 2};
    const uint8_t c[4] = {192, 0, 2, 3};
    const auto sign = [&](std::vector<std::span<const uint8_t>> records) {
        const meridian::dnssec::RRsetToSign rrset{{meridian::test::u8(owner), owner.size()}, 1, 1, 30, records};
        std::array<uint8_t, meridian::dnssec::kMaxRrsigRdataSize> out;
        std::size_t size = 0;
        REQUIRE(signer.signature(key, rrset, signing.window, 0, out, &size) == OnlineSigner::Result::ok);
        CHECK(meridian::dnssec::verify(key, rrset, {out.data(), size}));
        return std::vector<uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size));
    };
    sign({a, b});                    // the first miss takes the cache's memory
    const auto kept = sign({a, b});  // the second is kept
    CHECK(sign({b, a}) == kept);     // found in the other order
    CHECK(signer.counters().hits.load() == 1);
    CHECK(sign({a, b, c}) != kept);  // another RRset: another signature
    CHECK(signer.counters().hits.load() == 1);
}

TEST_CASE("signed: past the signing budget UDP is sent to TCP and TCP gets SERVFAIL", "[dnssec][answer]") {
    const Snapshot& s = signed_example();
    OnlineSigner signer(0, 2, {3, 5});  // no cache: every denial is signed
    const uint64_t now_ms = 1000000;
    CHECK(ask(s, query("a.geo.example.com.", 1), &signer, Transport::udp, now_ms).rcode() == LDNS_RCODE_NOERROR);
    CHECK(ask(s, query("b.geo.example.com.", 1), &signer, Transport::udp, now_ms).rcode() == LDNS_RCODE_NOERROR);
    const Reply over = ask(s, query("c.geo.example.com.", 1), &signer, Transport::udp, now_ms);
    CHECK(over.tc());
    CHECK(ldns_pkt_nscount(over.pkt.get()) == 0);
    CHECK(ask(s, query("c.geo.example.com.", 1), &signer, Transport::tcp, now_ms).rcode() == LDNS_RCODE_SERVFAIL);
    CHECK(signer.counters().refused.load() == 2);
    // Static answers need no new signature and are answered as ever.
    const Reply www = ask(s, query("www.geo.example.com.", 1), &signer, Transport::udp, now_ms);
    CHECK(verify_reply(s, www) == 1);
    // A second later the budget has two more.
    CHECK_FALSE(ask(s, query("c.geo.example.com.", 1), &signer, Transport::udp, now_ms + 1000).tc());
}

TEST_CASE("signed: a zone whose keys directory is empty is refused, naming it", "[dnssec][answer]") {
    TempDir dir;
    std::string zone = example_zone_text();
    zone.insert(zone.find("\n[soa]") + 1, "[dnssec]\nkeys = \"nokeys\"\n");
    dir.write("zones/geo.example.com.toml", zone);
    const auto path = dir.write("meridian.toml", "zones = [\"" + (dir.path() / "zones").string() +
                                                     "\"]\n[listen]\nudp = [\"127.0.0.1:53\"]\n");
    meridian::Diagnostics diagnostics;
    const auto config = meridian::config::load_server_config(path.string(), &diagnostics);
    REQUIRE(config.has_value());
    CHECK(meridian::config::load_snapshot(*config, &diagnostics) == nullptr);
    CHECK(diagnostics.format_all().find("no keys for geo.example.com in " + (dir.path() / "zones/nokeys").string()) !=
          std::string::npos);
}

TEST_CASE("signed: an Ed25519 CSK signs as well", "[dnssec][answer]") {
    Signed ed("[dnssec]\ngenerate = true\nalgorithm = \"ed25519\"");
    for (const auto& [name, type] : std::vector<std::pair<std::string, uint16_t>>{{"www.geo.example.com.", 1},
                                                                                  {"app.geo.example.com.", 28},
                                                                                  {"nothere.geo.example.com.", 1}}) {
        const Reply r = ask(*ed.snapshot, query(name, type));
        CHECK(verify_reply(*ed.snapshot, r) >= 1);
    }
}

TEST_CASE("dnssec: type bitmaps are written as ldns writes them", "[dnssec]") {
    ldns_rr* raw = nullptr;
    REQUIRE(ldns_rr_new_frm_str(&raw, "x. 60 IN NSEC \\000.x. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY TYPE128 CAA", 0,
                                nullptr, nullptr) == LDNS_STATUS_OK);
    meridian::ldns::RrPtr rr(raw);
    const ldns_rdf* bitmap = ldns_rr_rdf(rr.get(), 1);
    const std::vector<uint16_t> types = {257, 128, 48, 47, 46, 28, 16, 15, 6, 2, 1, 1};
    uint8_t out[meridian::dnssec::kMaxBitmapSize];
    const std::size_t size = meridian::dnssec::write_type_bitmap(types, out);
    CHECK(std::vector<uint8_t>(out, out + size) ==
          std::vector<uint8_t>(ldns_rdf_data(bitmap), ldns_rdf_data(bitmap) + ldns_rdf_size(bitmap)));
}

TEST_CASE("SipHash-2-4-128 gives the reference vectors", "[dnssec]") {
    // The reference implementation's vectors_sip128: key 00…0f, message 00…(n-1); the first
    // sixteen bytes of output are digest[0] then digest[1], each little-endian.
    const auto hash = [](std::size_t length, std::size_t split) {
        meridian::SipHash128 h(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
        uint8_t message[64];
        for (uint8_t i = 0; i < 64; ++i) message[i] = i;
        h.add(message, split);
        h.add(message + split, length - split);
        return h.finish();
    };
    // n = 0, 1, 15 and 16 of that table (bytes a3 81 7f 04 …, da 87 …, 54 93 e9 99 …, 6e e2 a4 ca …).
    CHECK(hash(0, 0) == std::array<uint64_t, 2>{0xe6a825ba047f81a3ull, 0x930255c71472f66dull});
    CHECK(hash(1, 0) == std::array<uint64_t, 2>{0x44af996bd8c187daull, 0x45fc229b11597634ull});
    for (const std::size_t split : {0u, 3u, 8u, 15u}) {
        CAPTURE(split);
        CHECK(hash(15, split) == std::array<uint64_t, 2>{0x11a8b03399e99354ull, 0xd9c3cf970fec087eull});
        CHECK(hash(16, split) == std::array<uint64_t, 2>{0xbb54b067caa4e26eull, 0x77052385bf1533fdull});
    }
}

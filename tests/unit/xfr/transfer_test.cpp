// Tests for xfr/: TSIG against HMAC-SHA256 test vectors and against ldns (an independent TSIG
// implementation: it signs requests we verify and verifies the responses we sign), the ACL,
// splitting a transfer at 64 KiB with the SOA first and last, and IXFR answers.
#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <arpa/inet.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "common/ldns.hpp"
#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/wire.hpp"
#include "test_support.hpp"
#include "xfr/notify.hpp"
#include "xfr/transfer.hpp"
#include "xfr/tsig.hpp"

using meridian::answer::Snapshot;
using meridian::test::TempDir;

namespace {

constexpr const char* kSecret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";  // bytes 1 … 32

std::string zone_text(const std::string& extra_records, const std::string& transfer) {
    return "origin = \"x.test.\"\nttl = 300\nrecords = \"\"\"\n@ IN NS ns1\nns1 IN A 127.0.0.1\nwww IN A 192.0.2.1\n" +
           extra_records + "\"\"\"\n[soa]\nprimary = \"ns1.x.test.\"\ncontact = \"h@x.test\"\nserial = 5\n" + transfer +
           "[regions.a]\naddresses = [\"192.0.2.10\"]\n[regions.b]\naddresses = [\"192.0.2.20\"]\n"
           "[cidrs]\nloop = [\"127.0.0.0/8\"]\n[names.app]\nttl = 30\n"
           "[[names.app.route]]\nwhen = { cidr = \"loop\" }\nto = [\"b\"]\n[[names.app.route]]\nto = [\"a\"]\n";
}

std::unique_ptr<Snapshot> load(const std::string& zone, meridian::Diagnostics* diagnostics,
                               const std::string& keys = std::string("[keys.k1]\nsecret = \"") + kSecret + "\"\n") {
    TempDir dir;
    dir.write("x.test.toml", zone);
    const auto path = dir.write("meridian.toml",
                                "zones = [\"x.test.toml\"]\n[listen]\nudp = [\"127.0.0.1:53\"]\n" + keys);
    const auto config = meridian::config::load_server_config(path.string(), diagnostics);
    if (!config) return nullptr;
    return meridian::config::load_snapshot(*config, diagnostics);
}

std::unique_ptr<Snapshot> load_ok(const std::string& zone) {
    meridian::Diagnostics diagnostics;
    auto snapshot = load(zone, &diagnostics);
    INFO(diagnostics.format_all());
    REQUIRE(snapshot != nullptr);
    return snapshot;
}

sockaddr_in v4(const char* text) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, text, &a.sin_addr);
    return a;
}

// A query made by ldns, signed by ldns when `key` is given.
std::vector<uint8_t> make_query(const char* name, ldns_rr_type type, const char* key = nullptr,
                                const char* secret = kSecret, uint32_t ixfr_serial = 0) {
    ldns_pkt* pkt = nullptr;
    REQUIRE(ldns_pkt_query_new_frm_str(&pkt, name, type, LDNS_RR_CLASS_IN, 0) == LDNS_STATUS_OK);
    ldns_pkt_set_id(pkt, 0x1234);
    if (type == LDNS_RR_TYPE_IXFR) {
        ldns_rr* soa = nullptr;
        const std::string text = std::string(name) + " 0 IN SOA ns1.x.test. h.x.test. " + std::to_string(ixfr_serial) +
                                 " 1 1 1 1";
        REQUIRE(ldns_rr_new_frm_str(&soa, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
        ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, soa);
    }
    if (key != nullptr) REQUIRE(ldns_pkt_tsig_sign(pkt, key, secret, 300, "hmac-sha256.", nullptr) == LDNS_STATUS_OK);
    uint8_t* wire = nullptr;
    size_t size = 0;
    REQUIRE(ldns_pkt2wire(&wire, pkt, &size) == LDNS_STATUS_OK);
    std::vector<uint8_t> out(wire, wire + size);
    free(wire);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
    ldns_pkt_free(pkt);
    return out;
}

uint64_t now() { return static_cast<uint64_t>(std::time(nullptr)); }

meridian::xfr::Reply serve(const Snapshot& snapshot, const std::vector<uint8_t>& query,
                           const char* source = "127.0.0.1", bool is_tcp = true) {
    const sockaddr_in from = v4(source);
    meridian::xfr::Request request;
    request.query = query;
    request.source = reinterpret_cast<const sockaddr*>(&from);
    request.is_tcp = is_tcp;
    request.now_seconds = now();
    return meridian::xfr::serve(snapshot, request);
}

ldns_pkt* parse(const std::vector<uint8_t>& message) {
    ldns_pkt* pkt = nullptr;
    REQUIRE(ldns_wire2pkt(&pkt, message.data(), message.size()) == LDNS_STATUS_OK);
    return pkt;
}

uint16_t rcode_of(const std::vector<uint8_t>& message) { return meridian::dns::read_u16(message.data() + 2) & 0xF; }

}  // namespace

TEST_CASE("HMAC-SHA256 gives the RFC 4231 test vectors", "[xfr]") {
    const std::string key = "Jefe";
    const std::string data = "what do ya want for nothing?";
    const auto mac = meridian::xfr::hmac_sha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()},
                                                {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
    const std::vector<uint8_t> expected = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                           0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                           0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    CHECK(mac == expected);
}

TEST_CASE("a request signed by ldns verifies; a changed byte, another key or a late clock do not", "[xfr]") {
    const auto snapshot = load_ok(zone_text("", "[transfer]\nallow = [\"127.0.0.1/32\"]\nkey = \"k1\"\n"));
    const auto& keys = snapshot->settings.tsig_keys;
    std::vector<uint8_t> query = make_query("x.test.", LDNS_RR_TYPE_AXFR, "k1.");
    const auto tsig = meridian::xfr::find_tsig(query);
    REQUIRE(tsig.has_value());
    CHECK(tsig->key_name == std::string("\2k1", 4));
    CHECK(meridian::xfr::verify_request(query, tsig->offset, keys, now()).status == meridian::xfr::TsigStatus::ok);
    CHECK(meridian::xfr::verify_request(query, tsig->offset, keys, now() + 1000).status ==
          meridian::xfr::TsigStatus::badtime);
    std::vector<uint8_t> changed = query;
    changed[14] ^= 0x20;  // a letter of the qname, case flipped
    CHECK(meridian::xfr::verify_request(changed, tsig->offset, keys, now()).status ==
          meridian::xfr::TsigStatus::badsig);
    const auto other = make_query("x.test.", LDNS_RR_TYPE_AXFR, "k2.");
    CHECK(meridian::xfr::verify_request(other, meridian::xfr::find_tsig(other)->offset, keys, now()).status ==
          meridian::xfr::TsigStatus::badkey);
    const auto wrong = make_query("x.test.", LDNS_RR_TYPE_AXFR, "k1.", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=");
    CHECK(meridian::xfr::verify_request(wrong, meridian::xfr::find_tsig(wrong)->offset, keys, now()).status ==
          meridian::xfr::TsigStatus::badsig);
}

TEST_CASE("a signed transfer: every message signed, the MACs chained, as ldns verifies", "[xfr]") {
    std::string many;
    for (int i = 0; i < 800; ++i)
        many += "t" + std::to_string(i) + " IN TXT \"" + std::string(200, 'a' + i % 26) + "\"\n";
    const auto snapshot = load_ok(zone_text(many, "[transfer]\nallow = [\"127.0.0.1/32\"]\nkey = \"k1\"\n"));
    const auto query = make_query("x.test.", LDNS_RR_TYPE_AXFR, "k1.");
    const auto reply = serve(*snapshot, query);
    REQUIRE(reply.verdict == meridian::xfr::Verdict::transfer);
    REQUIRE(reply.messages.size() > 2);  // 800 × 200 bytes: three 64 KiB messages at least

    ldns_pkt* request = parse(query);
    ldns_rdf* mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(request), 3));
    std::size_t records = 0;
    for (std::size_t i = 0; i < reply.messages.size(); ++i) {
        const auto& message = reply.messages[i];
        CHECK(message.size() <= meridian::dns::kMaxMessageSize);
        ldns_pkt* pkt = parse(message);
        INFO("message " << i);
        CHECK(ldns_pkt_tsig_verify_next(pkt, message.data(), message.size(), "k1.", kSecret, mac, i == 0 ? 0 : 1));
        records += ldns_pkt_ancount(pkt);
        if (i == 0) CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)) == LDNS_RR_TYPE_SOA);
        if (i + 1 == reply.messages.size()) {
            CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(pkt), ldns_pkt_ancount(pkt) - 1)) ==
                  LDNS_RR_TYPE_SOA);
        }
        ldns_rdf_deep_free(mac);
        mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3));
        ldns_pkt_free(pkt);
    }
    ldns_rdf_deep_free(mac);
    ldns_pkt_free(request);
    // SOA, NS, 2 A, the steered name's A, 800 TXT, SOA.
    CHECK(records == 806);
    CHECK(reply.records == 806);
}

TEST_CASE("a steered name is transferred with the answer of a client nobody can locate", "[xfr]") {
    const auto snapshot = load_ok(zone_text("", "[transfer]\nallow = [\"127.0.0.0/8\"]\n"));
    const auto reply = serve(*snapshot, make_query("x.test.", LDNS_RR_TYPE_AXFR));
    REQUIRE(reply.verdict == meridian::xfr::Verdict::transfer);
    REQUIRE(reply.messages.size() == 1);
    ldns_pkt* pkt = parse(reply.messages[0]);
    bool found = false;
    for (std::size_t i = 0; i < ldns_pkt_ancount(pkt); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), i);
        char* owner = ldns_rdf2str(ldns_rr_owner(rr));
        if (std::string(owner) == "app.x.test." && ldns_rr_get_type(rr) == LDNS_RR_TYPE_A) {
            char* address = ldns_rdf2str(ldns_rr_rdf(rr, 0));
            CHECK(std::string(address) == "192.0.2.10");  // route 2, not the loopback route
            CHECK(ldns_rr_ttl(rr) == 30);
            free(address);  // NOLINT(cppcoreguidelines-no-malloc)
            found = true;
        }
        free(owner);  // NOLINT(cppcoreguidelines-no-malloc)
    }
    CHECK(found);
    ldns_pkt_free(pkt);
}

TEST_CASE("the ACL, the key and the transport decide who gets a transfer", "[xfr]") {
    const auto open = load_ok(zone_text("", "[transfer]\nallow = [\"127.0.0.1/32\", \"2001:db8::/32\"]\n"));
    const auto keyed = load_ok(zone_text("", "[transfer]\nallow = [\"127.0.0.0/8\"]\nkey = \"k1\"\n"));
    const auto none = load_ok(zone_text("", ""));
    using meridian::xfr::Verdict;
    namespace rcode = meridian::dns::rcode;
    const auto axfr = make_query("x.test.", LDNS_RR_TYPE_AXFR);

    SECTION("the allowed network only") {
        CHECK(serve(*open, axfr).verdict == Verdict::transfer);
        const auto refused = serve(*open, axfr, "127.0.0.2");
        CHECK(refused.verdict == Verdict::refused);
        CHECK(rcode_of(refused.messages[0]) == rcode::REFUSED);
        const sockaddr_in a = v4("127.0.0.1");
        CHECK(
            meridian::xfr::is_allowed(open->settings.transfers.begin()->second, reinterpret_cast<const sockaddr*>(&a)));
    }
    SECTION("no [transfer]: nobody") { CHECK(rcode_of(serve(*none, axfr).messages[0]) == rcode::REFUSED); }
    SECTION("a key required: unsigned is REFUSED, signed is served") {
        CHECK(rcode_of(serve(*keyed, axfr).messages[0]) == rcode::REFUSED);
        CHECK(serve(*keyed, make_query("x.test.", LDNS_RR_TYPE_AXFR, "k1.")).verdict == Verdict::transfer);
    }
    SECTION("a bad signature: NOTAUTH with an unsigned BADSIG") {
        const auto reply = serve(*keyed, make_query("x.test.", LDNS_RR_TYPE_AXFR, "k1.",
                                                    "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="));
        REQUIRE(reply.messages.size() == 1);
        CHECK(rcode_of(reply.messages[0]) == rcode::NOTAUTH);
        const auto tsig = meridian::xfr::find_tsig(reply.messages[0]);
        REQUIRE(tsig.has_value());
        CHECK(tsig->error == meridian::xfr::tsig_error::BADSIG);
        CHECK(tsig->mac.empty());
    }
    SECTION("a zone we do not serve: NOTAUTH") {
        CHECK(rcode_of(serve(*open, make_query("y.test.", LDNS_RR_TYPE_AXFR)).messages[0]) == rcode::NOTAUTH);
    }
    SECTION("over UDP: AXFR NOTIMP, IXFR our SOA alone") {
        CHECK(rcode_of(serve(*open, axfr, "127.0.0.1", false).messages[0]) == rcode::NOTIMP);
        const auto ixfr = serve(*open, make_query("x.test.", LDNS_RR_TYPE_IXFR, nullptr, kSecret, 1), "127.0.0.1",
                                false);
        REQUIRE(ixfr.messages.size() == 1);
        ldns_pkt* pkt = parse(ixfr.messages[0]);
        CHECK(ldns_pkt_ancount(pkt) == 1);
        CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)) == LDNS_RR_TYPE_SOA);
        ldns_pkt_free(pkt);
    }
}

TEST_CASE("IXFR of the current serial is the single SOA; of an older serial, the whole zone", "[xfr]") {
    const auto snapshot = load_ok(zone_text("", "[transfer]\nallow = [\"127.0.0.1/32\"]\n"));
    const auto current = serve(*snapshot, make_query("x.test.", LDNS_RR_TYPE_IXFR, nullptr, kSecret, 5));
    CHECK(current.verdict == meridian::xfr::Verdict::up_to_date);
    REQUIRE(current.messages.size() == 1);
    ldns_pkt* pkt = parse(current.messages[0]);
    CHECK(ldns_pkt_ancount(pkt) == 1);
    ldns_pkt_free(pkt);
    CHECK(serve(*snapshot, make_query("x.test.", LDNS_RR_TYPE_IXFR, nullptr, kSecret, 6)).verdict ==
          meridian::xfr::Verdict::up_to_date);  // newer than ours (RFC 1982)
    const auto older = serve(*snapshot, make_query("x.test.", LDNS_RR_TYPE_IXFR, nullptr, kSecret, 4));
    CHECK(older.verdict == meridian::xfr::Verdict::transfer);
    CHECK(older.records == 6);
}

TEST_CASE("NOTIFY is opcode 4 with AA, our SOA, and a TSIG ldns verifies; its reply is matched by ID", "[xfr]") {
    const auto snapshot = load_ok(zone_text("", "[transfer]\nallow = [\"127.0.0.1/32\"]\nkey = \"k1\"\n"));
    const auto& zone = snapshot->zones.zones()[0].zone();
    const auto message = meridian::xfr::make_notify(zone, 77, &snapshot->settings.tsig_keys[0], now());
    ldns_pkt* pkt = parse(message);
    CHECK(ldns_pkt_get_opcode(pkt) == LDNS_PACKET_NOTIFY);
    CHECK(ldns_pkt_aa(pkt));
    CHECK(ldns_pkt_ancount(pkt) == 1);
    CHECK(ldns_pkt_tsig_verify(pkt, message.data(), message.size(), "k1.", kSecret, nullptr));
    ldns_pkt_free(pkt);
    std::vector<uint8_t> reply = {0, 77, 0xA0 | 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // QR, opcode 4, AA
    CHECK(meridian::xfr::read_notify_reply(reply, 77) == uint16_t{0});
    CHECK_FALSE(meridian::xfr::read_notify_reply(reply, 78).has_value());
}

TEST_CASE("bad transfer config is an error with its file and line", "[xfr]") {
    meridian::Diagnostics diagnostics;
    CHECK(load(zone_text("", "[transfer]\nallow = [\"127.0.0.1/33\"]\n"), &diagnostics) == nullptr);
    CHECK_THAT(diagnostics.format_all(), Catch::Contains("x.test.toml:13:10: \"127.0.0.1/33\" is not a network"));
    meridian::Diagnostics unknown;
    CHECK(load(zone_text("", "[transfer]\nkey = \"nokey\"\nnotify = [\"x:y\"]\n"), &unknown) == nullptr);
    const std::string all = unknown.format_all();
    CHECK_THAT(all, Catch::Contains("x.test.toml:13:") &&
                        Catch::Contains("unknown key \"nokey\" in [transfer] (the server config has k1)"));
    CHECK_THAT(all, Catch::Contains("\"x:y\" is not ADDRESS or ADDRESS:PORT"));
    meridian::Diagnostics bad_secret;
    CHECK(load(zone_text("", ""), &bad_secret, "[keys.k1]\nsecret = \"not base64!\"\n") == nullptr);
    CHECK_THAT(bad_secret.format_all(), Catch::Contains("meridian.toml:5:") && Catch::Contains("is not base64"));
    CHECK(meridian::config::decode_base64("AQID") == std::vector<uint8_t>{1, 2, 3});
    CHECK(meridian::config::decode_base64("AQ==") == std::vector<uint8_t>{1});
    CHECK_FALSE(meridian::config::decode_base64("A=QD").has_value());
}

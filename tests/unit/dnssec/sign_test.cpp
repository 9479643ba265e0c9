// Tests for dnssec/sign.hpp with ldns as the independent judge: what sign() writes verifies in
// ldns (RRsets out of canonical order, with duplicates, mixed-case owners, wildcards), what ldns
// signs verifies in verify(), DS records equal ldns's, tampering is caught; the validity windows.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "common/ldns.hpp"
#include "dnssec/key.hpp"
#include "dnssec/sign.hpp"
#include "dnssec_test_support.hpp"
#include "test_support.hpp"

using meridian::dnssec::Algorithm;
using meridian::dnssec::Key;
using meridian::dnssec::RRsetToSign;
using meridian::dnssec::Window;
using meridian::dnssec::WindowPolicy;
using meridian::test::TempDir;
using meridian::test::Tool;
namespace dnssec = meridian::dnssec;
namespace test = meridian::test;

namespace {

constexpr int64_t kDay = 86400;

const char* tool_name(Algorithm algorithm) { return algorithm == Algorithm::ed25519 ? "ED25519" : "ECDSAP256SHA256"; }

// A key made by ldns-keygen and read by read_key, with its DNSKEY as ldns reads the .key file.
struct ToolKey {
    Key key;
    meridian::ldns::RrPtr dnskey;
};

ToolKey tool_key(const TempDir& dir, Algorithm algorithm, Tool tool = Tool::ldns, bool ksk = false) {
    ToolKey out;
    const std::string base = test::make_tool_key(tool, dir.path(), tool_name(algorithm), ksk);
    std::string error;
    const bool read = dnssec::read_key(base, "example.com", &out.key, &error);
    INFO(error);
    REQUIRE(read);
    out.dnskey = test::ldns_dnskey_from_file(base + ".key");
    return out;
}

// The RRset as ldns holds it, from presentation lines.
test::RrListPtr ldns_rrset(const std::vector<std::string>& lines) {
    test::RrListPtr list(ldns_rr_list_new());
    for (const auto& line : lines) ldns_rr_list_push_rr(list.get(), test::ldns_rr_from_text(line).release());
    return list;
}

std::vector<uint8_t> sign_rrset(const Key& key, const std::string& owner_wire, uint16_t type, uint32_t ttl,
                                const std::vector<std::vector<uint8_t>>& rdatas, Window window) {
    std::vector<std::span<const uint8_t>> spans(rdatas.begin(), rdatas.end());
    RRsetToSign rrset;
    rrset.owner = std::span<const uint8_t>(test::u8(owner_wire), owner_wire.size());
    rrset.type = type;
    rrset.original_ttl = ttl;
    rrset.rdatas = spans;
    std::vector<uint8_t> out(dnssec::kMaxRrsigRdataSize);
    const std::size_t size = dnssec::sign(key, rrset, window, out);
    REQUIRE(size > 0);
    out.resize(size);
    return out;
}

bool our_verify(const Key& key, const std::string& owner_wire, uint16_t type, uint32_t ttl,
                const std::vector<std::vector<uint8_t>>& rdatas, const std::vector<uint8_t>& rrsig) {
    std::vector<std::span<const uint8_t>> spans(rdatas.begin(), rdatas.end());
    RRsetToSign rrset;
    rrset.owner = std::span<const uint8_t>(test::u8(owner_wire), owner_wire.size());
    rrset.type = type;
    rrset.original_ttl = ttl;
    rrset.rdatas = spans;
    return dnssec::verify(key, rrset, rrsig);
}

ldns_status ldns_check(const std::vector<std::string>& rrset_lines, const std::string& rrsig_owner_wire,
                       const std::vector<uint8_t>& rrsig, ldns_rr* dnskey, time_t now) {
    const auto rrset = ldns_rrset(rrset_lines);
    const auto sig = test::ldns_rrsig_from_rdata(rrsig_owner_wire, 300, rrsig);
    return ldns_verify_rrsig_time(rrset.get(), sig.get(), dnskey, now);
}

std::vector<uint8_t> a(uint8_t last) { return {192, 0, 2, last}; }

}  // namespace

TEST_CASE("dnssec: sign() makes RRSIGs that ldns verifies", "[dnssec]") {
    TempDir dir;
    const time_t now = std::time(nullptr);
    const Window window = WindowPolicy{}.at(now);
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        INFO(tool_name(algorithm));
        const ToolKey k = tool_key(dir, algorithm);
        const std::string www = test::wire("www.example.com.");

        SECTION("an A RRset out of canonical order, with a duplicate") {
            const std::vector<std::vector<uint8_t>> rdatas = {a(30), a(4), a(200), a(4), a(1)};
            const auto rrsig = sign_rrset(k.key, www, 1, 300, rdatas, window);
            // The fixed fields (RFC 4034 §3.1), written out by hand.
            CHECK(rrsig[0] == 0);
            CHECK(rrsig[1] == 1);
            CHECK(rrsig[2] == static_cast<uint8_t>(algorithm));
            CHECK(rrsig[3] == 3);
            CHECK(rrsig.size() == 18 + test::wire("example.com.").size() + 64);
            CHECK(ldns_check({"www.example.com. 300 IN A 192.0.2.200", "www.example.com. 300 IN A 192.0.2.1",
                              "www.example.com. 300 IN A 192.0.2.30", "www.example.com. 300 IN A 192.0.2.4"},
                             www, rrsig, k.dnskey.get(), now) == LDNS_STATUS_OK);
            CHECK(our_verify(k.key, www, 1, 300, rdatas, rrsig));
            // ldns says no for a different RRset.
            CHECK(ldns_check({"www.example.com. 300 IN A 192.0.2.200", "www.example.com. 300 IN A 192.0.2.1",
                              "www.example.com. 300 IN A 192.0.2.30"},
                             www, rrsig, k.dnskey.get(), now) != LDNS_STATUS_OK);
        }
        SECTION("a mixed-case owner, given lower-cased") {
            const std::vector<std::vector<uint8_t>> rdatas = {a(7), a(8)};
            const auto rrsig = sign_rrset(k.key, www, 1, 300, rdatas, window);
            CHECK(ldns_check({"WwW.ExAmPlE.CoM. 300 IN A 192.0.2.8", "WWW.EXAMPLE.COM. 300 IN A 192.0.2.7"},
                             test::wire("WwW.ExAmPlE.CoM."), rrsig, k.dnskey.get(), now) == LDNS_STATUS_OK);
        }
        SECTION("a wildcard owner: the labels field leaves out the *") {
            const std::string star = test::wire("*.example.com.");
            const std::vector<std::vector<uint8_t>> rdatas = {test::bytes_of("\x05hello")};
            const auto rrsig = sign_rrset(k.key, star, 16, 300, rdatas, window);
            CHECK(rrsig[3] == 2);
            CHECK(ldns_check({"*.example.com. 300 IN TXT hello"}, star, rrsig, k.dnskey.get(), now) == LDNS_STATUS_OK);
            // A validator checks the expansion with the labels field: ldns rebuilds *.example.com.
            CHECK(ldns_check({"a.b.example.com. 300 IN TXT hello"}, test::wire("a.b.example.com."), rrsig,
                             k.dnskey.get(), now) == LDNS_STATUS_OK);
            CHECK(our_verify(k.key, star, 16, 300, rdatas, rrsig));
        }
        SECTION("an RRset larger than the stack buffer") {
            std::vector<std::vector<uint8_t>> rdatas;
            std::vector<std::string> lines;
            for (int i = 0; i < 40; ++i) {
                std::string text(200, static_cast<char>('a' + i % 26));
                text += std::to_string(i);
                rdatas.push_back(test::bytes_of(std::string(1, static_cast<char>(text.size())) + text));
                lines.push_back("big.example.com. 300 IN TXT " + text);
            }
            const std::string big = test::wire("big.example.com.");
            const auto rrsig = sign_rrset(k.key, big, 16, 300, rdatas, window);
            CHECK(ldns_check(lines, big, rrsig, k.dnskey.get(), now) == LDNS_STATUS_OK);
            CHECK(our_verify(k.key, big, 16, 300, rdatas, rrsig));
        }
        SECTION("an RRset of more records than sort on the stack") {
            std::vector<std::vector<uint8_t>> rdatas;
            std::vector<std::string> lines;
            for (int i = 0; i < 300; ++i) {
                const auto high = static_cast<uint8_t>((i * 37) % 251);
                const auto low = static_cast<uint8_t>(i % 7);
                rdatas.push_back({10, high, low, 1});
                lines.push_back("many.example.com. 300 IN A 10." + std::to_string(high) + "." + std::to_string(low) +
                                ".1");
            }
            const std::string many = test::wire("many.example.com.");
            const auto rrsig = sign_rrset(k.key, many, 1, 300, rdatas, window);
            CHECK(ldns_check(lines, many, rrsig, k.dnskey.get(), now) == LDNS_STATUS_OK);
        }
    }
}

TEST_CASE("dnssec: keys from dnssec-keygen sign too (KSK, ldns verifies)", "[dnssec]") {
    TempDir dir;
    const time_t now = std::time(nullptr);
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        const ToolKey k = tool_key(dir, algorithm, Tool::bind, true);
        const std::string apex = test::wire("example.com.");
        const auto rrsig = sign_rrset(k.key, apex, 48, 3600, {test::ldns_rdata_wire(k.dnskey.get())},
                                      WindowPolicy{}.at(now));
        const auto rrset = test::RrListPtr(ldns_rr_list_new());
        ldns_rr_list_push_rr(rrset.get(), ldns_rr_clone(k.dnskey.get()));
        const auto sig = test::ldns_rrsig_from_rdata(apex, 3600, rrsig);
        CHECK(ldns_verify_rrsig_time(rrset.get(), sig.get(), k.dnskey.get(), now) == LDNS_STATUS_OK);
    }
}

TEST_CASE("dnssec: ldns's signatures verify with verify()", "[dnssec]") {
    TempDir dir;
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        INFO(tool_name(algorithm));
        const ToolKey k = tool_key(dir, algorithm);
        FILE* fp = std::fopen((k.key.path + ".private").c_str(), "r");
        REQUIRE(fp != nullptr);
        ldns_key* signer = nullptr;
        REQUIRE(ldns_key_new_frm_fp(&signer, fp) == LDNS_STATUS_OK);
        std::fclose(fp);
        ldns_key_set_pubkey_owner(signer, ldns_dname_new_frm_str("example.com."));
        ldns_key_set_flags(signer, ldns_rdf2native_int16(ldns_rr_dnskey_flags(k.dnskey.get())));
        ldns_key_set_keytag(signer, ldns_calc_keytag(k.dnskey.get()));
        ldns_key_set_inception(signer, 1'700'000'000);
        ldns_key_set_expiration(signer, 1'900'000'000);
        ldns_key_list* keys = ldns_key_list_new();
        ldns_key_list_push_key(keys, signer);

        const auto rrset = ldns_rrset({"Mail.Example.com. 600 IN A 198.51.100.9", "Mail.Example.com. 600 IN A 10.0.0.1",
                                       "Mail.Example.com. 600 IN A 172.16.0.1"});
        const test::RrListPtr signatures(ldns_sign_public(rrset.get(), keys));
        ldns_key_list_free(keys);  // frees the keys in it too
        REQUIRE(signatures != nullptr);
        REQUIRE(ldns_rr_list_rr_count(signatures.get()) == 1);
        const auto rrsig = test::ldns_rdata_wire(ldns_rr_list_rr(signatures.get(), 0));

        const std::string owner = test::wire("mail.example.com.");
        const std::vector<std::vector<uint8_t>> rdatas = {{172, 16, 0, 1}, {10, 0, 0, 1}, {198, 51, 100, 9}};
        CHECK(our_verify(k.key, owner, 1, 600, rdatas, rrsig));
        // Not for another RRset, type or key.
        CHECK_FALSE(our_verify(k.key, owner, 1, 600, {{172, 16, 0, 1}, {10, 0, 0, 1}}, rrsig));
        CHECK_FALSE(our_verify(k.key, owner, 28, 600, rdatas, rrsig));
        const ToolKey other = tool_key(dir, algorithm);
        CHECK_FALSE(our_verify(other.key, owner, 1, 600, rdatas, rrsig));
    }
}

TEST_CASE("dnssec: tampered rdata, signature or window fail verify()", "[dnssec]") {
    TempDir dir;
    const Window window = WindowPolicy{}.at(std::time(nullptr));
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        INFO(tool_name(algorithm));
        const ToolKey k = tool_key(dir, algorithm);
        const std::string owner = test::wire("www.example.com.");
        const std::vector<std::vector<uint8_t>> rdatas = {a(1), a(2)};
        const auto rrsig = sign_rrset(k.key, owner, 1, 300, rdatas, window);
        REQUIRE(our_verify(k.key, owner, 1, 300, rdatas, rrsig));

        CHECK_FALSE(our_verify(k.key, owner, 1, 300, {a(1), a(3)}, rrsig));
        CHECK_FALSE(our_verify(k.key, test::wire("ww.example.com."), 1, 300, rdatas, rrsig));
        for (const std::size_t at : {std::size_t{4}, std::size_t{8}, std::size_t{12}, std::size_t{15},
                                     rrsig.size() - 64, rrsig.size() - 33, rrsig.size() - 1}) {
            INFO("byte " << at);
            auto bad = rrsig;
            bad[at] ^= 0x01;
            CHECK_FALSE(our_verify(k.key, owner, 1, 300, rdatas, bad));
        }
        auto shorter = rrsig;
        shorter.pop_back();
        CHECK_FALSE(our_verify(k.key, owner, 1, 300, rdatas, shorter));
        CHECK_FALSE(our_verify(k.key, owner, 1, 300, rdatas, std::vector<uint8_t>(rrsig.begin(), rrsig.begin() + 10)));
        // Another window: the signature no longer covers it.
        auto moved = sign_rrset(k.key, owner, 1, 300, rdatas, window);
        moved[11] ^= 0x80;  // expiration
        CHECK_FALSE(our_verify(k.key, owner, 1, 300, rdatas, moved));
    }
}

TEST_CASE("dnssec: sign() refuses what it cannot sign", "[dnssec]") {
    TempDir dir;
    const ToolKey k = tool_key(dir, Algorithm::ed25519);
    const std::string owner = test::wire("www.example.com.");
    const std::vector<uint8_t> rdata = a(1);
    const std::span<const uint8_t> one[] = {rdata};
    RRsetToSign rrset;
    rrset.owner = std::span<const uint8_t>(test::u8(owner), owner.size());
    rrset.type = 1;
    rrset.rdatas = one;
    std::vector<uint8_t> out(dnssec::kMaxRrsigRdataSize);
    CHECK(dnssec::sign(k.key, rrset, {}, out) > 0);
    CHECK(dnssec::sign(k.key, rrset, {}, std::span<uint8_t>(out.data(), 18 + 13 + 63)) == 0);  // too small
    Key public_only = k.key;
    public_only.private_key = nullptr;
    CHECK(dnssec::sign(public_only, rrset, {}, out) == 0);
    const std::string bad_owner =
        "\x03www\x07"
        "example";  // no root label
    rrset.owner = std::span<const uint8_t>(test::u8(bad_owner), bad_owner.size());
    CHECK(dnssec::sign(k.key, rrset, {}, out) == 0);
    rrset.owner = std::span<const uint8_t>(test::u8(owner), owner.size());
    rrset.rdatas = {};
    CHECK(dnssec::sign(k.key, rrset, {}, out) == 0);
}

TEST_CASE("dnssec: DS records equal ldns's (SHA-256, SHA-384)", "[dnssec]") {
    TempDir dir;
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        for (const bool ksk : {true, false}) {
            const ToolKey k = tool_key(dir, algorithm, Tool::ldns, ksk);
            const meridian::ldns::RrPtr ds2(ldns_key_rr2ds(k.dnskey.get(), LDNS_SHA256));
            const meridian::ldns::RrPtr ds4(ldns_key_rr2ds(k.dnskey.get(), LDNS_SHA384));
            REQUIRE(ds2 != nullptr);
            REQUIRE(ds4 != nullptr);
            // The owner in any case: the digest is over the lower-case name.
            const std::string owner = test::wire("ExAmple.COM.");
            const std::span<const uint8_t> owner_span(test::u8(owner), owner.size());
            CHECK(dnssec::ds_rdata(owner_span, k.key.dnskey_rdata(), 2) == test::ldns_rdata_wire(ds2.get()));
            CHECK(dnssec::ds_rdata(owner_span, k.key.dnskey_rdata(), 4) == test::ldns_rdata_wire(ds4.get()));
            CHECK(dnssec::ds_rdata(owner_span, k.key.dnskey_rdata(), 1).empty());
        }
    }
}

TEST_CASE("dnssec: validity windows are aligned to the epoch", "[dnssec]") {
    const WindowPolicy policy{14 * 86400u, 7 * 86400u, 3600};
    // 2026-01-01T00:00:00Z is 1767225600, which is 2922 weeks after Thursday 1970-01-01
    // (7 * kDay * 2922 = 1767225600): a period starts exactly there.
    const int64_t start = 1767225600;
    const Window w = policy.at(start);
    CHECK(w.inception == start - 3600);
    CHECK(w.expiration == start + 14 * kDay);
    CHECK(policy.at(start + 1) == w);
    CHECK(policy.at(start + 7 * kDay - 1) == w);
    CHECK(policy.next_refresh(start) == start + 7 * kDay);
    CHECK(policy.next_refresh(start + 7 * kDay - 1) == start + 7 * kDay);
    const Window next = policy.at(start + 7 * kDay);
    CHECK(next.inception == start + 7 * kDay - 3600);
    CHECK(next.expiration == start + 21 * kDay);
    CHECK(policy.at(start - 1).expiration == start + 7 * kDay);
    CHECK(policy.next_refresh(start - 1) == start);

    // After 2106 the wire values are the low 32 bits (RFC 4034 §3.1.5 serial arithmetic).
    const int64_t late = int64_t{1} << 33;
    const WindowPolicy day{2 * 86400u, 86400u, 0};
    const int64_t late_start = late / 86400 * kDay;
    CHECK(day.at(late).inception == static_cast<uint32_t>(late_start & 0xffffffff));
    CHECK(day.at(late).expiration == static_cast<uint32_t>((late_start + 2 * kDay) & 0xffffffff));

    // Before the epoch, floor rather than truncation.
    CHECK(day.next_refresh(-1) == 0);
    CHECK(day.at(-1).expiration == static_cast<uint32_t>(-86400 + 2 * kDay));
}

TEST_CASE("dnssec: sign() rate (reported, not asserted)", "[.dnssec-bench]") {
    TempDir dir;
    const Window window = WindowPolicy{}.at(std::time(nullptr));
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        std::string error;
        const Key key = dnssec::generate_key("example.com", algorithm, false, 0, &error);
        const std::string owner = test::wire("www.example.com.");
        const std::vector<uint8_t> r1 = a(1), r2 = a(2);
        const std::span<const uint8_t> rdatas[] = {r1, r2};
        RRsetToSign rrset;
        rrset.owner = std::span<const uint8_t>(test::u8(owner), owner.size());
        rrset.type = 1;
        rrset.original_ttl = 300;
        rrset.rdatas = rdatas;
        uint8_t out[dnssec::kMaxRrsigRdataSize];
        constexpr int kRounds = 5000;
        const auto begin = std::chrono::steady_clock::now();
        std::size_t total = 0;
        for (int i = 0; i < kRounds; ++i) total += dnssec::sign(key, rrset, window, out);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        REQUIRE(total > 0);
        std::printf("sign() %s: %.0f signatures/s\n", tool_name(algorithm), kRounds / seconds);
    }
}

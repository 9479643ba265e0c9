// Tests for config/zone_file: TOML zone files compiled into zones, and every validation error
// reported as `file:line:column: message` with the exact position of what caused it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"
#include "config/zone_file.hpp"
#include "dns/wire.hpp"
#include "test_support.hpp"
#include "zone/zone.hpp"

using meridian::Diagnostic;
using meridian::Diagnostics;
using meridian::test::TempDir;
using meridian::test::wire;
namespace rrtype = meridian::dns::rrtype;

namespace {

struct Loaded {
    std::string file;
    meridian::config::LoadedZone loaded;
    Diagnostics diagnostics;

    const meridian::zone::Zone* zone() const { return loaded.zone.get(); }
    const std::vector<Diagnostic>& errors() const { return diagnostics.items(); }
};

Loaded load(std::string_view content) {
    static TempDir dir;  // one directory for the run; each file gets its own name
    static int counter = 0;
    Loaded result;
    result.file = dir.write("zone-" + std::to_string(counter++) + ".toml", content).string();
    result.loaded = meridian::config::load_zone_file(result.file, &result.diagnostics);
    return result;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Checks that the one error reported is `file:line:column: …keyword…`.
void check_single_error(const Loaded& r, uint32_t line, uint32_t column, std::string_view keyword) {
    INFO(r.diagnostics.format_all());
    CHECK(r.zone() == nullptr);
    REQUIRE(r.errors().size() == 1);
    const std::string formatted = r.errors()[0].format();
    const std::string prefix = r.file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    CHECK(formatted.substr(0, prefix.size()) == prefix);
    CHECK(contains(formatted, keyword));
}

// True when some error is at line:column and mentions keyword.
bool has_error(const Loaded& r, uint32_t line, uint32_t column, std::string_view keyword) {
    return std::any_of(r.errors().begin(), r.errors().end(), [&](const Diagnostic& d) {
        return d.where.file == r.file && d.where.line == line && d.where.column == column &&
               contains(d.message, keyword);
    });
}

// The [soa] table every test zone below ends with (lines are counted in each test).
constexpr std::string_view kSoa =
    "[soa]\n"
    "primary = \"ns1.example.net.\"\n"
    "contact = \"hostmaster@example.net\"\n"
    "serial = 2026112701\n";

// A zone whose records block starts on line 4 (the line after `records = """`).
std::string zone_with_records(std::string_view records) {
    return "origin = \"example.net.\"\n"          // 1
           "ttl = 300\n"                          // 2
           "records = \"\"\"\n" +                 // 3
           std::string(records) + "\"\"\"\n" + std::string(kSoa);
}

constexpr std::string_view kApex =
    "@    3600 IN NS ns1\n"        // 4
    "@    3600 IN NS ns2.example.org.\n"  // 5
    "ns1  3600 IN A  192.0.2.1\n";  // 6

std::vector<uint16_t> types_at(const meridian::zone::Zone& zone, std::string_view text) {
    std::vector<uint16_t> types;
    const meridian::zone::Node* node = zone.find(wire(text));
    if (node == nullptr) return types;
    for (const auto& set : zone.rrsets(*node)) types.push_back(set.type);
    return types;
}

}  // namespace

TEST_CASE("load_zone_file compiles a valid zone", "[config]") {
    const Loaded r = load(
        "origin = \"Example.NET\"\n"  // the trailing dot is optional; case is folded
        "ttl = 300\n"
        "records = \"\"\"\n"
        "    @    3600 IN NS ns1\n"
        "    @    3600 IN NS ns2.example.org.\n"
        "    ns1  3600 IN A  192.0.2.1\n"
        "    WWW       IN A  192.0.2.10\n"
        "              IN AAAA 2001:db8::10   ; same owner as the line above\n"
        "    a.b.c     IN TXT \"deep\"\n"
        "\"\"\"\n"
        "[soa]\n"
        "primary = \"ns1.example.net.\"\n"
        "contact = \"hostmaster@example.net\"\n"
        "serial = 2026112701\n"
        "negative_ttl = 60\n"
        "ttl = 3600\n");
    INFO(r.diagnostics.format_all());
    REQUIRE(r.errors().empty());
    REQUIRE(r.zone() != nullptr);
    const meridian::zone::Zone& zone = *r.zone();

    CHECK(zone.origin() == wire("example.net."));
    CHECK(zone.serial() == 2026112701);
    CHECK(zone.negative_ttl() == 60);  // min(SOA TTL 3600, negative_ttl 60)
    CHECK(zone.apex().is_apex);
    CHECK(types_at(zone, "example.net.") == std::vector<uint16_t>{rrtype::NS, rrtype::SOA});
    CHECK(types_at(zone, "www.example.net.") == std::vector<uint16_t>{rrtype::A, rrtype::AAAA});

    const meridian::zone::Node* www = zone.find(wire("www.example.net."));
    REQUIRE(www != nullptr);
    const meridian::zone::RRset* a = zone.find_rrset(*www, rrtype::A);
    REQUIRE(a != nullptr);
    CHECK(a->ttl == 300);  // the zone's default TTL
    REQUIRE(a->rdata_count == 1);
    const auto& rdata = zone.rdatas(*a)[0];
    CHECK(std::string(reinterpret_cast<const char*>(zone.bytes_of(rdata)), rdata.size) ==
          std::string("\xC0\x00\x02\x0A", 4));

    // Empty non-terminals exist as nodes without data; names never mentioned do not.
    const meridian::zone::Node* ent = zone.find(wire("b.c.example.net."));
    REQUIRE(ent != nullptr);
    CHECK(ent->rrset_count == 0);
    CHECK(zone.find(wire("c.example.net.")) != nullptr);
    CHECK(zone.find(wire("nowhere.example.net.")) == nullptr);

    // "hostmaster@example.net" is written as the mailbox name hostmaster.example.net.
    const meridian::zone::RRset* soa = zone.find_rrset(zone.apex(), rrtype::SOA);
    REQUIRE(soa != nullptr);
    CHECK(soa->ttl == 3600);
    const auto& soa_rdata = zone.rdatas(*soa)[0];
    const std::string soa_bytes(reinterpret_cast<const char*>(zone.bytes_of(soa_rdata)), soa_rdata.size);
    CHECK(soa_bytes.substr(0, 17 + 24) == wire("ns1.example.net.") + wire("hostmaster.example.net."));
}

TEST_CASE("the negative TTL is the smaller of the SOA TTL and negative_ttl", "[config]") {
    struct Case {
        const char* soa_keys;
        uint32_t expected;
    };
    for (const Case c : {Case{"negative_ttl = 60\nttl = 3600\n", 60}, Case{"negative_ttl = 900\nttl = 30\n", 30},
                         Case{"", 60} /* defaults: negative_ttl 60, SOA TTL = zone ttl 300 */}) {
        CAPTURE(c.soa_keys);
        const Loaded r = load(zone_with_records(kApex) + c.soa_keys);
        INFO(r.diagnostics.format_all());
        REQUIRE(r.zone() != nullptr);
        CHECK(r.zone()->negative_ttl() == c.expected);
    }
}

TEST_CASE("records may be given as an array of strings, each with its own position", "[config]") {
    const std::string content =
        "origin = \"example.org.\"\n"
        "records = [\n"
        "  \"@   3600 IN NS ns1\",\n"
        "  \"ns1 3600 IN A  192.0.2.1\",\n"
        "  'www      IN A  192.0.2.10',\n"
        "  \"bad      IN A  192.0.2.300\",\n"
        "]\n"
        "[soa]\n"
        "primary = \"ns1.example.org.\"\n"
        "contact = \"hostmaster.example.org.\"\n"
        "serial = 1\n";
    SECTION("a bad element is reported at its first character") {
        const Loaded r = load(content);
        check_single_error(r, 6, 4, "cannot parse record");
    }
    SECTION("without it the zone loads") {
        std::string good = content;
        good.erase(good.find("  \"bad"), std::string("  \"bad      IN A  192.0.2.300\",\n").size());
        const Loaded r = load(good);
        INFO(r.diagnostics.format_all());
        REQUIRE(r.zone() != nullptr);
        CHECK(types_at(*r.zone(), "www.example.org.") == std::vector<uint16_t>{rrtype::A});
        CHECK(r.zone()->find_rrset(*r.zone()->find(wire("www.example.org.")), rrtype::A)->ttl == 3600);
    }
}

TEST_CASE("every supported record type loads", "[config]") {
    const Loaded r = load(zone_with_records(std::string(kApex) +
        "a         IN A      192.0.2.1\n"
        "a         IN AAAA   2001:db8::1\n"
        "a         IN SSHFP  1 1 123456789abcdef67890123456789abcdef67890\n"
        "cname     IN CNAME  a\n"
        "@         IN MX     10 a\n"
        "@         IN TXT    \"hello\" \"world\"\n"
        "@         IN CAA    0 issue \"letsencrypt.org\"\n"
        "_sip._tcp IN SRV    10 60 5060 a\n"
        "ptr       IN PTR    a.example.net.\n"
        "naptr     IN NAPTR  100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.net!\" .\n"
        "_443._tcp IN TLSA   3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "sub       IN NS     ns.sub\n"
        "sub       IN DS     12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "ns.sub    IN A      192.0.2.80\n"
        "svc       IN SVCB   1 a alpn=h2\n"
        "@         IN HTTPS  1 . alpn=h2,h3\n"
        // TOML needs the backslash of RFC 3597's \# doubled in a basic string.
        "@         IN TYPE65280 \\\\# 2 abcd\n"));
    INFO(r.diagnostics.format_all());
    REQUIRE(r.errors().empty());
    REQUIRE(r.zone() != nullptr);
    const auto& zone = *r.zone();
    CHECK(types_at(zone, "a.example.net.") == std::vector<uint16_t>{rrtype::A, rrtype::AAAA, rrtype::SSHFP});
    CHECK(types_at(zone, "example.net.") ==
          std::vector<uint16_t>{rrtype::NS, rrtype::SOA, rrtype::MX, rrtype::TXT, rrtype::HTTPS, rrtype::CAA, 65280});
    CHECK(types_at(zone, "cname.example.net.") == std::vector<uint16_t>{rrtype::CNAME});
    CHECK(types_at(zone, "_sip._tcp.example.net.") == std::vector<uint16_t>{rrtype::SRV});
    CHECK(types_at(zone, "ptr.example.net.") == std::vector<uint16_t>{rrtype::PTR});
    CHECK(types_at(zone, "naptr.example.net.") == std::vector<uint16_t>{rrtype::NAPTR});
    CHECK(types_at(zone, "_443._tcp.example.net.") == std::vector<uint16_t>{rrtype::TLSA});
    CHECK(types_at(zone, "sub.example.net.") == std::vector<uint16_t>{rrtype::NS, rrtype::DS});
    CHECK(types_at(zone, "svc.example.net.") == std::vector<uint16_t>{rrtype::SVCB});

    const auto* sub = zone.find(wire("sub.example.net."));
    REQUIRE(sub != nullptr);
    CHECK(sub->is_delegation);
    CHECK(zone.find(wire("ns.sub.example.net."))->is_below_cut);

    // MX and SRV targets in the zone are linked for the additional section.
    const auto* mx = zone.find_rrset(zone.apex(), rrtype::MX);
    REQUIRE(mx != nullptr);
    CHECK(zone.rdatas(*mx)[0].target_node != meridian::zone::kNoNode);
    const auto* srv = zone.find_rrset(*zone.find(wire("_sip._tcp.example.net.")), rrtype::SRV);
    REQUIRE(srv != nullptr);
    CHECK(zone.rdatas(*srv)[0].target_node != meridian::zone::kNoNode);
    // SRV rdata is kept uncompressed, target at offset 6 (RFC 2782).
    const auto& srv_rdata = zone.rdatas(*srv)[0];
    CHECK(std::string(reinterpret_cast<const char*>(zone.bytes_of(srv_rdata)) + 6, srv_rdata.size - 6u) ==
          wire("a.example.net."));
}

TEST_CASE("an unknown key is reported with a did-you-mean", "[config]") {
    SECTION("at the root") {
        const Loaded r = load("origin = \"example.net.\"\nttll = 300\nrecords = \"\"\"\n" + std::string(kApex) +
                              "\"\"\"\n" + std::string(kSoa));
        check_single_error(r, 2, 1, "unknown key \"ttll\" in zone (did you mean \"ttl\"?)");
    }
    SECTION("in [soa]") {
        const Loaded r = load(zone_with_records(kApex) + "  retyr = 600\n");
        check_single_error(r, 12, 3, "unknown key \"retyr\" in [soa] (did you mean \"retry\"?)");
    }
    SECTION("far from every known key: no suggestion") {
        const Loaded r = load(zone_with_records(kApex) + "completely_different = 1\n");
        check_single_error(r, 12, 1, "unknown key \"completely_different\" in [soa]");
        CHECK_FALSE(contains(r.errors()[0].message, "did you mean"));
    }
}

TEST_CASE("each zone rule violation is reported at the record that breaks it", "[config]") {
    struct Case {
        const char* what;
        std::string records;  // appended after the apex records (lines 4-6), so they start on line 7
        uint32_t line;
        uint32_t column;
        const char* keyword;
    };
    const std::vector<Case> cases = {
        {"CNAME beside other data", "www IN A 192.0.2.10\nwww IN CNAME ns1\n", 8, 1, "cannot coexist"},
        {"two CNAMEs", "www IN CNAME ns1\nwww IN CNAME ns1.example.org.\n", 8, 1, "more than one CNAME"},
        {"a name outside the origin", "ns1 IN TXT \"x\"\nwww.example.com. IN A 192.0.2.1\n", 8, 1, "is outside the zone origin"},
        {"an in-zone name server without an address", "sub IN NS ns.sub\n", 7, 1, "glue"},
        {"an unknown type", "x IN FOOBAR 1\n", 7, 1, "cannot parse record"},
        {"bad rdata", "x IN A 192.0.2.300\n", 7, 1, "cannot parse record"},
        {"a TTL that is not a number", "x 12x IN A 192.0.2.1\n", 7, 1, "\"12x\" is not a TTL"},
        {"a class other than IN", "x CH A 192.0.2.1\n", 7, 1, "class must be IN"},
        {"DNAME", "x IN DNAME example.org.\n", 7, 1, "DNAME is not supported"},
        {"TTLs that differ within an RRset", "x 300 IN A 192.0.2.1\nx 600 IN A 192.0.2.2\n", 8, 1,
         "differs from 300 of the same RRset"},
        {"a duplicate record", "x IN A 192.0.2.1\nx IN A 192.0.2.1\n", 8, 1, "duplicate record"},
        {"NS on a wildcard", "*.w IN NS ns1\n", 7, 1, "cannot own NS records"},
        {"data below a delegation", "sub IN NS ns.sub\nns.sub IN A 192.0.2.80\nwww.sub IN TXT \"hidden\"\n", 9, 1,
         "only A and AAAA glue"},
        {"data at a delegation", "sub IN NS ns.sub\nns.sub IN A 192.0.2.80\nsub IN TXT \"hidden\"\n", 9, 1,
         "may hold only NS and DS"},
        {"$ORIGIN", "$ORIGIN example.org.\n", 7, 1, "not supported"},
        {"an unclosed parenthesis", "x IN TXT ( \"a\"\n", 7, 10, "never closed"},
    };
    for (const Case& c : cases) {
        SECTION(c.what) {
            const Loaded r = load(zone_with_records(std::string(kApex) + c.records));
            check_single_error(r, c.line, c.column, c.keyword);
        }
    }
}

TEST_CASE("a zone without [soa] or without NS at the apex is reported", "[config]") {
    SECTION("missing [soa]") {
        const Loaded r = load("origin = \"example.net.\"\nrecords = \"\"\"\n@ IN NS ns1\nns1 IN A 192.0.2.1\n\"\"\"\n");
        check_single_error(r, 1, 1, "missing [soa] table");
    }
    SECTION("no NS at the apex: reported at the origin") {
        const Loaded r = load(zone_with_records("www IN A 192.0.2.10\n"));
        check_single_error(r, 1, 10, "no NS records at the apex example.net.");
    }
    SECTION("a missing required [soa] key") {
        const Loaded r = load(zone_with_records(kApex) + "");
        REQUIRE(r.zone() != nullptr);  // the complete zone, as a control
        std::string content = zone_with_records(kApex);
        content.erase(content.find("serial = 2026112701\n"));
        const Loaded broken = load(content);
        check_single_error(broken, 8, 1, "missing \"serial\" in [soa]");  // the [soa] header
    }
}

TEST_CASE("a TOML syntax error is reported at the parser's position", "[config]") {
    const Loaded r = load("origin = \"example.net.\"\nttl = 300\nrecords = \"unterminated\n[soa]\n");
    INFO(r.diagnostics.format_all());
    CHECK(r.zone() == nullptr);
    REQUIRE(r.errors().size() == 1);
    CHECK(r.errors()[0].where.file == r.file);
    // The string is still open at the end of line 3: toml++ stops at the newline, column 24.
    CHECK(r.errors()[0].where.line == 3);
    CHECK(r.errors()[0].where.column == 24);
}

TEST_CASE("a file with several problems reports all of them in one run", "[config]") {
    const Loaded r = load(
        "origin = \"example.net.\"\n"                      // 1
        "tll = 300\n"                                      // 2 unknown key
        "records = \"\"\"\n"                               // 3
        "@    IN NS ns1\n"                                 // 4 glue missing (ns1 has no address)
        "www  IN A 192.0.2.1\n"                            // 5
        "www  IN A 192.0.2.1\n"                            // 6 duplicate
        "out.example.com. IN A 192.0.2.2\n"                // 7 outside
        "bad  IN A nonsense\n"                             // 8 cannot parse
        "\"\"\"\n"                                         // 9
        "[soa]\n"                                          // 10
        "primary = \"ns1.example.net.\"\n"                 // 11
        "contact = \"hostmaster.example.net.\"\n"          // 12
        "serial = 1\n"                                     // 13
        "refesh = 10\n");                                  // 14 unknown key
    INFO(r.diagnostics.format_all());
    CHECK(r.zone() == nullptr);
    CHECK(r.errors().size() == 6);
    CHECK(has_error(r, 2, 1, "unknown key \"tll\""));
    CHECK(has_error(r, 4, 1, "glue"));
    CHECK(has_error(r, 6, 1, "duplicate record"));
    CHECK(has_error(r, 7, 1, "outside"));
    CHECK(has_error(r, 8, 1, "cannot parse record"));
    CHECK(has_error(r, 14, 1, "did you mean \"refresh\""));
}

TEST_CASE("an unreadable zone file is reported with its name", "[config]") {
    Diagnostics diagnostics;
    const auto loaded = meridian::config::load_zone_file("/nonexistent/meridian/zone.toml", &diagnostics);
    CHECK(loaded.zone == nullptr);
    REQUIRE(diagnostics.items().size() == 1);
    CHECK(diagnostics.items()[0].where.file == "/nonexistent/meridian/zone.toml");
}

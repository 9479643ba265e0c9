// Tests for dnssec/key.hpp against the independent tools: keys made by ldns-keygen and
// dnssec-keygen are read (tags as in their file names, public keys as ldns parses them, timing as
// dnssec-settime reports it); keys we write are read back by us, by ldns (the .private), by
// dnssec-dsfromkey (the .key) and dnssec-settime (the timing); malformed files are refused with
// the file named; key file listing, key timing and DS records.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/ldns.hpp"
#include "dnssec/key.hpp"
#include "dnssec_test_support.hpp"
#include "test_support.hpp"

using meridian::dnssec::Algorithm;
using meridian::dnssec::Key;
using meridian::dnssec::KeyTiming;
using meridian::test::TempDir;
using meridian::test::Tool;
namespace dnssec = meridian::dnssec;
namespace test = meridian::test;

namespace {

constexpr int64_t kDay = 86400;

// dnssec-settime -u -p all: BIND's own reading of a key's timing, in seconds since the epoch.
std::map<std::string, std::string> bind_timing(const std::string& base) {
    test::require_tool("/usr/bin/dnssec-settime");
    int status = 0;
    const std::string out = test::run_command("/usr/bin/dnssec-settime -u -p all '" + base + "' 2>&1", &status);
    INFO(out);
    REQUIRE(status == 0);
    std::map<std::string, std::string> fields;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        const auto colon = line.find(':');
        if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 2);
    }
    return fields;
}

std::string as_bind(const std::optional<int64_t>& t) { return t ? std::to_string(*t) : "UNSET"; }

void check_timing_like_bind(const Key& key) {
    const auto fields = bind_timing(key.path);
    CHECK(fields.at("Created") == as_bind(key.timing.created));
    CHECK(fields.at("Publish") == as_bind(key.timing.publish));
    CHECK(fields.at("Activate") == as_bind(key.timing.activate));
    CHECK(fields.at("Inactive") == as_bind(key.timing.inactive));
    CHECK(fields.at("Delete") == as_bind(key.timing.remove));
}

const char* tool_name(Algorithm algorithm) { return algorithm == Algorithm::ed25519 ? "ED25519" : "ECDSAP256SHA256"; }

}  // namespace

TEST_CASE("dnssec: keys made by ldns-keygen and dnssec-keygen are read, with their tags and public keys", "[dnssec]") {
    TempDir dir;
    for (const Tool tool : {Tool::ldns, Tool::bind}) {
        for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
            for (const bool ksk : {false, true}) {
                const std::string base = test::make_tool_key(tool, dir.path(), tool_name(algorithm), ksk);
                INFO(base);
                Key key;
                std::string error;
                REQUIRE(dnssec::read_key(base, "example.com", &key, &error));
                CHECK(error.empty());
                CHECK(key.path == base);
                CHECK(key.algorithm == algorithm);
                CHECK(key.tag == test::tag_in_name(base));
                CHECK(key.is_sep() == ksk);
                CHECK(key.flags == (ksk ? 257 : 256));
                CHECK(key.owner == test::bytes_of(test::wire("example.com.")));
                CHECK(key.private_key != nullptr);
                // ldns's reading of the same .key file: the same DNSKEY rdata, the same tag.
                const auto dnskey = test::ldns_dnskey_from_file(base + ".key");
                CHECK(test::ldns_rdata_wire(dnskey.get()) == key.dnskey_rdata());
                CHECK(ldns_calc_keytag(dnskey.get()) == key.tag);
                CHECK(dnssec::key_tag(key.dnskey_rdata()) == key.tag);
                if (tool == Tool::ldns) {
                    // ldns-keygen writes no timing: published and active from the start, forever.
                    CHECK_FALSE(key.timing.created);
                    CHECK_FALSE(key.timing.publish);
                    CHECK_FALSE(key.timing.activate);
                    CHECK(key.timing.is_published(0));
                    CHECK(key.timing.is_active(4'000'000'000));
                } else {
                    check_timing_like_bind(key);
                    CHECK(key.timing.created);
                }
                // The zone is matched case-insensitively, with or without the trailing dot.
                CHECK(dnssec::read_key(base, "EXAMPLE.com.", &key, &error));
            }
        }
    }
}

TEST_CASE("dnssec: timing metadata from dnssec-keygen -P -A -I -D", "[dnssec]") {
    TempDir dir;
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        SECTION(std::string("absolute times, ") + tool_name(algorithm)) {
            const std::string base =
                test::make_tool_key(Tool::bind, dir.path(), tool_name(algorithm), false, "example.com",
                                    "-P 20300101000000 -A 20300102123000 -I 20300201000000 -D 20300301000000");
            Key key;
            std::string error;
            REQUIRE(dnssec::read_key(base, "example.com", &key, &error));
            // The expected times from the C library's timegm, not from our parser.
            auto utc = [](int year, int month, int day, int hour, int minute) {
                std::tm tm{};
                tm.tm_year = year - 1900;
                tm.tm_mon = month - 1;
                tm.tm_mday = day;
                tm.tm_hour = hour;
                tm.tm_min = minute;
                return static_cast<int64_t>(::timegm(&tm));
            };
            CHECK(key.timing.publish == utc(2030, 1, 1, 0, 0));
            CHECK(key.timing.activate == utc(2030, 1, 2, 12, 30));
            CHECK(key.timing.inactive == utc(2030, 2, 1, 0, 0));
            CHECK(key.timing.remove == utc(2030, 3, 1, 0, 0));
            check_timing_like_bind(key);

            const int64_t publish = utc(2030, 1, 1, 0, 0);
            CHECK_FALSE(key.timing.is_published(publish - 1));
            CHECK(key.timing.is_published(publish));
            CHECK_FALSE(key.timing.is_active(publish));
            CHECK(key.timing.is_active(utc(2030, 1, 2, 12, 30)));
            CHECK_FALSE(key.timing.is_active(utc(2030, 2, 1, 0, 0)));
            CHECK(key.timing.is_published(utc(2030, 2, 1, 0, 0)));
            CHECK_FALSE(key.timing.is_published(utc(2030, 3, 1, 0, 0)));
            CHECK(key.timing.next_event(0) == publish);
            CHECK(key.timing.next_event(publish) == utc(2030, 1, 2, 12, 30));
            CHECK(key.timing.next_event(utc(2030, 2, 1, 0, 0)) == utc(2030, 3, 1, 0, 0));
            CHECK_FALSE(key.timing.next_event(utc(2030, 3, 1, 0, 0)));
        }
        SECTION(std::string("relative times, ") + tool_name(algorithm)) {
            const std::string base = test::make_tool_key(Tool::bind, dir.path(), tool_name(algorithm), true,
                                                         "example.com", "-P now+1d -A now+2d -I now+30d -D now+40d");
            Key key;
            std::string error;
            REQUIRE(dnssec::read_key(base, "example.com", &key, &error));
            check_timing_like_bind(key);
            REQUIRE(key.timing.created);
            CHECK(*key.timing.publish - *key.timing.created == 86400);
            CHECK(*key.timing.activate - *key.timing.created == 2 * kDay);
            CHECK(*key.timing.inactive - *key.timing.created == 30 * kDay);
            CHECK(*key.timing.remove - *key.timing.created == 40 * kDay);
            const int64_t now = std::time(nullptr);
            CHECK_FALSE(key.timing.is_published(now));
            CHECK(key.timing.is_published(now + 86400 + 120));
            CHECK_FALSE(key.timing.is_active(now + 86400 + 120));
        }
    }
}

TEST_CASE("dnssec: KeyTiming without metadata, and with some of it", "[dnssec]") {
    const KeyTiming none;
    CHECK(none.is_published(-1'000'000));
    CHECK(none.is_active(9'000'000'000));
    CHECK_FALSE(none.next_event(0));

    KeyTiming some;
    some.created = 10;  // created is no event
    some.activate = 100;
    some.remove = 300;
    CHECK(some.is_published(0));
    CHECK_FALSE(some.is_active(99));
    CHECK(some.is_active(100));
    CHECK(some.is_active(1000));  // no inactive: active for ever, though no longer published
    CHECK(some.is_published(299));
    CHECK_FALSE(some.is_published(300));
    CHECK(some.next_event(0) == 100);
    CHECK(some.next_event(100) == 300);
    CHECK_FALSE(some.next_event(300));
}

TEST_CASE("dnssec: write_key writes what we, ldns and BIND read back; mode 0600; never overwrites", "[dnssec]") {
    TempDir dir;
    for (const Algorithm algorithm : {Algorithm::ecdsap256sha256, Algorithm::ed25519}) {
        for (const bool sep : {true, false}) {
            INFO(tool_name(algorithm) << (sep ? " KSK" : " ZSK"));
            const int64_t now = std::time(nullptr);
            std::string error;
            Key key = dnssec::generate_key("Example.COM.", algorithm, sep, now, &error);
            REQUIRE(key.private_key != nullptr);
            CHECK(key.timing.created == now);
            CHECK(key.timing.publish == now);
            CHECK(key.timing.activate == now);
            key.timing.inactive = now + 30 * kDay;
            key.timing.remove = now + 40 * kDay;
            REQUIRE(dnssec::write_key(dir.path().string(), &key, &error));
            INFO(error);
            char name[64];
            std::snprintf(name, sizeof name, "Kexample.com.+%03d+%05d", static_cast<int>(algorithm), key.tag);
            CHECK(key.path == (dir.path() / name).string());

            for (const char* suffix : {".key", ".private"}) {
                struct stat st {};
                REQUIRE(::stat((key.path + suffix).c_str(), &st) == 0);
                CHECK((st.st_mode & 0777) == 0600);
            }
            // No temporary file left behind.
            CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                                std::filesystem::directory_iterator()) == 2);

            Key back;
            REQUIRE(dnssec::read_key(key.path, "example.com", &back, &error));
            CHECK(back.dnskey_rdata() == key.dnskey_rdata());
            CHECK(back.tag == key.tag);
            CHECK(back.timing.created == now);
            CHECK(back.timing.inactive == now + 30 * kDay);
            CHECK(back.timing.remove == now + 40 * kDay);

            // ldns reads the .private and derives the same public key from it.
            FILE* fp = std::fopen((key.path + ".private").c_str(), "r");
            REQUIRE(fp != nullptr);
            ldns_key* reader = nullptr;
            const ldns_status status = ldns_key_new_frm_fp(&reader, fp);
            std::fclose(fp);
            REQUIRE(status == LDNS_STATUS_OK);
            ldns_key_set_flags(reader, key.flags);
            ldns_key_set_pubkey_owner(reader, ldns_dname_new_frm_str("example.com."));
            const meridian::ldns::RrPtr ldns_dnskey(ldns_key2rr(reader));
            ldns_key_deep_free(reader);
            REQUIRE(ldns_dnskey != nullptr);
            CHECK(test::ldns_rdata_wire(ldns_dnskey.get()) == key.dnskey_rdata());
            CHECK(ldns_calc_keytag(ldns_dnskey.get()) == key.tag);

            // BIND reads both: dnssec-dsfromkey the .key, dnssec-settime the timing.
            test::require_tool("/usr/bin/dnssec-dsfromkey");
            int exit_status = 0;
            const std::string ds2 = test::run_command("/usr/bin/dnssec-dsfromkey -T 3600 -a SHA-256 '" + key.path +
                                                          ".key' 2>&1",
                                                      &exit_status);
            CHECK(exit_status == 0);
            CHECK(ds2 == dnssec::ds_text(key, 3600, 2));
            const std::string ds4 = test::run_command("/usr/bin/dnssec-dsfromkey -T 86400 -a SHA-384 '" + key.path +
                                                          ".key' 2>&1",
                                                      &exit_status);
            CHECK(exit_status == 0);
            CHECK(ds4 == dnssec::ds_text(key, 86400, 4));
            check_timing_like_bind(back);

            // The .key comments are BIND's.
            const std::string text = test::slurp(key.path + ".key");
            CHECK(text.rfind(std::string("; This is a ") + (sep ? "key-signing" : "zone-signing") + " key, keyid " +
                                 std::to_string(key.tag) + ", for example.com.\n",
                             0) == 0);
            CHECK(text.find("; Created: ") != std::string::npos);
            CHECK(test::slurp(key.path + ".private").rfind("Private-key-format: v1.3\n", 0) == 0);

            // An existing pair is never overwritten.
            Key again = key;
            again.timing.created = 1;
            error.clear();
            CHECK_FALSE(dnssec::write_key(dir.path().string(), &again, &error));
            CHECK(error.find(name) != std::string::npos);
            REQUIRE(dnssec::read_key(key.path, "example.com", &back, &error));
            CHECK(back.timing.created == now);

            std::filesystem::remove(key.path + ".key");
            std::filesystem::remove(key.path + ".private");
        }
    }
}

TEST_CASE("dnssec: write_key refuses a key without its private half", "[dnssec]") {
    TempDir dir;
    std::string error;
    Key key = dnssec::generate_key("example.com", Algorithm::ed25519, false, 0, &error);
    key.private_key = nullptr;
    CHECK_FALSE(dnssec::write_key(dir.path().string(), &key, &error));
    CHECK_FALSE(error.empty());
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("dnssec: malformed key files are refused, naming the file", "[dnssec]") {
    TempDir dir;
    const std::string good = test::make_tool_key(Tool::bind, dir.path(), "ECDSAP256SHA256", false);
    const std::string other = test::make_tool_key(Tool::bind, dir.path(), "ECDSAP256SHA256", false);
    const std::string ed = test::make_tool_key(Tool::bind, dir.path(), "ED25519", false);
    const std::string good_key = test::slurp(good + ".key");
    const std::string good_private = test::slurp(good + ".private");
    const std::string other_private = test::slurp(other + ".private");

    auto private_key_line = [](const std::string& text) {
        const auto at = text.find("PrivateKey: ");
        return text.substr(at, text.find('\n', at) - at);
    };
    auto replace = [](std::string text, const std::string& from, const std::string& to) {
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        return text.replace(at, from.size(), to);
    };
    struct Case {
        const char* what;
        std::string key_text, private_text;
        const char* blamed;  // ".key" or ".private"
        std::string zone = "example.com";
    };
    const std::string key_line_one = good_key.substr(good_key.find("example.com. "));
    const std::vector<Case> cases = {
        {"missing PrivateKey", good_key, replace(good_private, private_key_line(good_private) + "\n", ""), ".private"},
        {"wrong algorithm in .private", good_key, replace(good_private, "Algorithm: 13", "Algorithm: 8"), ".private"},
        {"algorithm of another key", good_key,
         replace(good_private, "Algorithm: 13 (ECDSAP256SHA256)", "Algorithm: 15"), ".private"},
        {"unsupported algorithm in .key", replace(good_key, "DNSKEY 256 3 13", "DNSKEY 256 3 8"), good_private, ".key"},
        {"bad base64 in PrivateKey", good_key, replace(good_private, "PrivateKey: ", "PrivateKey: *"), ".private"},
        {"short PrivateKey", good_key, replace(good_private, private_key_line(good_private), "PrivateKey: AAAA"),
         ".private"},
        {"bad base64 in the public key", replace(good_key, "DNSKEY 256 3 13 ", "DNSKEY 256 3 13 !"), good_private,
         ".key"},
        {"public/private mismatch", good_key, other_private, ".private"},
        {"algorithm mismatch between the files", test::slurp(ed + ".key"), good_private, ".private"},
        {"wrong zone", good_key, good_private, ".key", "example.org"},
        {"truncated .key", good_key.substr(0, good_key.size() - 20), good_private, ".key"},
        {"truncated .key record", good_key.substr(0, good_key.find("DNSKEY") + 10), good_private, ".key"},
        {"truncated .private", good_key, good_private.substr(0, good_private.find("PrivateKey") + 20), ".private"},
        {"empty .key", "", good_private, ".key"},
        {"empty .private", good_key, "", ".private"},
        {"comments only", "; nothing here\n;\n", good_private, ".key"},
        {"two records", good_key + key_line_one, good_private, ".key"},
        {"no format line", good_key, replace(good_private, "Private-key-format: v1.3\n", ""), ".private"},
        {"format v2", good_key, replace(good_private, "v1.3", "v2.0"), ".private"},
        {"bad time", good_key, replace(good_private, "Created: 20", "Created: 2O"), ".private"},
        {"line without a field", good_key, good_private + "garbage\n", ".private"},
        {"protocol 2", replace(good_key, "DNSKEY 256 3 13", "DNSKEY 256 2 13"), good_private, ".key"},
        {"not a zone key", replace(good_key, "DNSKEY 256 3 13", "DNSKEY 1 3 13"), good_private, ".key"},
        {"unbalanced parenthesis", replace(good_key, "DNSKEY 256", "DNSKEY ( 256"), good_private, ".key"},
        {"binary garbage", std::string("\x01\xff\0zz", 5), good_private, ".key"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        const std::string base = (dir.path() / "Kbad").string();
        dir.write("Kbad.key", c.key_text);
        dir.write("Kbad.private", c.private_text);
        Key key;
        key.tag = 4242;
        std::string error;
        CHECK_FALSE(dnssec::read_key(base, c.zone, &key, &error));
        INFO(error);
        CHECK(error.find(base + c.blamed) != std::string::npos);
        CHECK(error.find('\n') == std::string::npos);
        CHECK(key.tag == 4242);  // untouched on failure
    }

    // The line is named where it applies.
    dir.write("Kbad.key", good_key);
    dir.write("Kbad.private", replace(good_private, "Created: 20", "Created: 2O"));
    Key key;
    std::string error;
    CHECK_FALSE(dnssec::read_key((dir.path() / "Kbad").string(), "example.com", &key, &error));
    CHECK(error.find("Kbad.private:4:") != std::string::npos);

    // Missing files.
    CHECK_FALSE(dnssec::read_key((dir.path() / "Knothing").string(), "example.com", &key, &error));
    CHECK(error.find("Knothing.key") != std::string::npos);
    std::filesystem::remove(dir.path() / "Kbad.private");
    CHECK_FALSE(dnssec::read_key((dir.path() / "Kbad").string(), "example.com", &key, &error));
    CHECK(error.find("Kbad.private") != std::string::npos);

    // Variants that are fine: TTL, class, parentheses, split base64, CRLF, other BIND fields.
    dir.write("Kfine.private", good_private + "SyncPublish: 20300101000000\nRevoke: 20300101000000\n");
    const std::string record = good_key.substr(good_key.find("example.com. IN DNSKEY"));
    const std::string fields = record.substr(std::string("example.com. IN DNSKEY ").size());
    for (const std::string& variant : {
             "example.com 3600 IN DNSKEY " + fields,
             "EXAMPLE.COM. IN 3600 DNSKEY " + fields,
             "example.com. DNSKEY " + fields,
             "; comment\n\nexample.com. 60 DNSKEY ( " + fields.substr(0, 20) + "\n  " + fields.substr(20) + " ) ; c\n",
             replace(good_key, "\n", "\r\n"),
         }) {
        INFO(variant);
        dir.write("Kfine.key", variant);
        CHECK(dnssec::read_key((dir.path() / "Kfine").string(), "example.com", &key, &error));
        INFO(error);
        CHECK(key.tag == test::tag_in_name(good));
    }
}

TEST_CASE("dnssec: key_files_in lists a zone's key files, sorted", "[dnssec]") {
    TempDir dir;
    for (const char* name :
         {"Kexample.com.+013+40000.key", "Kexample.com.+013+40000.private", "Kexample.com.+015+00007.key",
          "KExample.COM.+013+12345.key", "Kexample.org.+013+11111.key", "Kwww.example.com.+013+22222.key",
          "Kexample.com.+013+1234.key", "Kexample.com.+013+33333.ds", "Kexample.com.+013+33333.key.tmp.abc",
          "example.com.key"}) {
        dir.write(name, "x");
    }
    std::filesystem::create_directory(dir.path() / "Kexample.com.+013+55555.key");  // not a file
    const std::string d = dir.path().string();
    const std::vector<std::string> expected = {d + "/KExample.COM.+013+12345", d + "/Kexample.com.+013+40000",
                                               d + "/Kexample.com.+015+00007"};
    CHECK(dnssec::key_files_in(d, "example.com") == expected);
    CHECK(dnssec::key_files_in(d, "example.com.") == expected);
    CHECK(dnssec::key_files_in(d, "EXAMPLE.com") == expected);
    CHECK(dnssec::key_files_in(d, "example.org") == std::vector<std::string>{d + "/Kexample.org.+013+11111"});
    CHECK(dnssec::key_files_in(d, "com").empty());
    CHECK(dnssec::key_files_in(d + "/missing", "example.com").empty());
}

TEST_CASE("dnssec: algorithms by name and number", "[dnssec]") {
    CHECK(dnssec::algorithm_from_text("13") == Algorithm::ecdsap256sha256);
    CHECK(dnssec::algorithm_from_text("ECDSAP256SHA256") == Algorithm::ecdsap256sha256);
    CHECK(dnssec::algorithm_from_text("ed25519") == Algorithm::ed25519);
    CHECK(dnssec::algorithm_from_text("15") == Algorithm::ed25519);
    CHECK_FALSE(dnssec::algorithm_from_text("8"));
    CHECK_FALSE(dnssec::algorithm_from_text("ED448"));
    CHECK_FALSE(dnssec::algorithm_from_text(""));
    CHECK(dnssec::algorithm_name(Algorithm::ecdsap256sha256) == "ECDSAP256SHA256");
    CHECK(dnssec::algorithm_name(Algorithm::ed25519) == "ED25519");
}

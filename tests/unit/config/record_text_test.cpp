// Tests for config/record_text: splitting presentation-format text (RFC 1035 §5.1) into records
// with the line and column where each one starts.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "config/record_text.hpp"

using meridian::config::RecordText;
using meridian::config::RecordTextError;
using meridian::config::split_records;

namespace {

// The blank-separated words of a record: what ldns sees, whatever blanks joining added.
std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

struct Split {
    std::vector<RecordText> records;
    std::vector<RecordTextError> errors;
};

// A TOML block string (`records = """…"""`): its common indentation is layout.
Split split(std::string_view text, uint32_t line = 1, uint32_t column = 1, bool is_block = true) {
    Split s;
    s.records = split_records(text, line, column, is_block, &s.errors);
    return s;
}

using Words = std::vector<std::string>;

}  // namespace

TEST_CASE("split_records gives one record per line with its position", "[config]") {
    const Split s = split("www IN A 192.0.2.1\nmail IN MX 10 mx\n\nmx IN A 192.0.2.2\n", 10, 5);
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 3);
    CHECK(s.records[0].text == "www IN A 192.0.2.1");
    CHECK(s.records[0].line == 10);
    CHECK(s.records[0].column == 5);  // the first line starts where the caller says
    CHECK(s.records[1].text == "mail IN MX 10 mx");
    CHECK(s.records[1].line == 11);
    CHECK(s.records[1].column == 1);
    CHECK(s.records[2].text == "mx IN A 192.0.2.2");
    CHECK(s.records[2].line == 13);
    CHECK(s.records[2].column == 1);
}

TEST_CASE("split_records drops comments and comment-only lines", "[config]") {
    const Split s = split("; a comment line\nwww IN A 192.0.2.1 ; trailing comment\n   ; indented comment\n");
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 1);
    CHECK(words(s.records[0].text) == Words{"www", "IN", "A", "192.0.2.1"});
    CHECK(s.records[0].line == 2);
}

TEST_CASE("split_records returns nothing for blank or comment-only text", "[config]") {
    for (const char* text : {"", "\n\n", "   \n\t\n", "; only\n  ; comments"}) {
        CAPTURE(text);
        const Split s = split(text);
        CHECK(s.records.empty());
        CHECK(s.errors.empty());
    }
}

TEST_CASE("split_records joins a parenthesised group into one record", "[config]") {
    const Split s = split(
        "@ IN SOA ns1 hostmaster (\n"
        "      2026112701 ; serial\n"
        "      3600 600 1209600\n"
        "      60 )\n"
        "www IN A 192.0.2.1\n",
        3, 1);
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 2);
    CHECK(words(s.records[0].text) ==
          Words{"@", "IN", "SOA", "ns1", "hostmaster", "2026112701", "3600", "600", "1209600", "60"});
    CHECK(s.records[0].text.find('\n') == std::string::npos);
    CHECK(s.records[0].line == 3);
    CHECK(s.records[1].text == "www IN A 192.0.2.1");
    CHECK(s.records[1].line == 7);  // later records keep their own line
}

TEST_CASE("split_records keeps ';', '(' and ')' inside quoted strings", "[config]") {
    const Split s = split("txt IN TXT \"v=spf1; (not a comment\" \"a)b\" \"say \\\"hi;\\\"\"\nnext IN A 192.0.2.1");
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 2);
    CHECK(s.records[0].text == "txt IN TXT \"v=spf1; (not a comment\" \"a)b\" \"say \\\"hi;\\\"\"");
    CHECK(s.records[1].line == 2);
}

TEST_CASE("split_records marks a more-indented line as continuing the previous owner", "[config]") {
    const Split s = split("www IN A 192.0.2.10\n    IN AAAA 2001:db8::10\n\tIN TXT \"tab\"\n", 1, 1);
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 3);
    CHECK(s.records[0].text.front() == 'w');
    CHECK(s.records[1].text.front() == ' ');
    CHECK(words(s.records[1].text) == Words{"IN", "AAAA", "2001:db8::10"});
    CHECK(s.records[1].line == 2);
    CHECK(s.records[1].column == 5);
    CHECK(s.records[2].text.front() == ' ');
    CHECK(s.records[2].column == 2);
}

TEST_CASE("split_records removes the indentation common to every line", "[config]") {
    // The TOML layout indents the whole block; only deeper indentation means "same owner".
    const Split s = split(
        "    @    IN NS ns1\n"
        "; a comment at column 1 does not count\n"
        "    ns1  IN A  192.0.2.53\n"
        "         IN AAAA 2001:db8::53\n"
        "\n"
        "    www  IN A  192.0.2.10\n",
        20, 1);
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 4);
    CHECK(s.records[0].text.front() == '@');
    CHECK(s.records[0].line == 20);
    CHECK(s.records[0].column == 5);
    CHECK(s.records[1].text.front() == 'n');
    CHECK(s.records[1].line == 22);
    CHECK(s.records[2].text.front() == ' ');
    CHECK(s.records[2].line == 23);
    CHECK(s.records[2].column == 10);
    CHECK(s.records[3].text.front() == 'w');
    CHECK(s.records[3].line == 25);
}

TEST_CASE("split_records keeps leading blanks as omitted owners outside a block", "[config]") {
    // One string per record (the array form): any leading blank means "previous owner".
    const Split s = split("    IN AAAA 2001:db8::10", 4, 6, false);
    REQUIRE(s.errors.empty());
    REQUIRE(s.records.size() == 1);
    CHECK(s.records[0].text.front() == ' ');
    CHECK(words(s.records[0].text) == Words{"IN", "AAAA", "2001:db8::10"});
    CHECK(s.records[0].line == 4);
    CHECK(s.records[0].column == 10);

    const Split block = split("    www IN A 192.0.2.1", 4, 6, true);
    REQUIRE(block.records.size() == 1);
    CHECK(block.records[0].text == "www IN A 192.0.2.1");
}

TEST_CASE("split_records refuses $ directives with their position", "[config]") {
    for (const char* directive : {"$ORIGIN example.net.", "$TTL 60", "$INCLUDE other.zone"}) {
        CAPTURE(directive);
        const Split s = split(std::string("www IN A 192.0.2.1\n  ") + directive + "\nmail IN A 192.0.2.2\n", 7, 1);
        REQUIRE(s.errors.size() == 1);
        CHECK(s.errors[0].line == 8);
        CHECK(s.errors[0].column == 3);
        CHECK(s.errors[0].message.find("not supported") != std::string::npos);
        // The records around it are still returned, so that every problem gets reported.
        REQUIRE(s.records.size() == 2);
        CHECK(s.records[1].line == 9);
    }
}

TEST_CASE("split_records reports an unclosed parenthesis where it opens", "[config]") {
    const Split s = split("www IN A 192.0.2.1\n@ IN SOA a b ( 1 2\n 3 4 5\n", 4, 1);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].line == 5);
    CHECK(s.errors[0].column == 14);
    CHECK(s.errors[0].message.find("never closed") != std::string::npos);
}

TEST_CASE("split_records reports a closing parenthesis without an opening one", "[config]") {
    const Split s = split("www IN A 192.0.2.1 )\n", 1, 1);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].line == 1);
    CHECK(s.errors[0].column == 20);
}

TEST_CASE("split_records reports a quoted string left open at the end of its line", "[config]") {
    const Split s = split("www IN A 192.0.2.1\n  t IN TXT \"open\nmail IN A 192.0.2.2\n", 2, 1, false);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].line == 3);  // where the record starts
    CHECK(s.errors[0].column == 3);
    CHECK(s.errors[0].message.find("quoted string") != std::string::npos);
    // The broken record is reported once, not handed on to be parsed; the next line is intact.
    REQUIRE(s.records.size() == 2);
    CHECK(s.records[0].text == "www IN A 192.0.2.1");
    CHECK(s.records[1].text == "mail IN A 192.0.2.2");
    CHECK(s.records[1].line == 4);
}

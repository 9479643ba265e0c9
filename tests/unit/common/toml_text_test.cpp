// Tests for common/toml_text: the scan that keeps toml++ 3.3 away from the non-ASCII characters it
// mishandles. Non-ASCII text is fine in comments and every kind of string; anywhere else (and
// right after a line-ending backslash of a multi-line string) its position is reported.
#include <catch2/catch.hpp>

#include <string>

#include "common/toml_text.hpp"

using meridian::non_ascii_outside_toml_strings;

TEST_CASE("non-ASCII text inside comments and strings passes", "[common]") {
    for (const char* text : {"# Zürich — Genève\nkey = 1\n", "a = \"Zürich\"\n", "a = 'Zürich'\n",
                             "a = \"\"\"\nZürich \\\"\"\" é\n\"\"\"\n", "a = '''\nZürich ' é\n'''\n",
                             "\"ключ\" = 1 # é\n", "a = \"\\\"é\"\n", "x = 1 # \xcc\x8c\n"}) {
        CAPTURE(text);
        CHECK_FALSE(non_ascii_outside_toml_strings(text).has_value());
    }
}

TEST_CASE("non-ASCII text outside strings and comments is reported at its line and column", "[common]") {
    // The fuzzer's input: a bare key with U+030C, which toml++ 3.3 reaches undefined behaviour on.
    const auto fuzzed = non_ascii_outside_toml_strings(std::string("ap\xcc\x8c=: z\x01\x01.", 11));
    REQUIRE(fuzzed.has_value());
    CHECK(fuzzed->line == 1);
    CHECK(fuzzed->column == 3);
    const auto later = non_ascii_outside_toml_strings("a = \"é\" # é\nb = 1 é\n");
    REQUIRE(later.has_value());
    CHECK(later->line == 2);
    CHECK(later->column == 7);
    const auto after_string = non_ascii_outside_toml_strings("a = 'x'é\n");
    REQUIRE(after_string.has_value());
    CHECK(after_string->column == 8);
}

TEST_CASE("after a line-ending backslash of a multi-line string, the next character must be ASCII", "[common]") {
    const auto bad = non_ascii_outside_toml_strings("a = \"\"\"x \\\n   é\"\"\"\n");
    REQUIRE(bad.has_value());
    CHECK(bad->line == 2);
    CHECK(bad->column == 4);
    CHECK_FALSE(non_ascii_outside_toml_strings("a = \"\"\"x \\\n   yé\"\"\"\n").has_value());
}

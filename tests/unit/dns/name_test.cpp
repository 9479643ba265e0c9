// Tests for dns/name: decompressing names out of packets (RFC 1035 §4.1.4) and the helpers on
// uncompressed wire names.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "test_support.hpp"

using meridian::dns::label_offsets;
using meridian::dns::NameBuffer;
using meridian::dns::NameError;
using meridian::dns::read_name;
using meridian::dns::skip_name;
using meridian::test::wire;

namespace {

// A packet: 12 zero bytes of header, then the given bytes.
std::vector<uint8_t> packet(std::string_view body) {
    const std::string bytes = std::string(12, '\0') + std::string(body);
    return meridian::test::bytes_of(bytes);
}

std::string label(std::size_t length, char c = 'a') { return static_cast<char>(length) + std::string(length, c); }

struct ReadResult {
    NameError error;
    std::size_t offset;
    std::string name;
};

ReadResult read_at(const std::vector<uint8_t>& p, std::size_t offset) {
    NameBuffer out;
    const NameError error = read_name(p.data(), p.size(), &offset, &out);
    return {error, offset, error == NameError::none ? std::string(out.view()) : std::string()};
}

}  // namespace

TEST_CASE("read_name reads an uncompressed name and moves the offset past it", "[dns]") {
    const auto p = packet(wire("www.Example.com.") + std::string("\x00\x01", 2));
    const ReadResult r = read_at(p, 12);
    REQUIRE(r.error == NameError::none);
    CHECK(r.name == wire("www.Example.com."));  // case is kept; lowering is the caller's job
    CHECK(r.offset == 12 + 17);
}

TEST_CASE("read_name reads the root name as a single zero byte", "[dns]") {
    const auto p = packet(std::string("\0", 1));
    const ReadResult r = read_at(p, 12);
    REQUIRE(r.error == NameError::none);
    CHECK(r.name == std::string("\0", 1));
    CHECK(r.offset == 13);
}

TEST_CASE("read_name follows backward pointers and resumes right after the first one", "[dns]") {
    // 12: example.com.   25: www + pointer to 12   31: mail + pointer to 25 (a chain)
    const auto p = packet(wire("example.com.") + "\3www\xC0\x0C" + "\4mail\xC0\x19" + "\xAA\xBB");

    SECTION("one pointer") {
        const ReadResult r = read_at(p, 25);
        REQUIRE(r.error == NameError::none);
        CHECK(r.name == wire("www.example.com."));
        CHECK(r.offset == 31);
    }
    SECTION("a pointer to a name that itself ends in a pointer") {
        const ReadResult r = read_at(p, 31);
        REQUIRE(r.error == NameError::none);
        CHECK(r.name == wire("mail.www.example.com."));
        CHECK(r.offset == 38);  // after the first pointer, not after the last label read
    }
    SECTION("a name that is only a pointer") {
        const auto q = packet(wire("example.com.") + "\xC0\x0C");
        const ReadResult r = read_at(q, 25);
        REQUIRE(r.error == NameError::none);
        CHECK(r.name == wire("example.com."));
        CHECK(r.offset == 27);
    }
    SECTION("a pointer into the middle of an earlier name") {
        const auto q = packet(wire("www.example.com.") + "\3ftp\xC0\x10");  // 16 is "example"
        const ReadResult r = read_at(q, 29);
        REQUIRE(r.error == NameError::none);
        CHECK(r.name == wire("ftp.example.com."));
        CHECK(r.offset == 35);
    }
}

TEST_CASE("read_name and skip_name reject malformed names", "[dns]") {
    struct Case {
        const char* what;
        std::string body;  // after the 12-byte header
        std::size_t offset;
        NameError expected;
    };
    const std::vector<Case> cases = {
        {"a pointer to itself", "\xC0\x0C", 12, NameError::bad_pointer},
        {"two pointers to each other", std::string("\xC0\x0E\xC0\x0C"), 14, NameError::bad_pointer},
        {"two pointers to each other, read from the first", std::string("\xC0\x0E\xC0\x0C"), 12,
         NameError::bad_pointer},
        {"a forward pointer to a valid name", "\xC0\x0E" + wire("com."), 12, NameError::bad_pointer},
        {"a pointer back to the start of its own name", "\1a\xC0\x0C", 12, NameError::bad_pointer},
        {"a pointer back into its own name", "\1a\1b\xC0\x0E", 12, NameError::bad_pointer},
        {"a pointer that loops through an earlier name", std::string("\1a\xC0\x10\1b\xC0\x0C"), 16,
         NameError::bad_pointer},
        {"a pointer past the end of the packet", "\xC0\xFF", 12, NameError::bad_pointer},
        {"the packet ends inside a label", "\3www\7exa", 12, NameError::truncated},
        {"the packet ends before the root label", "\3www", 12, NameError::truncated},
        {"the packet ends inside a pointer", "\3www\xC0", 12, NameError::truncated},
        {"the offset is at the end of the packet", "", 12, NameError::truncated},
        {"a pointer to a label that runs off the end", "\5ab\xC0\x0C", 15, NameError::truncated},
        {"label type 0x40 (extended label)", "\x41" + std::string(1, 'a') + '\0', 12, NameError::bad_label_type},
        {"label type 0x80", "\x81" + std::string(1, 'a') + '\0', 12, NameError::bad_label_type},
        {"label type 0x40 after a normal label", "\3www\x40", 12, NameError::bad_label_type},
    };
    for (const Case& c : cases) {
        SECTION(c.what) {
            const auto p = packet(c.body);
            const ReadResult r = read_at(p, c.offset);
            CHECK(r.error == c.expected);
            CHECK(r.offset == c.offset);  // untouched on error

            std::size_t offset = c.offset;
            CHECK(skip_name(p.data(), p.size(), &offset) == c.expected);
        }
    }
}

TEST_CASE("read_name enforces the 255-byte limit on the decompressed name", "[dns]") {
    // 3 × 63-byte labels take 192 bytes; the fourth label and the root make up the rest.
    const std::string three = label(63) + label(63, 'b') + label(63, 'c');

    SECTION("exactly 255 bytes is accepted") {
        const std::string name = three + label(61, 'd') + '\0';
        REQUIRE(name.size() == 255);
        const ReadResult r = read_at(packet(name), 12);
        REQUIRE(r.error == NameError::none);
        CHECK(r.name == name);
        CHECK(r.offset == 12 + 255);
    }
    SECTION("256 bytes is too long") {
        const std::string name = three + label(62, 'd') + '\0';
        REQUIRE(name.size() == 256);
        CHECK(read_at(packet(name), 12).error == NameError::too_long);
    }
    SECTION("255 bytes reached through a pointer is accepted") {
        // 12: a 200-byte name; then 55 bytes of labels and a pointer to it.
        const std::string target = label(63) + label(63) + label(63) + label(7) + '\0';
        REQUIRE(target.size() == 201);
        const std::string prefix = label(53, 'p');  // 54 bytes: 54 + 201 = 255
        const auto p = packet(target + prefix + "\xC0\x0C");
        const ReadResult r = read_at(p, 12 + 201);
        REQUIRE(r.error == NameError::none);
        CHECK(r.name.size() == 255);
        CHECK(r.offset == 12 + 201 + 54 + 2);
    }
    SECTION("256 bytes reached through a pointer is too long") {
        const std::string target = label(63) + label(63) + label(63) + label(7) + '\0';
        const std::string prefix = label(54, 'p');  // 55 + 201 = 256
        const auto p = packet(target + prefix + "\xC0\x0C");
        CHECK(read_at(p, 12 + 201).error == NameError::too_long);
        std::size_t offset = 12 + 201;
        CHECK(skip_name(p.data(), p.size(), &offset) == NameError::too_long);
    }
}

TEST_CASE("skip_name moves the offset exactly as read_name does", "[dns]") {
    const auto p = packet(wire("example.com.") + "\3www\xC0\x0C" + "\xAA");
    for (const std::size_t start : {std::size_t{12}, std::size_t{25}}) {
        std::size_t skipped = start;
        REQUIRE(skip_name(p.data(), p.size(), &skipped) == NameError::none);
        CHECK(skipped == read_at(p, start).offset);
    }
}

TEST_CASE("lowercase_name folds only ASCII letters in labels", "[dns]") {
    // '@' and '[' sit just outside 'A'..'Z'; 0xC1 is not ASCII.
    std::string name = std::string("\4WwW@\3[Z\xC1\3COM") + '\0';
    meridian::dns::lowercase_name(reinterpret_cast<uint8_t*>(name.data()), name.size());
    CHECK(name == std::string("\4www@\3[z\xC1\3com") + '\0');
}

TEST_CASE("label_offsets gives the start of every label including the root", "[dns]") {
    std::array<uint8_t, meridian::dns::kMaxLabels> offsets{};
    SECTION("www.example.com.") {
        const std::string name = wire("www.example.com.");
        REQUIRE(label_offsets(meridian::test::u8(name), name.size(), &offsets) == 4);
        CHECK(offsets[0] == 0);
        CHECK(offsets[1] == 4);
        CHECK(offsets[2] == 12);
        CHECK(offsets[3] == 16);
    }
    SECTION("the root") {
        const std::string name = wire(".");
        REQUIRE(label_offsets(meridian::test::u8(name), name.size(), &offsets) == 1);
        CHECK(offsets[0] == 0);
    }
    SECTION("127 one-byte labels and the root: the most a 255-byte name can hold") {
        std::string name;
        for (int i = 0; i < 127; ++i) name += label(1);
        name += '\0';
        REQUIRE(name.size() == 255);
        REQUIRE(label_offsets(meridian::test::u8(name), name.size(), &offsets) == 128);
        CHECK(offsets[127] == 254);
    }
}

TEST_CASE("count_labels counts the root as a label", "[dns]") {
    struct Case {
        const char* text;
        std::size_t labels;
    };
    for (const Case c : {Case{".", 1}, Case{"com.", 2}, Case{"www.example.com.", 4}}) {
        CAPTURE(c.text);
        CHECK(meridian::dns::count_labels(wire(c.text)) == c.labels);
    }
}

TEST_CASE("is_subdomain matches suffixes only on label boundaries", "[dns]") {
    struct Case {
        std::string name;
        std::string ancestor;
        bool expected;
    };
    const std::vector<Case> cases = {
        {wire("www.example.com."), wire("example.com."), true},
        {wire("a.b.example.com."), wire("example.com."), true},
        {wire("example.com."), wire("example.com."), true},
        {wire("example.com."), wire("."), true},
        {wire("."), wire("."), true},
        {wire("ample.com."), wire("example.com."), false},
        {wire("example.com."), wire("ample.com."), false},
        {wire("wwwexample.com."), wire("example.com."), false},
        {wire("com."), wire("example.com."), false},
        {wire("example.org."), wire("example.com."), false},
        // One label "a\3com": its last five bytes equal "\3com\0" but do not start a label.
        {std::string("\5a\3com", 6) + '\0', wire("com."), false},
    };
    for (const Case& c : cases) {
        CAPTURE(meridian::dns::name_to_text(c.name), meridian::dns::name_to_text(c.ancestor));
        CHECK(meridian::dns::is_subdomain(c.name, c.ancestor) == c.expected);
    }
}

TEST_CASE("name_to_text writes absolute names and escapes special bytes", "[dns]") {
    struct Case {
        std::string wire_name;
        std::string text;
    };
    const std::vector<Case> cases = {
        {wire("."), "."},
        {wire("www.Example.com."), "www.Example.com."},
        {std::string("\3a.b", 4) + wire("com."), "a\\.b.com."},
        {std::string("\3a\\b", 4) + wire("."), "a\\\\b."},
        {std::string("\3a b", 4) + wire("."), "a\\032b."},
        {std::string("\3a\0b", 4) + wire("."), "a\\000b."},
        {std::string("\2\x7F\xFF", 3) + wire("."), "\\127\\255."},
        {std::string("\1*", 2) + wire("example."), "*.example."},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        CHECK(meridian::dns::name_to_text(c.wire_name) == c.text);
    }
}

// Tests for probes/state_file: region states written by outside systems for `file` checks, in
// JSON or (by the file name) TOML (docs/HEALTH.md, "State files"). A file that cannot be read or
// parsed is an error naming the file and changes nothing.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "health/health_test_support.hpp"
#include "health/state.hpp"
#include "probes/state_file.hpp"
#include "test_support.hpp"

using meridian::health::State;
using meridian::probes::read_state_file;
using meridian::probes::StateFileEntry;
using meridian::test::TempDir;

namespace {

using Entries = std::map<std::string, StateFileEntry>;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A marker entry: a failed read must leave it in place.
Entries untouched() { return {{"marker", StateFileEntry{State::degraded, "before"}}}; }

// The file's name is part of every error, so failed reads are checked for it and for `keyword`.
void check_rejected(const TempDir& dir, const std::string& name, const std::string& content, const std::string& keyword) {
    CAPTURE(name, content);
    const std::string path = dir.write(name, content).string();
    Entries entries = untouched();
    std::string error;
    CHECK_FALSE(read_state_file(path, &entries, &error));
    CAPTURE(error);
    CHECK(error.rfind(path + ":", 0) == 0);
    CHECK(contains(error, keyword));
    REQUIRE(entries.size() == 1);
    CHECK(entries.count("marker") == 1);
    CHECK(entries["marker"].reason == "before");
}

}  // namespace

TEST_CASE("a JSON state file gives each named region its state and a reason", "[probes]") {
    TempDir dir;
    const std::string path =
        dir.write("shop.health.json",
                  R"({"regions": {"eu-west-1": "down", "us-east-1": {"state": "degraded", "reason": "maintenance"},
                      "ap-south-1": {"state": "up"}}})")
            .string();
    Entries entries = untouched();
    std::string error;
    REQUIRE(read_state_file(path, &entries, &error));
    CHECK(error.empty());
    REQUIRE(entries.size() == 3);  // the marker is gone: the file replaces what was there
    CHECK(entries["eu-west-1"].state == State::unhealthy);
    CHECK(entries["eu-west-1"].reason == "state file says down");
    CHECK(entries["us-east-1"].state == State::degraded);
    CHECK(entries["us-east-1"].reason == "maintenance");
    CHECK(entries["ap-south-1"].state == State::healthy);
    CHECK(entries["ap-south-1"].reason == "state file says up");
}

TEST_CASE("state words: up and healthy, degraded, down and unhealthy", "[probes]") {
    struct Row {
        const char* word;
        State state;
    };
    TempDir dir;
    for (const Row row : {Row{"up", State::healthy}, Row{"healthy", State::healthy}, Row{"degraded", State::degraded},
                          Row{"down", State::unhealthy}, Row{"unhealthy", State::unhealthy}}) {
        CAPTURE(row.word);
        for (const bool as_object : {false, true}) {
            CAPTURE(as_object);
            const std::string value = as_object ? std::string(R"({"state": ")") + row.word + "\"}" : std::string("\"") + row.word + "\"";
            const std::string path = dir.write("states.json", R"({"regions": {"r": )" + value + "}}").string();
            Entries entries;
            std::string error;
            REQUIRE(read_state_file(path, &entries, &error));
            REQUIRE(entries.count("r") == 1);
            CHECK(entries["r"].state == row.state);
            CHECK(entries["r"].reason == std::string("state file says ") + row.word);
        }
    }
}

TEST_CASE("a state file whose name ends in .toml is read as TOML", "[probes]") {
    TempDir dir;
    const std::string path = dir.write("shop.health.toml",
                                       "[regions]\n"
                                       "eu-west-1 = \"down\"\n"
                                       "ap-south-1 = \"healthy\"\n"
                                       "[regions.us-east-1]\n"
                                       "state = \"degraded\"\n"
                                       "reason = \"maintenance\"\n")
                                 .string();
    Entries entries;
    std::string error;
    REQUIRE(read_state_file(path, &entries, &error));
    INFO(error);
    REQUIRE(entries.size() == 3);
    CHECK(entries["eu-west-1"].state == State::unhealthy);
    CHECK(entries["ap-south-1"].state == State::healthy);
    CHECK(entries["us-east-1"].state == State::degraded);
    CHECK(entries["us-east-1"].reason == "maintenance");
}

TEST_CASE("an empty regions table names no region", "[probes]") {
    TempDir dir;
    Entries entries = untouched();
    std::string error;
    REQUIRE(read_state_file(dir.write("empty.json", R"({"regions": {}})").string(), &entries, &error));
    CHECK(entries.empty());
}

TEST_CASE("a state file that cannot be parsed or understood is an error naming the file and changes nothing",
          "[probes]") {
    TempDir dir;
    struct Row {
        const char* name;
        const char* content;
        const char* keyword;
    };
    const Row rows[] = {
        {"unknown-state.json", R"({"regions": {"eu": "sideways"}})", "unknown state \"sideways\""},
        {"unknown-in-object.json", R"({"regions": {"eu": {"state": "maybe"}}})", "unknown state \"maybe\""},
        {"no-regions.json", R"({"region": {"eu": "down"}})", "\"regions\""},
        {"regions-not-object.json", R"({"regions": ["eu"]})", "\"regions\""},
        {"top-level-array.json", R"([{"regions": {}}])", "\"regions\""},
        {"state-a-number.json", R"({"regions": {"eu": 3}})", "\"eu\""},
        {"object-without-state.json", R"({"regions": {"eu": {"reason": "x"}}})", "\"eu\""},
        {"not-json.json", "regions: eu down", "not valid JSON"},
        {"empty.json", "", "not valid JSON"},
        {"truncated.json", R"({"regions": {"eu": "down")", "not valid JSON"},
        {"unknown-state.toml", "[regions]\neu = \"sideways\"\n", "unknown state \"sideways\""},
        {"no-regions.toml", "[zones]\neu = \"down\"\n", "\"regions\""},
    };
    for (const Row& row : rows) check_rejected(dir, row.name, row.content, row.keyword);
}

TEST_CASE("a TOML syntax error points at the file, line and column", "[probes]") {
    TempDir dir;
    const std::string path = dir.write("broken.toml", "[regions]\neu = \"down\"\nus = \n").string();
    Entries entries = untouched();
    std::string error;
    CHECK_FALSE(read_state_file(path, &entries, &error));
    CAPTURE(error);
    CHECK(error.rfind(path + ":3:", 0) == 0);
    CHECK(entries.count("marker") == 1);
}

TEST_CASE("an unreadable state file is an error naming the path", "[probes]") {
    TempDir dir;
    SECTION("a file that does not exist") {
        const std::string path = (dir.path() / "missing.json").string();
        Entries entries = untouched();
        std::string error;
        CHECK_FALSE(read_state_file(path, &entries, &error));
        CAPTURE(error);
        CHECK(error.rfind(path + ":", 0) == 0);
        CHECK(entries.count("marker") == 1);
    }
    SECTION("a directory") {
        const std::string path = dir.path().string();
        Entries entries = untouched();
        std::string error;
        CHECK_FALSE(read_state_file(path, &entries, &error));
        CAPTURE(error);
        CHECK(error.rfind(path + ":", 0) == 0);
        CHECK(entries.count("marker") == 1);
    }
}

TEST_CASE("a state file may give a region's load and latency, as numbers from 0 to 100000", "[probes]") {
    TempDir dir;
    const std::string path =
        dir.write("shop.health.json",
                  R"({"regions": {"us-east-1": {"state": "up", "load": 0.72, "latency_ms": 38.5},
                      "eu-west-1": {"state": "up", "load": 0}, "ap-south-1": "up"}})")
            .string();
    Entries entries;
    std::string error;
    REQUIRE(read_state_file(path, &entries, &error));
    CHECK(entries["us-east-1"].has_load);
    CHECK(entries["us-east-1"].load == 0.72);
    CHECK(entries["us-east-1"].has_latency);
    CHECK(entries["us-east-1"].latency_ms == 38.5);
    CHECK(entries["eu-west-1"].has_load);
    CHECK(entries["eu-west-1"].load == 0);
    CHECK_FALSE(entries["eu-west-1"].has_latency);
    CHECK_FALSE(entries["ap-south-1"].has_load);
    CHECK_FALSE(entries["ap-south-1"].has_latency);

    for (const char* bad : {R"("load": "high")", R"("load": -1)", R"("latency_ms": 100001)", R"("latency_ms": null)"}) {
        check_rejected(dir, "bad.health.json", std::string(R"({"regions": {"r": {"state": "up", )") + bad + "}}}",
                       "region \"r\" has \"");
    }
}

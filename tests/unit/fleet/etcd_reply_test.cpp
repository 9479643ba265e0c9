// Tests for fleet/etcd_reply: etcd 3.4's JSON gateway replies read without I/O. The replies are
// the gateway's own, captured from etcd 3.4.23 with curl (ids and revisions as JSON strings).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fleet/etcd_reply.hpp"

using meridian::fleet::base64_decode;
using meridian::fleet::base64_encode;
using meridian::fleet::json_int64;
using meridian::fleet::parse_error;
using meridian::fleet::parse_range;
using meridian::fleet::prefix_range_end;
using meridian::fleet::take_watch_frames;
using meridian::fleet::WatchEvent;
using meridian::fleet::WatchFrame;

namespace {

constexpr const char* kHeader =
    R"("header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"5","raft_term":"2"})";

std::string range_reply(const std::string& kvs) { return std::string("{") + kHeader + kvs + R"(,"count":"1"})"; }

}  // namespace

TEST_CASE("base64 both ways, as the gateway encodes keys and values", "[fleet]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode(std::string("\0\xff\xfe", 3)) == "AP/+");
    for (const std::string& text : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                                    std::string("/meridian/nodes/\0\xff", 18)}) {
        CAPTURE(text);
        CHECK(base64_decode(base64_encode(text)) == text);
    }
    CHECK(base64_decode("Zg") == "f");  // padding left out
    CHECK_FALSE(base64_decode("Z").has_value());
    CHECK_FALSE(base64_decode("Zm9v!").has_value());
    CHECK_FALSE(base64_decode("Zh==").has_value());  // stray bits
    CHECK_FALSE(base64_decode("Zg=").has_value());   // padding that does not fit
    CHECK_FALSE(base64_decode("Zg===").has_value());
    CHECK_FALSE(base64_decode("Zm9v\n").has_value());
}

TEST_CASE("json_int64 reads int64 fields written as strings or numbers", "[fleet]") {
    using nlohmann::json;
    CHECK(json_int64(json("2324035863226354440")) == 2324035863226354440);
    CHECK(json_int64(json(5)) == 5);
    CHECK(json_int64(json("-3")) == -3);
    CHECK(json_int64(json()) == 0);
    CHECK(json_int64(json("9223372036854775807")) == INT64_MAX);
    CHECK_FALSE(json_int64(json("9223372036854775808")).has_value());
    CHECK_FALSE(json_int64(json(18446744073709551615ULL)).has_value());
    CHECK_FALSE(json_int64(json("")).has_value());
    CHECK_FALSE(json_int64(json("12a")).has_value());
    CHECK_FALSE(json_int64(json(" 12")).has_value());
    CHECK_FALSE(json_int64(json(1.5)).has_value());
    CHECK_FALSE(json_int64(json(true)).has_value());
    CHECK_FALSE(json_int64(json::array()).has_value());
}

TEST_CASE("parse_range reads kvs with ids as strings or numbers, and no kvs as none", "[fleet]") {
    SECTION("strings, as etcd writes them") {
        const auto result = parse_range(
            200,
            range_reply(
                R"(,"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3","value":"YmFy","lease":"7587869346381428746"}])"));
        REQUIRE(result.error.is_ok);
        CHECK(result.revision == 5);
        REQUIRE(result.kvs.size() == 1);
        CHECK(result.kvs[0].key == "foo");
        CHECK(result.kvs[0].value == "bar");
        CHECK(result.kvs[0].create_revision == 2);
        CHECK(result.kvs[0].mod_revision == 4);
        CHECK(result.kvs[0].version == 3);
        CHECK(result.kvs[0].lease == 7587869346381428746);
    }
    SECTION("numbers") {
        const auto result = parse_range(
            200,
            R"({"header":{"revision":9},"kvs":[{"key":"YQ==","value":"","create_revision":1,"mod_revision":9,"version":1},{"key":"Yg=="}]})");
        REQUIRE(result.error.is_ok);
        CHECK(result.revision == 9);
        REQUIRE(result.kvs.size() == 2);
        CHECK(result.kvs[0].key == "a");
        CHECK(result.kvs[0].value.empty());
        CHECK(result.kvs[0].mod_revision == 9);
        CHECK(result.kvs[1].key == "b");  // every other field left out: zero, empty
        CHECK(result.kvs[1].value.empty());
        CHECK(result.kvs[1].lease == 0);
    }
    SECTION("no kvs at all (nothing under the prefix), or null") {
        auto result = parse_range(200, std::string("{") + kHeader + "}");
        REQUIRE(result.error.is_ok);
        CHECK(result.kvs.empty());
        CHECK(result.revision == 5);
        result = parse_range(200, R"({"kvs":null})");
        REQUIRE(result.error.is_ok);
        CHECK(result.revision == 0);
    }
}

TEST_CASE("parse_range refuses what it cannot read, with a reason", "[fleet]") {
    for (const std::string& body :
         {std::string("garbage"), std::string(""), std::string("[]"), std::string(R"({"kvs":{}})"),
          std::string(R"({"kvs":[{"key":"!!"}]})"), std::string(R"({"kvs":[{"key":"YQ==","version":"x"}]})"),
          std::string(R"({"kvs":[{"key":"YQ==","version":1.5}]})"), std::string(R"({"kvs":[7]})"),
          std::string(R"({"kvs":[{"key":5}]})")}) {
        CAPTURE(body);
        const auto result = parse_range(200, body);
        CHECK_FALSE(result.error.is_ok);
        CHECK(result.error.message.rfind("etcd: ", 0) == 0);
        CHECK(result.kvs.empty());
    }
    const auto refused = parse_range(
        400,
        R"({"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11})");
    CHECK_FALSE(refused.error.is_ok);
    CHECK(refused.error.message == "etcd: etcdserver: mvcc: required revision is a future revision");
    CHECK(refused.error.code == 11);
}

TEST_CASE("parse_error reads etcd's error bodies and anything else as HTTP errors", "[fleet]") {
    auto error = parse_error(
        404,
        R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})");
    CHECK_FALSE(error.is_ok);
    CHECK(error.message == "etcd: etcdserver: requested lease not found");
    CHECK(error.code == 5);

    error = parse_error(
        401, R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})");
    CHECK(error.message == "etcd: etcdserver: invalid auth token");
    CHECK(error.code == 16);

    // A stream's error (grpc-gateway): an object.
    error = parse_error(
        200,
        R"({"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}})");
    CHECK_FALSE(error.is_ok);
    CHECK(error.message == "etcd: transport is closing");
    CHECK(error.code == 14);

    error = parse_error(200, R"({"error":"","ID":"1","TTL":"5"})");  // LeaseGrantResponse's empty error field
    CHECK(error.is_ok);
    CHECK(parse_error(200, std::string("{") + kHeader + "}").is_ok);

    error = parse_error(503, "<html>\n<body>Service Unavailable</body>\n</html>");
    CHECK_FALSE(error.is_ok);
    CHECK(error.message == "etcd: HTTP 503: <html> <body>Service Unavailable</body> </html>");
    CHECK(parse_error(502, "").message == "etcd: HTTP 502");
    CHECK(parse_error(200, "not json").message == "etcd: unreadable reply: not json");
    CHECK(parse_error(500, R"({"error":{},"code":2})").message == "etcd: error without a message (HTTP 500)");

    // Control bytes never reach a log; a long message is cut.
    error = parse_error(400, R"({"error":"a\u0001b\nc","code":3})");
    CHECK(error.message == "etcd: a?b c");
    error = parse_error(400, R"({"error":")" + std::string(5000, 'x') + R"(","code":3})");
    CHECK(error.message.size() < 400);
}

TEST_CASE("take_watch_frames reads complete frames and keeps a partial one across chunks", "[fleet]") {
    const std::string created = std::string(R"({"result":{)") + kHeader + R"(,"created":true}})" + "\n";
    const std::string events =
        std::string(R"({"result":{)") + kHeader +
        R"(,"events":[{"kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}},{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"3"}}]}})" +
        "\n";
    const std::string stream = created + events;

    SECTION("split at every byte") {
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            CAPTURE(cut);
            std::string buffer = stream.substr(0, cut);
            std::vector<WatchFrame> frames = take_watch_frames(&buffer);
            buffer += stream.substr(cut);
            for (WatchFrame& frame : take_watch_frames(&buffer)) frames.push_back(std::move(frame));
            CHECK(buffer.empty());
            REQUIRE(frames.size() == 2);
            CHECK(frames[0].is_ok);
            CHECK(frames[0].created);
            CHECK(frames[0].events.empty());
            REQUIRE(frames[1].events.size() == 2);
        }
    }
    SECTION("several frames in one chunk, in order, with their events") {
        std::string buffer = stream + stream + R"({"result":{"hea)";
        const std::vector<WatchFrame> frames = take_watch_frames(&buffer);
        CHECK(buffer == R"({"result":{"hea)");
        REQUIRE(frames.size() == 4);
        const WatchFrame& frame = frames[1];
        CHECK(frame.is_ok);
        CHECK_FALSE(frame.created);
        CHECK(frame.revision == 5);
        REQUIRE(frame.events.size() == 2);
        CHECK(frame.events[0].type == WatchEvent::Type::put);
        CHECK(frame.events[0].kv.key == "foo");
        CHECK(frame.events[0].kv.value == "bar");
        CHECK(frame.events[0].kv.mod_revision == 2);
        CHECK(frame.events[1].type == WatchEvent::Type::remove);
        CHECK(frame.events[1].kv.key == "foo");
        CHECK(frame.events[1].kv.value.empty());
        CHECK(frame.events[1].kv.mod_revision == 3);
    }
    SECTION("blank lines and CRLF are no frames") {
        std::string buffer = "\n\r\n  \n" + created.substr(0, created.size() - 1) + "\r\n";
        const std::vector<WatchFrame> frames = take_watch_frames(&buffer);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].created);
        CHECK(buffer.empty());
    }
    SECTION("nothing complete: nothing taken") {
        std::string buffer = created.substr(0, 20);
        CHECK(take_watch_frames(&buffer).empty());
        CHECK(buffer == created.substr(0, 20));
    }
}

TEST_CASE("watch frames: canceled, compacted, progress, errors", "[fleet]") {
    SECTION("compacted: canceled with the compact revision") {
        std::string buffer =
            R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","raft_term":"2"},"canceled":true,"compact_revision":"4"}})"
            "\n";
        const auto frames = take_watch_frames(&buffer);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].is_ok);
        CHECK(frames[0].canceled);
        CHECK(frames[0].compact_revision == 4);
        CHECK(frames[0].revision == 0);
    }
    SECTION("refused at creation, with the reason (an invalid token)") {
        std::string buffer =
            R"({"result":{"header":{"revision":"5"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"}})"
            "\n";
        const auto frames = take_watch_frames(&buffer);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].created);
        CHECK(frames[0].canceled);
        CHECK(frames[0].compact_revision == 0);
        CHECK(frames[0].cancel_reason == "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token");
    }
    SECTION("a progress notification: a header and nothing else") {
        std::string buffer = R"({"result":{"header":{"revision":"42"}}})"
                             "\n"
                             R"({"result":{"header":{"revision":"43"},"events":[]}})"
                             "\n";
        const auto frames = take_watch_frames(&buffer);
        REQUIRE(frames.size() == 2);
        for (const WatchFrame& frame : frames) {
            CHECK(frame.is_ok);
            CHECK_FALSE(frame.created);
            CHECK_FALSE(frame.canceled);
            CHECK(frame.events.empty());
        }
        CHECK(frames[1].revision == 43);
    }
    SECTION("event types as names or numbers") {
        std::string buffer =
            R"({"result":{"events":[{"type":0,"kv":{"key":"YQ=="}},{"type":1,"kv":{"key":"YQ=="}},{"type":"PUT","kv":{"key":"YQ=="}}]}})"
            "\n";
        const auto frames = take_watch_frames(&buffer);
        REQUIRE(frames.size() == 1);
        REQUIRE(frames[0].events.size() == 3);
        CHECK(frames[0].events[0].type == WatchEvent::Type::put);
        CHECK(frames[0].events[1].type == WatchEvent::Type::remove);
        CHECK(frames[0].events[2].type == WatchEvent::Type::put);
    }
    SECTION("errors and garbage are frames that are not ok, the rest still read") {
        std::string buffer =
            R"({"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}})"
            "\n"
            R"({"error":"invalid character 'b' looking for beginning of value","code":2})"
            "\n"
            "garbage\n"
            R"({"result":{"events":[{"type":"MOVE","kv":{"key":"YQ=="}}]}})"
            "\n"
            R"({"result":{"events":[{"kv":{"key":"@@"}}]}})"
            "\n"
            R"({"result":{"events":[{"type":"PUT"}]}})"
            "\n"
            R"({"result":{"created":"yes"}})"
            "\n"
            R"({"result":7})"
            "\n"
            R"({"result":{"created":true}})"
            "\n";
        const auto frames = take_watch_frames(&buffer);
        REQUIRE(frames.size() == 9);
        CHECK(frames[0].error == "transport is closing");
        CHECK(frames[1].error == "invalid character 'b' looking for beginning of value");
        CHECK(frames[2].error == "unreadable watch frame: garbage");
        for (std::size_t i = 0; i < 8; ++i) {
            CAPTURE(i);
            CHECK_FALSE(frames[i].is_ok);
            CHECK_FALSE(frames[i].error.empty());
            CHECK(frames[i].events.empty());
        }
        CHECK(frames[8].is_ok);
        CHECK(frames[8].created);
    }
}

TEST_CASE("prefix_range_end increments the last byte below 0xff, per etcd", "[fleet]") {
    CHECK(prefix_range_end("foo") == "fop");
    CHECK(prefix_range_end("/meridian/") == "/meridian0");
    CHECK(prefix_range_end("a\xff") == "b");
    CHECK(prefix_range_end("a\xff\xff") == "b");
    CHECK(prefix_range_end("\xfe\xff") == "\xff");
    CHECK(prefix_range_end(std::string("a\0", 2)) == std::string("a\1", 2));
    CHECK(prefix_range_end("\xff") == std::string(1, '\0'));
    CHECK(prefix_range_end("\xff\xff\xff") == std::string(1, '\0'));
    CHECK(prefix_range_end("") == std::string(1, '\0'));
}

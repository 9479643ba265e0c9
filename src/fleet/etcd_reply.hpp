// What etcd v3's JSON gateway (grpc-gateway, /v3/...) sends back, read without any I/O: error
// bodies, range replies, the newline-separated frames of a watch stream; and the base64 and
// int64 encodings the gateway uses (keys and values are base64, int64 fields are JSON strings).
// Everything here is pure, unit-tested and fuzzed (tests/fuzz/etcd_reply_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace meridian::fleet {

struct KeyValue {
    std::string key, value;
    int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

// A transport or etcd error, readable: "etcd 127.0.0.1:2379: connection refused",
// "etcd: etcdserver: requested lease not found".
struct EtcdError {
    bool is_ok = true;
    std::string message;
    int code = 0;  // etcd's gRPC code when etcd answered with an error (16: unauthenticated), else 0

    static EtcdError failure(std::string message, int code = 0) { return EtcdError{false, std::move(message), code}; }
};

struct RangeResult {
    EtcdError error;
    std::vector<KeyValue> kvs;
    int64_t revision = 0;
};

struct WatchEvent {
    enum class Type { put, remove } type = Type::put;
    KeyValue kv;
};

// One message of a watch stream. is_ok false: the frame was unreadable or an error (error says
// which). created/canceled: the watch was set up / ended by the server (cancel_reason, and
// compact_revision > 0 when the start revision had been compacted). revision: the header's.
struct WatchFrame {
    bool is_ok = true;
    std::string error;
    bool created = false, canceled = false;
    int64_t revision = 0, compact_revision = 0;
    std::vector<WatchEvent> events;
    std::string cancel_reason;
};

// The longest error text kept from a reply (etcd's are one line; a proxy's page may not be).
constexpr std::size_t kMaxEtcdErrorBytes = 300;
// A watch frame longer than this (without its line feed) ends the stream as unreadable.
constexpr std::size_t kMaxWatchFrameBytes = std::size_t{64} * 1024 * 1024;

// An error reply {"error":..,"code":..,"message":..} (or a stream's {"error":{"grpc_code":..,
// "message":..}}) → "etcd: <message>". A 200 without an error field is ok; any other status is an
// error, with the body's first bytes when it is not etcd's JSON.
EtcdError parse_error(long http_status, const std::string& body);
// A /v3/kv/range reply: its kvs (an absent kvs is none) and the header's revision.
RangeResult parse_range(long http_status, const std::string& body);

// Splits off every complete (line-feed terminated) frame at the front of *buffer and reads each;
// a partial frame at the end is left for the next chunk. Blank lines are skipped.
std::vector<WatchFrame> take_watch_frames(std::string* buffer);
WatchFrame parse_watch_frame(std::string_view line);

// The range_end of every key starting with prefix, per etcd: the prefix with its last byte below
// 0xff incremented and what follows cut off; "\0" (to the end of the key space) when there is none
// (an empty prefix, or only 0xff bytes).
std::string prefix_range_end(const std::string& prefix);

// Standard base64 (RFC 4648, with padding), as the gateway encodes bytes fields.
std::string base64_encode(std::string_view bytes);
// Refuses anything but canonical-alphabet base64 with correct padding (none missing is accepted too).
std::optional<std::string> base64_decode(std::string_view text);

// An int64 field as the gateway writes it (a JSON string of digits) or as a plain integer; absent
// (null) is 0. nullopt for anything else: a fraction, text, out of range.
std::optional<int64_t> json_int64(const nlohmann::json& value);
// A KeyValue object of a reply; false for one that cannot be read (bad base64, bad numbers).
bool read_key_value(const nlohmann::json& object, KeyValue* out);
// header.revision of a reply object, 0 when absent.
int64_t header_revision(const nlohmann::json& object);

}  // namespace meridian::fleet

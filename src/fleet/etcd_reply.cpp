#include "fleet/etcd_reply.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

namespace meridian::fleet {

namespace {

using nlohmann::json;

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Printable ASCII only, cut to kMaxEtcdErrorBytes: error texts end up in logs and /status.
std::string clean_text(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (out.size() >= kMaxEtcdErrorBytes) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? c : (c == '\n' || c == '\r' || c == '\t' ? ' ' : '?');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::optional<json> parse_json(std::string_view text) {
    json value = json::parse(text.begin(), text.end(), nullptr, false);
    if (value.is_discarded()) return std::nullopt;
    return value;
}

// The text of an error value: etcd's unary replies have "error" and "message" strings; a stream's
// error is an object {"grpc_code":..,"http_code":..,"message":..,"http_status":..}.
std::string error_text(const json& object) {
    if (!object.is_object()) return "";
    const auto message = object.find("message");
    if (message != object.end() && message->is_string() && !message->get_ref<const std::string&>().empty())
        return message->get<std::string>();
    const auto error = object.find("error");
    if (error == object.end()) return "";
    if (error->is_string()) return error->get<std::string>();
    if (error->is_object()) return error_text(*error);
    return "";
}

int error_code(const json& object) {
    if (!object.is_object()) return 0;
    for (const char* name : {"code", "grpc_code"}) {
        const auto code = object.find(name);
        if (code != object.end() && code->is_number_integer()) {
            const auto value = code->get<int64_t>();
            if (value > 0 && value < 1000) return static_cast<int>(value);
        }
    }
    const auto error = object.find("error");
    if (error != object.end() && error->is_object()) return error_code(*error);
    return 0;
}

// Whether a reply object carries an error: a non-empty "error" string or an error object.
bool has_error(const json& object) {
    if (!object.is_object()) return false;
    const auto error = object.find("error");
    if (error == object.end()) return false;
    if (error->is_string()) return !error->get_ref<const std::string&>().empty();
    return error->is_object();
}

bool read_bytes(const json& object, const char* name, std::string* out) {
    const auto field = object.find(name);
    if (field == object.end() || field->is_null()) {
        out->clear();
        return true;
    }
    if (!field->is_string()) return false;
    std::optional<std::string> bytes = base64_decode(field->get_ref<const std::string&>());
    if (!bytes) return false;
    *out = std::move(*bytes);
    return true;
}

bool read_int(const json& object, const char* name, int64_t* out) {
    const auto field = object.find(name);
    if (field == object.end()) {
        *out = 0;
        return true;
    }
    const std::optional<int64_t> value = json_int64(*field);
    if (!value) return false;
    *out = *value;
    return true;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t n = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                           (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                           uint32_t{static_cast<unsigned char>(bytes[i + 2])};
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t n = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
        if (rest == 2) n |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    static const std::array<int8_t, 256> kValues = [] {
        std::array<int8_t, 256> values{};
        values.fill(-1);
        for (std::size_t i = 0; i < kAlphabet.size(); ++i)
            values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
        return values;
    }();
    std::size_t padding = 0;
    while (!text.empty() && text.back() == '=' && padding < 2) {
        text.remove_suffix(1);
        ++padding;
    }
    if (text.size() % 4 == 1) return std::nullopt;                             // never a whole byte
    if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;  // padding that does not fit
    std::string out;
    out.reserve(text.size() * 3 / 4);
    uint32_t bits = 0;
    int count = 0;
    for (const char c : text) {
        const int8_t value = kValues[static_cast<unsigned char>(c)];
        if (value < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<uint32_t>(value);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xff);
        }
    }
    if ((bits & ((1U << count) - 1)) != 0) return std::nullopt;  // stray bits in the last character
    return out;
}

std::optional<int64_t> json_int64(const json& value) {
    if (value.is_null()) return 0;
    if (value.is_number_integer()) {
        if (value.is_number_unsigned() &&
            value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return std::nullopt;
        return value.get<int64_t>();
    }
    if (!value.is_string()) return std::nullopt;
    const auto& text = value.get_ref<const std::string&>();
    int64_t out = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return out;
}

bool read_key_value(const json& object, KeyValue* out) {
    if (!object.is_object()) return false;
    return read_bytes(object, "key", &out->key) && read_bytes(object, "value", &out->value) &&
           read_int(object, "create_revision", &out->create_revision) &&
           read_int(object, "mod_revision", &out->mod_revision) && read_int(object, "version", &out->version) &&
           read_int(object, "lease", &out->lease);
}

int64_t header_revision(const json& object) {
    if (!object.is_object()) return 0;
    const auto header = object.find("header");
    if (header == object.end() || !header->is_object()) return 0;
    const auto revision = header->find("revision");
    if (revision == header->end()) return 0;
    return json_int64(*revision).value_or(0);
}

EtcdError parse_error(long http_status, const std::string& body) {
    const std::optional<json> reply = parse_json(body);
    if (reply && reply->is_object() && has_error(*reply)) {
        std::string text = clean_text(error_text(*reply));
        if (text.empty()) text = "error without a message (HTTP " + std::to_string(http_status) + ")";
        return EtcdError::failure("etcd: " + text, error_code(*reply));
    }
    if (http_status == 200) {
        if (reply) return {};
        return EtcdError::failure("etcd: unreadable reply: " + clean_text(body.substr(0, 80)));
    }
    std::string text = "etcd: HTTP " + std::to_string(http_status);
    const std::string excerpt = clean_text(body.substr(0, 120));
    if (!excerpt.empty()) text += ": " + excerpt;
    return EtcdError::failure(std::move(text));
}

RangeResult parse_range(long http_status, const std::string& body) {
    RangeResult result;
    result.error = parse_error(http_status, body);
    if (!result.error.is_ok) return result;
    const json reply = json::parse(body, nullptr, false);
    auto unreadable = [&](const std::string& why) {
        RangeResult failed;
        failed.error = EtcdError::failure("etcd: unreadable range reply: " + why);
        return failed;
    };
    if (!reply.is_object()) return unreadable("not an object");
    result.revision = header_revision(reply);
    const auto kvs = reply.find("kvs");
    if (kvs == reply.end() || kvs->is_null()) return result;
    if (!kvs->is_array()) return unreadable("kvs is not an array");
    result.kvs.reserve(kvs->size());
    for (const json& item : *kvs) {
        KeyValue kv;
        if (!read_key_value(item, &kv)) return unreadable("a key-value that cannot be read");
        result.kvs.push_back(std::move(kv));
    }
    return result;
}

WatchFrame parse_watch_frame(std::string_view line) {
    WatchFrame frame;
    auto unreadable = [](std::string why) {
        WatchFrame failed;
        failed.is_ok = false;
        failed.error = std::move(why);
        return failed;
    };
    const std::optional<json> message = parse_json(line);
    if (!message || !message->is_object())
        return unreadable("unreadable watch frame: " + clean_text(line.substr(0, 80)));
    if (has_error(*message)) {
        std::string text = clean_text(error_text(*message));
        return unreadable(text.empty() ? "watch stream error without a message" : text);
    }
    const auto result_it = message->find("result");
    if (result_it == message->end() || !result_it->is_object()) return unreadable("watch frame without a result");
    const json& result = *result_it;
    frame.revision = header_revision(result);
    for (const auto& [name, flag] : {std::pair{"created", &frame.created}, std::pair{"canceled", &frame.canceled}}) {
        const auto field = result.find(name);
        if (field == result.end() || field->is_null()) continue;
        if (!field->is_boolean()) return unreadable(std::string("watch frame: ") + name + " is not a boolean");
        *flag = field->get<bool>();
    }
    if (!read_int(result, "compact_revision", &frame.compact_revision))
        return unreadable("watch frame: compact_revision is not a number");
    const auto reason = result.find("cancel_reason");
    if (reason != result.end() && reason->is_string()) frame.cancel_reason = clean_text(reason->get<std::string>());
    const auto events = result.find("events");
    if (events == result.end() || events->is_null()) return frame;
    if (!events->is_array()) return unreadable("watch frame: events is not an array");
    frame.events.reserve(events->size());
    for (const json& item : *events) {
        if (!item.is_object()) return unreadable("watch frame: an event is not an object");
        WatchEvent event;
        const auto type = item.find("type");
        if (type != item.end() && !type->is_null()) {
            // proto3 leaves out the default: no type is PUT. The enum may also come as its number.
            if (*type == "PUT" || *type == 0) {
                event.type = WatchEvent::Type::put;
            } else if (*type == "DELETE" || *type == 1) {
                event.type = WatchEvent::Type::remove;
            } else {
                return unreadable("watch frame: unknown event type");
            }
        }
        const auto kv = item.find("kv");
        if (kv == item.end() || !read_key_value(*kv, &event.kv))
            return unreadable("watch frame: an event's key-value cannot be read");
        frame.events.push_back(std::move(event));
    }
    return frame;
}

std::vector<WatchFrame> take_watch_frames(std::string* buffer) {
    std::vector<WatchFrame> frames;
    std::size_t start = 0;
    while (start < buffer->size()) {
        const std::size_t end = buffer->find('\n', start);
        if (end == std::string::npos) break;
        const std::string_view line = std::string_view(*buffer).substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        frames.push_back(parse_watch_frame(line));
    }
    buffer->erase(0, start);
    if (buffer->size() > kMaxWatchFrameBytes) {
        buffer->clear();
        WatchFrame failed;
        failed.is_ok = false;
        failed.error = "watch frame longer than " + std::to_string(kMaxWatchFrameBytes) + " bytes";
        frames.push_back(std::move(failed));
    }
    return frames;
}

std::string prefix_range_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        const auto last = static_cast<unsigned char>(end.back());
        if (last < 0xff) {
            end.back() = static_cast<char>(last + 1);
            return end;
        }
        end.pop_back();
    }
    end.assign(1, '\0');  // no byte to increment: to the end of the key space
    return end;
}

}  // namespace meridian::fleet

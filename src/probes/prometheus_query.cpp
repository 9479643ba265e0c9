#include "probes/prometheus_query.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <system_error>

namespace meridian::probes {

namespace {

// A non-JSON body is quoted this far: enough to tell an HTML page or a proxy's message.
constexpr std::size_t kMaxBodySnippetBytes = 60;

bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

// RFC 3986 §2.3: the only bytes a query component may carry unencoded without ambiguity.
bool is_unreserved(char c) noexcept { return is_name_char(c) || c == '-' || c == '.' || c == '~'; }

// Text from the reply as a reason quotes it: bytes outside printable ASCII as \xNN, at most
// `limit` bytes, "..." where it was cut. Reasons reach logs and JSON, so they stay ASCII.
std::string printable(std::string_view s, std::size_t limit) {
    constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        const bool is_plain = byte >= 0x20 && byte < 0x7f;
        if (out.size() + (is_plain ? 1 : 4) > limit) {
            out += "...";
            break;
        }
        if (is_plain) {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
    }
    return out;
}

// Seconds in a reason: "600", "60.4", and an absurd age short ("1e+300") rather than 300 digits.
std::string format_seconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", seconds);
    return text;
}

PromReading failed(std::string reason) {
    PromReading reading;
    reading.reason = std::move(reason);
    return reading;
}

// A reply Prometheus marked as failed (HTTP status or "status":"error"): its errorType and error.
PromReading failed_evaluation(int http_status, const nlohmann::json& reply) {
    std::string reason = http_status == 200 ? "Prometheus answered an error"
                                            : "Prometheus answered HTTP " + std::to_string(http_status);
    const auto type = reply.find("errorType");
    if (type != reply.end() && type->is_string())
        reason += " (" + printable(type->get_ref<const std::string&>(), kMaxPromErrorBytes) + ")";
    const auto text = reply.find("error");
    if (text != reply.end() && text->is_string())
        reason += ": " + printable(text->get_ref<const std::string&>(), kMaxPromErrorBytes);
    return failed(std::move(reason));
}

// One [time, "value"] pair, as Prometheus writes a sample: the value is a string because JSON has
// no NaN or infinity, and Prometheus writes those as "NaN", "+Inf" and "-Inf".
PromReading read_sample(const nlohmann::json& pair, double now_unix_s, double max_age_s) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string())
        return failed("a sample is not [time, \"value\"]");
    const double time = pair[0].get<double>();
    const auto& text = pair[1].get_ref<const std::string&>();
    if (!std::isfinite(time)) return failed("the sample's time is not a finite number");
    PromReading reading;
    reading.sample_time = time;
    if (text == "NaN" || text == "+Inf" || text == "-Inf") {
        reading.reason = "the value is " + text;
        return reading;
    }
    double value = 0;
    const char* const end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
        reading.reason = "the value \"" + printable(text, kMaxBodySnippetBytes) + "\" is not a finite number";
        return reading;
    }
    reading.value = value;
    const double age = now_unix_s - time;
    if (age > max_age_s) {
        reading.reason = "sample is " + format_seconds(age) + " s old (more than " + format_seconds(max_age_s) + " s)";
        return reading;
    }
    reading.is_ok = true;
    return reading;
}

PromReading read_vector(const nlohmann::json& result, double now_unix_s, double max_age_s) {
    if (!result.is_array()) return failed("the vector's result is not an array");
    if (result.empty()) return failed("no series matched");
    if (result.size() > 1) {
        return failed(std::to_string(result.size()) +
                      " series matched; the query must return one (use sum, avg or max by ...)");
    }
    const auto& sample = result[0];
    if (!sample.is_object()) return failed("the vector's sample is not an object");
    const auto value = sample.find("value");
    if (value == sample.end()) {
        if (sample.contains("histogram")) return failed("the series is a native histogram, not a number");
        return failed("the vector's sample has no \"value\"");
    }
    return read_sample(*value, now_unix_s, max_age_s);
}

}  // namespace

std::string instant_query_url(std::string_view base, std::string_view promql) {
    constexpr char kHex[] = "0123456789ABCDEF";
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    std::string url(base);
    url += "/api/v1/query?query=";
    for (const char c : promql) {
        if (is_unreserved(c)) {
            url += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            url += '%';
            url += kHex[byte >> 4];
            url += kHex[byte & 0xf];
        }
    }
    return url;
}

PromReading parse_instant_reply(int http_status, std::string_view body, double now_unix_s, double max_age_s) {
    const auto reply = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) {
        // A proxy's or a web UI's page, or an error from something that is not Prometheus.
        const std::string start = printable(body, kMaxBodySnippetBytes);
        const std::string what = body.empty() ? "an empty body" : "\"" + start + "\"";
        if (http_status != 200)
            return failed("HTTP " + std::to_string(http_status) + " with " + what + ", not Prometheus's JSON");
        return failed("the reply is not a JSON object: " + what);
    }
    const auto status = reply.find("status");
    if (http_status != 200 || (status != reply.end() && *status == "error"))
        return failed_evaluation(http_status, reply);
    if (status == reply.end() || *status != "success") return failed("the reply's status is not \"success\"");
    const auto data = reply.find("data");
    if (data == reply.end() || !data->is_object()) return failed("the reply has no \"data\" object");
    const auto type = data->find("resultType");
    const auto result = data->find("result");
    if (type == data->end() || !type->is_string() || result == data->end())
        return failed("the reply's data has no resultType and result");
    const auto& type_name = type->get_ref<const std::string&>();
    if (type_name == "vector") return read_vector(*result, now_unix_s, max_age_s);
    if (type_name == "scalar") return read_sample(*result, now_unix_s, max_age_s);
    if (type_name == "matrix")
        return failed("the query returned a range vector; it must return one instant value (e.g. avg_over_time)");
    if (type_name == "string") return failed("the query returned a string, not a number");
    return failed("unknown resultType \"" + printable(type_name, kMaxBodySnippetBytes) + "\"");
}

}  // namespace meridian::probes

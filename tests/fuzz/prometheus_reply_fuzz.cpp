// Fuzz target: what the probes read from and send to Prometheus (probes/prometheus_query). The
// input is a reply body, read as a 200 and as a 422; a reading is ok only with a finite, fresh
// value and no reason, and every reason is short printable ASCII. The same bytes as a PromQL
// template expand without leaving a raw line feed inside a value, and as a query their URL
// decodes back to them.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "probes/prometheus_query.hpp"

namespace {

using meridian::probes::PromReading;

// The fixed clock the corpus was captured around (its replies are from Unix time 1796590800 on).
constexpr double kNow = 1796590900;
constexpr double kMaxAge = 300;

void check_reading(const PromReading& reading) {
    if (reading.is_ok) {
        FUZZ_CHECK(reading.reason.empty());
        FUZZ_CHECK(std::isfinite(reading.value));
        FUZZ_CHECK(std::isfinite(reading.sample_time));
        FUZZ_CHECK(kNow - reading.sample_time <= kMaxAge);
        return;
    }
    FUZZ_CHECK(!reading.reason.empty());
    // Two quoted texts (errorType and error) at most, with the words around them.
    FUZZ_CHECK(reading.reason.size() <= 2 * meridian::probes::kMaxPromErrorBytes + 200);
    for (const char c : reading.reason) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_reading(meridian::probes::parse_instant_reply(200, input, kNow, kMaxAge));
    const PromReading refused = meridian::probes::parse_instant_reply(422, input, kNow, kMaxAge);
    FUZZ_CHECK(!refused.is_ok);  // an HTTP error is never a reading, whatever the body says
    check_reading(refused);

    // Values with every byte PromQL's strings must escape; none may appear raw in the expansion
    // unless the template itself holds it.
    meridian::probes::PromqlContext context{"geo.example.com.", "eu-\"west\"\n1\\", {{"tier", "gold\nsilver"}}};
    std::string expanded;
    std::string error;
    if (meridian::probes::expand_promql(input, context, &expanded, &error)) {
        FUZZ_CHECK(error.empty());
        if (input.find('\n') == std::string_view::npos) FUZZ_CHECK(expanded.find('\n') == std::string::npos);
        if (input.find('{') == std::string_view::npos) FUZZ_CHECK(expanded == input);
    } else {
        FUZZ_CHECK(!error.empty());
        FUZZ_CHECK(expanded.empty());
    }

    constexpr std::string_view kBase = "http://127.0.0.1:9090/prom";
    const std::string url = meridian::probes::instant_query_url(std::string(kBase) + "/", input);
    const std::string prefix = std::string(kBase) + "/api/v1/query?query=";
    FUZZ_CHECK(url.compare(0, prefix.size(), prefix) == 0);
    std::string decoded;
    for (std::size_t i = prefix.size(); i < url.size(); ++i) {
        const char c = url[i];
        FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '&' && c != '#' && c != '+' && c != '=');
        if (c != '%') {
            decoded += c;
            continue;
        }
        FUZZ_CHECK(i + 2 < url.size() && hex_value(url[i + 1]) >= 0 && hex_value(url[i + 2]) >= 0);
        decoded += static_cast<char>(hex_value(url[i + 1]) * 16 + hex_value(url[i + 2]));
        i += 2;
    }
    FUZZ_CHECK(decoded == input);
    return 0;
}

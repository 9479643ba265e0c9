// Tests for probes/prometheus_query: PromQL templates expanded for a region, the instant query's
// URL, and Prometheus's replies read as one number or a reason. The replies are Prometheus 2.42's
// own, captured from a real server (tests/system/prometheus_harness.py), timestamps included;
// the 503 reply has the shape Prometheus's API documentation gives for a query timeout.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "probes/prometheus_query.hpp"

using meridian::probes::expand_promql;
using meridian::probes::instant_query_url;
using meridian::probes::kMaxPromErrorBytes;
using meridian::probes::parse_instant_reply;
using meridian::probes::PromqlContext;
using meridian::probes::PromReading;

namespace {

// The captured replies were evaluated at about this time.
constexpr double kNow = 1796590806;
constexpr double kMaxAge = 60;

constexpr const char* kVectorOne =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"edge_latency_ms","instance":"127.0.0.1:35261","job":"exporter","region":"eu-west-1"},"value":[1796590805.205,"42.5"]}]}})";
constexpr const char* kVectorEmpty = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
constexpr const char* kVectorMulti =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"edge_latency_ms","instance":"127.0.0.1:35261","job":"exporter","region":"eu-west-1"},"value":[1796590805.208,"42.5"]},{"metric":{"__name__":"edge_latency_ms","instance":"127.0.0.1:35261","job":"exporter","region":"us-east-1"},"value":[1796590805.208,"118"]}]}})";
constexpr const char* kSumBy =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":"eu-west-1"},"value":[1796590805.219,"42.5"]}]}})";
constexpr const char* kVectorLiteral =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796590805.339,"1"]}]}})";
constexpr const char* kScalar = R"({"status":"success","data":{"resultType":"scalar","result":[1796590805.212,"42.5"]}})";
constexpr const char* kScalarNaN = R"({"status":"success","data":{"resultType":"scalar","result":[1796590805.335,"NaN"]}})";
constexpr const char* kString = R"({"status":"success","data":{"resultType":"string","result":[1796590805.215,"hello"]}})";
constexpr const char* kMatrix =
    R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"edge_latency_ms","instance":"127.0.0.1:33589","job":"exporter","region":"eu-west-1"},"values":[[1796590802.797,"42.5"],[1796590803.797,"42.5"],[1796590804.797,"42.5"]]}]}})";
constexpr const char* kBadData =
    R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unclosed left parenthesis"})";
constexpr const char* kExecution =
    R"({"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"})";
constexpr const char* kTimeout =
    R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})";

// A one-sample vector reply with `value` as Prometheus writes it (a JSON string, quotes included).
std::string vector_with_value(const std::string& value_json, const std::string& time = "1796590805.205") {
    return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":"eu-west-1"},"value":[)" +
           time + "," + value_json + "]}]}}";
}

PromReading read(const std::string& body, int http_status = 200) {
    return parse_instant_reply(http_status, body, kNow, kMaxAge);
}

// A failed reading has a reason and no claim to a value.
void check_failed(const PromReading& reading, const std::string& reason) {
    CAPTURE(reading.reason);
    CHECK_FALSE(reading.is_ok);
    CHECK(reading.reason == reason);
}

bool is_printable_ascii(const std::string& text) {
    for (const char c : text) {
        if (c < 0x20 || c >= 0x7f) return false;
    }
    return true;
}

PromqlContext shop_context() {
    return PromqlContext{"shop.example.com.", "eu-west-1", {{"tier", "gold"}, {"cloud", "aws"}}};
}

std::string expand(const std::string& templ, const PromqlContext& context = shop_context()) {
    std::string out;
    std::string error;
    CAPTURE(templ);
    REQUIRE(expand_promql(templ, context, &out, &error));
    CHECK(error.empty());
    return out;
}

std::string expand_error(const std::string& templ, const PromqlContext& context = shop_context()) {
    std::string out = "untouched";
    std::string error;
    CAPTURE(templ);
    REQUIRE_FALSE(expand_promql(templ, context, &out, &error));
    CHECK(out == "untouched");
    return error;
}

}  // namespace

TEST_CASE("a vector with one sample is read as its value and evaluation time", "[probes][prometheus]") {
    const PromReading one = read(kVectorOne);
    CHECK(one.is_ok);
    CHECK(one.reason.empty());
    CHECK(one.value == 42.5);
    CHECK(one.sample_time == Approx(1796590805.205));

    const PromReading summed = read(kSumBy);  // an aggregation: labels, no __name__
    CHECK(summed.is_ok);
    CHECK(summed.value == 42.5);

    const PromReading literal = read(kVectorLiteral);  // vector(1): no labels at all
    CHECK(literal.is_ok);
    CHECK(literal.value == 1);
}

TEST_CASE("a scalar is read as its value", "[probes][prometheus]") {
    const PromReading reading = read(kScalar);
    CHECK(reading.is_ok);
    CHECK(reading.value == 42.5);
    CHECK(reading.sample_time == Approx(1796590805.212));
}

TEST_CASE("Prometheus's number texts: decimals, exponents, negatives", "[probes][prometheus]") {
    struct Row {
        const char* text;
        double value;
    };
    for (const Row row : {Row{"\"0\"", 0}, Row{"\"118\"", 118}, Row{"\"-3.25\"", -3.25}, Row{"\"1e-05\"", 1e-05},
                          Row{"\"1.5e+06\"", 1.5e+06}, Row{"\"0.1\"", 0.1}}) {
        CAPTURE(row.text);
        const PromReading reading = read(vector_with_value(row.text));
        CHECK(reading.is_ok);
        CHECK(reading.value == row.value);
    }
}

TEST_CASE("an empty vector: no series matched", "[probes][prometheus]") {
    check_failed(read(kVectorEmpty), "no series matched");
}

TEST_CASE("several series: the reason says how many and how to make one", "[probes][prometheus]") {
    check_failed(read(kVectorMulti), "2 series matched; the query must return one (use sum, avg or max by ...)");
}

TEST_CASE("NaN and infinities are not readings", "[probes][prometheus]") {
    check_failed(read(vector_with_value("\"NaN\"")), "the value is NaN");
    check_failed(read(vector_with_value("\"+Inf\"")), "the value is +Inf");
    check_failed(read(vector_with_value("\"-Inf\"")), "the value is -Inf");
    check_failed(read(kScalarNaN), "the value is NaN");  // scalar(x) of anything but one series
    // The time was read, so a log can say when.
    CHECK(read(kScalarNaN).sample_time == Approx(1796590805.335));
}

TEST_CASE("a value text that is not a finite number is refused, quoted", "[probes][prometheus]") {
    for (const std::string text : {"abc", "", "1.5x", " 1", "+1", "nan", "inf", "infinity", "1e999", "0x10"}) {
        CAPTURE(text);
        check_failed(read(vector_with_value("\"" + text + "\"")), "the value \"" + text + "\" is not a finite number");
    }
    check_failed(read(vector_with_value("\"\\u0001\\u00e9\"")), "the value \"\\x01\\xc3\\xa9\" is not a finite number");
}

TEST_CASE("Prometheus's HTTP errors carry its errorType and error text", "[probes][prometheus]") {
    // GET /api/v1/query?query=rate( : a parse error.
    check_failed(read(kBadData, 400),
                 "Prometheus answered HTTP 400 (bad_data): invalid parameter \"query\": 1:6: parse error: unclosed "
                 "left parenthesis");
    // --query.max-samples exceeded while evaluating.
    check_failed(read(kExecution, 422),
                 "Prometheus answered HTTP 422 (execution): query processing would load too many samples into memory "
                 "in query execution");
    check_failed(read(kTimeout, 503),
                 "Prometheus answered HTTP 503 (timeout): query timed out in expression evaluation");
    // "status":"error" is an error whatever the HTTP status says.
    check_failed(read(kTimeout, 200), "Prometheus answered an error (timeout): query timed out in expression evaluation");
    // A success body behind an error status is still an error.
    check_failed(read(kVectorOne, 500), "Prometheus answered HTTP 500");
}

TEST_CASE("Prometheus's error text is escaped and cut", "[probes][prometheus]") {
    const std::string long_text(1000, 'x');
    const PromReading cut = read(R"({"status":"error","errorType":"bad_data","error":")" + long_text + "\"}", 400);
    CHECK_FALSE(cut.is_ok);
    const std::string prefix = "Prometheus answered HTTP 400 (bad_data): ";
    REQUIRE(cut.reason.rfind(prefix, 0) == 0);
    CHECK(cut.reason.size() - prefix.size() <= kMaxPromErrorBytes + 3);
    CHECK(cut.reason.ends_with("x..."));

    const PromReading escaped =
        read(R"({"status":"error","errorType":"bad\nd","error":"caf\u00e9 \u0000\u001b[31m\"red\""})", 400);
    CHECK(escaped.reason == "Prometheus answered HTTP 400 (bad\\x0ad): caf\\xc3\\xa9 \\x00\\x1b[31m\"red\"");
    CHECK(is_printable_ascii(escaped.reason));

    // An escape is never cut in half: the text stops before one that would not fit.
    std::string controls;
    for (int i = 0; i < 300; ++i) controls += "\\u0001";
    const PromReading binary = read(R"({"status":"error","error":")" + controls + "\"}", 400);
    const std::string plain_prefix = "Prometheus answered HTTP 400: ";
    REQUIRE(binary.reason.rfind(plain_prefix, 0) == 0);
    CHECK(binary.reason.size() - plain_prefix.size() <= kMaxPromErrorBytes + 3);
    CHECK(binary.reason.ends_with("\\x01..."));
    CHECK(is_printable_ascii(binary.reason));
}

TEST_CASE("a body that is not Prometheus's JSON is refused with its first bytes", "[probes][prometheus]") {
    check_failed(read("<html><body>Bad Gateway</body></html>", 502),
                 "HTTP 502 with \"<html><body>Bad Gateway</body></html>\", not Prometheus's JSON");
    check_failed(read("", 503), "HTTP 503 with an empty body, not Prometheus's JSON");
    check_failed(read("<!doctype html><title>Prometheus Time Series Collection and Processing Server</title>"),
                 "the reply is not a JSON object: \"<!doctype html><title>Prometheus Time Series Collection and "
                 "...\"");
    check_failed(read(""), "the reply is not a JSON object: an empty body");
    check_failed(read(R"({"status":"success","data":)"), "the reply is not a JSON object: \"{\"status\":\"success\",\"data\":\"");
    check_failed(read("[1796590805.212,\"42.5\"]"), "the reply is not a JSON object: \"[1796590805.212,\"42.5\"]\"");
    // A number beyond a double's range is not JSON that nlohmann reads.
    CHECK(read(vector_with_value("\"1\"", "1e999")).reason.rfind("the reply is not a JSON object: ", 0) == 0);
}

TEST_CASE("replies of the wrong shape are refused with what is wrong", "[probes][prometheus]") {
    struct Row {
        const char* body;
        const char* reason;
    };
    for (const Row row : {
             Row{R"({"data":{"resultType":"scalar","result":[1,"1"]}})", "the reply's status is not \"success\""},
             Row{R"({"status":"pending"})", "the reply's status is not \"success\""},
             Row{R"({"status":true})", "the reply's status is not \"success\""},
             Row{R"({"status":"success"})", "the reply has no \"data\" object"},
             Row{R"({"status":"success","data":[]})", "the reply has no \"data\" object"},
             Row{R"({"status":"success","data":{"result":[]}})", "the reply's data has no resultType and result"},
             Row{R"({"status":"success","data":{"resultType":"vector"}})", "the reply's data has no resultType and result"},
             Row{R"({"status":"success","data":{"resultType":7,"result":[]}})",
                 "the reply's data has no resultType and result"},
             Row{R"({"status":"success","data":{"resultType":"vector","result":{}}})",
                 "the vector's result is not an array"},
             Row{R"({"status":"success","data":{"resultType":"vector","result":[[1,"1"]]}})",
                 "the vector's sample is not an object"},
             Row{R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})",
                 "the vector's sample has no \"value\""},
             Row{R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796590805,42.5]}]}})",
                 "a sample is not [time, \"value\"]"},
             Row{R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1796590805","1"]}]}})",
                 "a sample is not [time, \"value\"]"},
             Row{R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796590805]}]}})",
                 "a sample is not [time, \"value\"]"},
             Row{R"({"status":"success","data":{"resultType":"scalar","result":[1796590805,"1",3]}})",
                 "a sample is not [time, \"value\"]"},
             Row{R"({"status":"success","data":{"resultType":"scalar","result":"1"}})",
                 "a sample is not [time, \"value\"]"},
             // A native histogram (an experimental feature since 2.40) has no single value.
             Row{R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1796590805,{"count":"2","sum":"3","buckets":[]}]}]}})",
                 "the series is a native histogram, not a number"},
             Row{kMatrix, "the query returned a range vector; it must return one instant value (e.g. avg_over_time)"},
             Row{kString, "the query returned a string, not a number"},
             Row{R"({"status":"success","data":{"resultType":"streams","result":[]}})",
                 "unknown resultType \"streams\""},
         }) {
        CAPTURE(row.body);
        check_failed(read(row.body), row.reason);
    }
}

TEST_CASE("a sample older than the maximum age is stale, with its age", "[probes][prometheus]") {
    const std::string body = vector_with_value("\"42.5\"", "1796590000");
    const PromReading stale = parse_instant_reply(200, body, 1796590600, 300);
    CHECK_FALSE(stale.is_ok);
    CHECK(stale.reason == "sample is 600 s old (more than 300 s)");
    CHECK(stale.value == 42.5);  // read, only too old to use
    CHECK(stale.sample_time == 1796590000);

    CHECK(parse_instant_reply(200, body, 1796590300, 300).is_ok);  // exactly the maximum age
    CHECK(parse_instant_reply(200, body, 1796590301, 300).reason == "sample is 301 s old (more than 300 s)");
    CHECK(parse_instant_reply(200, body, 1796599999, std::numeric_limits<double>::infinity()).is_ok);
    CHECK(parse_instant_reply(200, body, 1796589000, 300).is_ok);  // Prometheus's clock ahead of ours
    // A time far in the past is an age like any other, written short.
    const PromReading ancient = parse_instant_reply(200, vector_with_value("\"1\"", "-1e300"), 0, 300);
    CHECK(ancient.reason == "sample is 1e+300 s old (more than 300 s)");
    CHECK(parse_instant_reply(200, body, 1796590060.4, 60).reason == "sample is 60.4 s old (more than 60 s)");
}

TEST_CASE("a PromQL template names the region, the zone and the region's labels", "[probes][prometheus]") {
    CHECK(expand(R"(edge_latency_ms{region="{region}"})") == R"(edge_latency_ms{region="eu-west-1"})");
    CHECK(expand(R"(avg(rtt{zone="{zone}", region="{region}", tier="{label:tier}"}))") ==
          R"(avg(rtt{zone="shop.example.com", region="eu-west-1", tier="gold"}))");
    CHECK(expand("{label:cloud}/{label:tier}/{region}{region}") == "aws/gold/eu-west-1eu-west-1");

    PromqlContext no_dot = shop_context();
    no_dot.zone = "shop.example.com";
    CHECK(expand("{zone}", no_dot) == "shop.example.com");
}

TEST_CASE("braces that are PromQL's own are kept", "[probes][prometheus]") {
    for (const std::string templ :
         {"up", "up{}", R"(up{job="x"})", R"({__name__="up"})", R"(x{region=~"eu-.{2,3}"})", "{ region }", "{{", "}",
          R"(x{a="{"})", "{1region}", "{", "{region", "sum by (region) (rate(x[5m]))"}) {
        CHECK(expand(templ) == templ);
    }
    CHECK(expand("{{region}}") == "{eu-west-1}");
}

TEST_CASE("values are escaped for a PromQL double-quoted string", "[probes][prometheus]") {
    const PromqlContext odd{"we\"ird.example.", "a\\b\"c\nd", {{"k", "tab\there\rcr"}}};
    CHECK(expand(R"(x{region="{region}",zone="{zone}",k="{label:k}"})", odd) ==
          R"(x{region="a\\b\"c\nd",zone="we\"ird.example",k="tab\there\rcr"})");
}

TEST_CASE("unknown placeholders and missing labels are errors that say which", "[probes][prometheus]") {
    CHECK(expand_error(R"(x{region="{regoin}"})") ==
          "unknown placeholder {regoin} (known: {region}, {zone}, {label:KEY})");
    CHECK(expand_error("{tag:tier}") == "unknown placeholder {tag:…} (known: {region}, {zone}, {label:KEY})");
    CHECK(expand_error("{label:owner}") == "{label:owner}: region \"eu-west-1\" has no label \"owner\"");
    const std::string malformed = "{label:…} needs a label name and a closing brace (letters, digits, '_', '-', '.')";
    CHECK(expand_error("{label:}") == malformed);
    CHECK(expand_error("{label:tier") == malformed);
    CHECK(expand_error("{label:ti er}") == malformed);
    CHECK(expand_error("") == "the query is empty");
}

TEST_CASE("the instant query URL percent-encodes all but the unreserved bytes", "[probes][prometheus]") {
    CHECK(instant_query_url("http://127.0.0.1:9090", R"(edge_latency_ms{region="eu-west-1"})") ==
          "http://127.0.0.1:9090/api/v1/query?query=edge_latency_ms%7Bregion%3D%22eu-west-1%22%7D");
    // A path prefix (Prometheus behind a proxy) and a trailing slash.
    CHECK(instant_query_url("https://mon.example.com/prometheus/", "up") ==
          "https://mon.example.com/prometheus/api/v1/query?query=up");
    // Space as %20 (never '+'), and '&', '#', '+', '=' and '%' encoded so that they stay the query's.
    CHECK(instant_query_url("http://[::1]:9090", "a + b & c#d=%e") ==
          "http://[::1]:9090/api/v1/query?query=a%20%2B%20b%20%26%20c%23d%3D%25e");
    CHECK(instant_query_url("http://p", "AZaz09-._~") == "http://p/api/v1/query?query=AZaz09-._~");
    CHECK(instant_query_url("http://p", "caf\xc3\xa9\n") == "http://p/api/v1/query?query=caf%C3%A9%0A");
    CHECK(instant_query_url("http://p", "") == "http://p/api/v1/query?query=");
}

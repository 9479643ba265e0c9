// Response rate limiting on an injected clock: budgets per source prefix, slip, exemptions.
#include <catch2/catch.hpp>

#include <vector>

#include "common/token_bucket.hpp"
#include "dns/wire.hpp"
#include "server/response_rate_limiter.hpp"

using meridian::TokenBucket;
using meridian::geo::parse_address;
using meridian::geo::parse_network;
using meridian::server::ResponseRateLimiter;
using meridian::server::RrlSettings;
using meridian::server::RrlVerdict;

namespace {

RrlSettings settings(uint32_t rate, uint32_t burst, uint32_t slip) {
    RrlSettings s;
    s.is_enabled = true;
    s.responses_per_second = rate;
    s.burst = burst;
    s.slip = slip;
    return s;
}

}  // namespace

TEST_CASE("a token bucket gives its burst at once, then its rate as time passes", "[server]") {
    TokenBucket bucket(10, 5);
    int taken = 0;
    for (int i = 0; i < 100; ++i) taken += bucket.take(1000) ? 1 : 0;
    CHECK(taken == 5);
    CHECK_FALSE(bucket.take(1050));  // half a token
    CHECK(bucket.take(1100));        // one token per 100 ms at 10/s
    CHECK_FALSE(bucket.take(1100));
    CHECK_FALSE(bucket.take(900));   // time never runs backwards
}

TEST_CASE("rrl sends the budget, then slips every slip-th limited response and drops the rest", "[server]") {
    ResponseRateLimiter rrl(settings(10, 4, 3));
    const auto client = *parse_address("192.0.2.77");
    std::vector<RrlVerdict> verdicts;
    for (int i = 0; i < 13; ++i) verdicts.push_back(rrl.judge(client, 5000));
    for (int i = 0; i < 4; ++i) CHECK(verdicts[i] == RrlVerdict::send);
    // Limited responses 1..9: every 3rd slips.
    for (int i = 4; i < 13; ++i) CHECK(verdicts[i] == ((i - 3) % 3 == 0 ? RrlVerdict::slip : RrlVerdict::drop));
    CHECK(rrl.judge(client, 5100) == RrlVerdict::send);  // one token back after 100 ms
}

TEST_CASE("rrl budgets are per /24 and per /56, so neighbours share and strangers do not", "[server]") {
    ResponseRateLimiter rrl(settings(1, 1, 0));
    CHECK(rrl.judge(*parse_address("198.51.100.1"), 1000) == RrlVerdict::send);
    CHECK(rrl.judge(*parse_address("198.51.100.200"), 1000) == RrlVerdict::drop);  // same /24
    CHECK(rrl.judge(*parse_address("198.51.101.1"), 1000) == RrlVerdict::send);    // another /24
    CHECK(rrl.judge(*parse_address("2001:db8:0:ff::1"), 1000) == RrlVerdict::send);
    CHECK(rrl.judge(*parse_address("2001:db8:0:80::1"), 1000) == RrlVerdict::drop);   // same /56
    CHECK(rrl.judge(*parse_address("2001:db8:0:100::1"), 1000) == RrlVerdict::send);   // another /56
}

TEST_CASE("rrl never limits exempt networks, and does nothing when disabled", "[server]") {
    RrlSettings s = settings(1, 1, 0);
    s.exempt.push_back(*parse_network("10.0.0.0/8", true));
    ResponseRateLimiter rrl(s);
    for (int i = 0; i < 50; ++i) CHECK(rrl.judge(*parse_address("10.1.2.3"), 1000) == RrlVerdict::send);
    ResponseRateLimiter off(RrlSettings{});
    for (int i = 0; i < 50; ++i) CHECK(off.judge(*parse_address("192.0.2.1"), 1000) == RrlVerdict::send);
}

TEST_CASE("a truncated response keeps the header and question, sets TC and drops every record", "[server]") {
    // Header (ID 0x1234, QR AA, 1 question, 1 answer) + question "a." A IN + an A record.
    std::vector<uint8_t> response = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,
                                     1, 'a', 0, 0, 1, 0, 1,
                                     0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
    const std::size_t size = meridian::server::truncate_response(response.data(), response.size());
    REQUIRE(size == 19);
    CHECK(meridian::dns::read_u16(response.data()) == 0x1234);
    CHECK((meridian::dns::read_u16(response.data() + 2) & meridian::dns::flag::TC) != 0);
    CHECK(meridian::dns::read_u16(response.data() + 6) == 0);
    CHECK(meridian::dns::read_u16(response.data() + 10) == 0);
    std::vector<uint8_t> runt = {1, 2, 3};
    CHECK(meridian::server::truncate_response(runt.data(), runt.size()) == 0);
}

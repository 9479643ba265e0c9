// TSIG (RFC 8945) with HMAC-SHA256: reading a message's TSIG record, verifying a request, and
// signing responses and requests, a transfer's messages chained by their MACs (§5.3.1).
// Control-plane and transfer code only: it allocates. No I/O; time is passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "answer/snapshot.hpp"

namespace meridian::xfr {

// TSIG error codes (RFC 8945 §3, the TSIG Error field).
namespace tsig_error {
inline constexpr uint16_t NOERROR = 0, BADSIG = 16, BADKEY = 17, BADTIME = 18;
}
inline constexpr uint16_t kFudgeSeconds = 300;  // the RFC 8945 §10 recommended fudge
inline constexpr std::size_t kMacSize = 32;     // HMAC-SHA256, never truncated here
// "hmac-sha256." in wire form (RFC 8945 §6).
inline constexpr std::string_view kHmacSha256{"\013hmac-sha256\0", 13};

std::vector<uint8_t> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

struct TsigRecord {
    std::size_t offset = 0;  // where the record begins in its message
    std::string key_name;    // lower-case wire form
    std::string algorithm;   // lower-case wire form
    uint64_t time_signed = 0;
    uint16_t fudge = 0;
    std::vector<uint8_t> mac;
    uint16_t original_id = 0;
    uint16_t error = 0;
    std::vector<uint8_t> other;
};

// The TSIG record beginning at `offset`, which must be the message's last record; nullopt when
// it is malformed.
std::optional<TsigRecord> read_tsig(std::span<const uint8_t> message, std::size_t offset);

// Finds the TSIG record of any message (the last record of its additional section); nullopt
// when there is none or the message is malformed.
std::optional<TsigRecord> find_tsig(std::span<const uint8_t> message);

enum class TsigStatus : uint8_t { ok, formerr, badkey, badsig, badtime };

struct Verified {
    TsigStatus status = TsigStatus::formerr;
    const answer::TsigKey* key = nullptr;  // the key named, when the server has it
    TsigRecord record;
};

// Verifies the signed request `message` (RFC 8945 §5.2): key and algorithm known, MAC right,
// time within the fudge of `now_seconds`.
Verified verify_request(std::span<const uint8_t> message, std::size_t tsig_offset,
                        std::span<const answer::TsigKey> keys, uint64_t now_seconds);

// Signs a sequence of messages with one key: the first answers a request whose MAC it covers
// (RFC 8945 §5.3), each later one covers the prior MAC and only the timers (§5.3.1). A request
// of our own (NOTIFY) is signed with an empty request MAC.
class TsigSigner {
public:
    TsigSigner(const answer::TsigKey& key, std::vector<uint8_t> request_mac, uint64_t now_seconds)
        : key_(key), prior_mac_(std::move(request_mac)), now_seconds_(now_seconds) {}

    // Appends the TSIG record to `message` (a whole DNS message) and counts it in ARCOUNT.
    void sign(std::vector<uint8_t>* message, uint16_t error = tsig_error::NOERROR, std::span<const uint8_t> other = {});
    // Signs a request: no prior MAC in the digest (RFC 8945 §4.3.3).
    void sign_request(std::vector<uint8_t>* message);
    const std::vector<uint8_t>& last_mac() const noexcept { return prior_mac_; }
    // The time the signatures say they were made.
    void set_time_signed(uint64_t seconds) noexcept { now_seconds_ = seconds; }

private:
    void append(std::vector<uint8_t>* message, bool is_first, bool with_prior, uint16_t error,
                std::span<const uint8_t> other);

    const answer::TsigKey& key_;
    std::vector<uint8_t> prior_mac_;
    uint64_t now_seconds_;
    bool is_first_ = true;
};

// An unsigned TSIG record (MAC size 0) carrying `error`, for a request whose key or MAC failed
// (RFC 8945 §5.3.2: such errors are never signed).
void append_unsigned_tsig(std::vector<uint8_t>* message, const TsigRecord& request, uint16_t error);

}  // namespace meridian::xfr

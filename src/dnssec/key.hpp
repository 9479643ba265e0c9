// DNSSEC keys as operators keep them: the BIND key-file pair K<zone>+<alg>+<tag>.key (the DNSKEY
// record, presentation form) and .private (Private-key-format v1.3, with BIND's timing metadata)
// that `meridiand keygen`, ldns-keygen and dnssec-keygen write. Also the DNSKEY rdata, key tags
// (RFC 4034 Appendix B) and DS records (RFC 4509). Control plane: reads files, allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meridian::dnssec {

// The two algorithms Meridian signs with (RFC 8624 §3.1: MUST/RECOMMENDED for signing).
enum class Algorithm : uint8_t { ecdsap256sha256 = 13, ed25519 = 15 };

// "ecdsap256sha256"/"13" or "ed25519"/"15" → the algorithm; nullopt otherwise.
std::optional<Algorithm> algorithm_from_text(std::string_view text) noexcept;
std::string_view algorithm_name(Algorithm algorithm) noexcept;  // "ECDSAP256SHA256", "ED25519"

inline constexpr uint16_t kZoneKeyFlag = 0x0100;  // DNSKEY flags 256: a zone key (ZSK)
inline constexpr uint16_t kSepFlag = 0x0001;      // + SEP = 257: a key-signing key (KSK or CSK)
inline constexpr uint8_t kDnskeyProtocol = 3;
inline constexpr std::size_t kMaxSignatureSize = 64;  // both algorithms: r‖s of P-256, or Ed25519

// BIND's key timing metadata, seconds since the epoch; unset when absent from the files.
// A key is published (its DNSKEY served) from `publish` until `remove` (BIND's "Delete"), and
// signs from `activate` until `inactive`. Files without metadata (ldns-keygen writes none) are
// published and active from the start.
struct KeyTiming {
    std::optional<int64_t> created, publish, activate, inactive, remove;

    bool is_published(int64_t now) const noexcept;
    bool is_active(int64_t now) const noexcept;
    // The first event strictly after `now` (publish, activate, inactive or remove), if any.
    std::optional<int64_t> next_event(int64_t now) const noexcept;
};

// The private half, opaque to everything but sign.cpp (an OpenSSL EVP_PKEY).
class PrivateKey;

struct Key {
    std::string path;            // the files' common path, without ".key"/".private", for messages
    std::vector<uint8_t> owner;  // the zone apex, lower-case wire form
    uint16_t flags = kZoneKeyFlag | kSepFlag;
    Algorithm algorithm = Algorithm::ecdsap256sha256;
    std::vector<uint8_t> public_key;  // the DNSKEY public-key field (64 bytes P-256 x‖y, 32 Ed25519)
    uint16_t tag = 0;
    KeyTiming timing;
    std::shared_ptr<const PrivateKey> private_key;  // null only for keys made in tests from rdata

    bool is_sep() const noexcept { return (flags & kSepFlag) != 0; }
    std::vector<uint8_t> dnskey_rdata() const;  // flags, protocol 3, algorithm, public key
};

// Reads `base`.key and `base`.private (base = path without the suffix). The .key file's owner
// must be `zone` (presentation form, case-insensitive, trailing dot optional), the algorithm one
// of the two above, the private key the pair of the public one. On failure returns false and
// sets `error` to one line naming the file (and line) and what is wrong.
bool read_key(const std::string& base, std::string_view zone, Key* key, std::string* error);

// The bases of every K<zone>+<alg>+<tag>.key file in `directory` for `zone` (lower-cased zone
// name without the trailing dot, as BIND names them), sorted. Missing directory: empty.
std::vector<std::string> key_files_in(const std::string& directory, std::string_view zone);

// A new key pair for `zone`: CSK/KSK when `is_sep`, else ZSK; timing created = publish =
// activate = `now`. Null private key and `error` set on failure.
Key generate_key(std::string_view zone, Algorithm algorithm, bool is_sep, int64_t now, std::string* error);

// Writes K<zone>+<alg>+<tag>.key and .private into `directory` (both mode 0600, created
// atomically; an existing pair with the same name is never overwritten), with the timing metadata
// in both as BIND writes it; sets key->path. False with `error` on failure.
bool write_key(const std::string& directory, Key* key, std::string* error);

uint16_t key_tag(std::span<const uint8_t> dnskey_rdata) noexcept;  // RFC 4034 Appendix B

// DS rdata for a DNSKEY (RFC 4034 §5.1.4; digest type 2 = SHA-256, 4 = SHA-384).
std::vector<uint8_t> ds_rdata(std::span<const uint8_t> owner_wire, std::span<const uint8_t> dnskey_rdata,
                              uint8_t digest_type = 2);
// "example.com. 3600 IN DS 12345 13 2 ABCD…" — one line, as dnssec-dsfromkey prints it.
std::string ds_text(const Key& key, uint32_t ttl, uint8_t digest_type = 2);

}  // namespace meridian::dnssec

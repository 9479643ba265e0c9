// RRSIG generation (RFC 4034 §3, RFC 4035 §2.2) over RRsets in canonical form (RFC 4034 §6),
// and the signature validity windows. The signer writes into caller memory; OpenSSL may allocate
// inside, which is why answering signs only on a signature-cache miss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dnssec/key.hpp"

namespace meridian::dnssec {

// Signature inception and expiration (RFC 4034 §3.1.5: serial-number arithmetic on the wire).
struct Window {
    uint32_t inception = 0;
    uint32_t expiration = 0;
    bool operator==(const Window&) const noexcept = default;
};

// Windows aligned to the epoch so that every node and every restart within one refresh period
// signs with the same inception and expiration (no jitter): the period containing `now` starts
// at floor(now / refresh) * refresh; inception is that start minus `backdate` (clock skew of
// validators), expiration the start plus `validity`. A new window begins every `refresh`
// seconds, when the previous one still has validity - refresh seconds to run.
struct WindowPolicy {
    uint32_t validity = 14 * 86400;
    uint32_t refresh = 7 * 86400;
    uint32_t backdate = 3600;

    Window at(int64_t now) const noexcept;
    int64_t next_refresh(int64_t now) const noexcept;  // when the window after at(now) begins
};

// One RRset to sign. `owner` is the lower-case wire name; `rdatas` each in canonical form
// (embedded names lower-cased, RFC 4034 §6.2); order and duplicates do not matter, the signer
// sorts them (§6.3). The RRSIG labels field is counted from `owner`, a leading "*" excluded.
struct RRsetToSign {
    std::span<const uint8_t> owner;
    uint16_t type = 0;
    uint16_t rrclass = 1;
    uint32_t original_ttl = 0;
    std::span<const std::span<const uint8_t>> rdatas;
};

// Room for any RRSIG rdata this signer writes: 18 fixed bytes, the signer's name, the signature.
inline constexpr std::size_t kMaxRrsigRdataSize = 18 + 255 + kMaxSignatureSize;

// Writes the RRSIG rdata for `rrset` made with `key` (its owner is the signer's name) into
// `out`; returns its size, or 0 when the key has no private half, `out` is too small, an rdata
// is malformed, or the crypto library fails.
std::size_t sign(const Key& key, const RRsetToSign& rrset, Window window, std::span<uint8_t> out) noexcept;

// Verifies an RRSIG rdata over `rrset` with `key`'s public half (tests, and a self-check after
// signing a zone at load). Checks the covered type, algorithm, key tag, signer and labels too.
bool verify(const Key& key, const RRsetToSign& rrset, std::span<const uint8_t> rrsig_rdata) noexcept;

}  // namespace meridian::dnssec

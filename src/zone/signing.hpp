// How a signed zone is signed: its keys, which of them sign what at the moment it was signed, and
// the signature window. Part of the compiled zone (immutable); answering reads it to sign steered
// answers and denials online. docs/DNSSEC.md.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dnssec/key.hpp"
#include "dnssec/sign.hpp"

namespace meridian::zone {

// Keys that may sign at once (two algorithms during an algorithm rollover, two keys of one during
// a key rollover): the signatures an answer carries per RRset.
inline constexpr std::size_t kMaxSigners = 4;

// A zone's [dnssec] settings with the keys read for it.
struct SigningConfig {
    std::vector<std::shared_ptr<const dnssec::Key>> keys;  // every key found, published or not
    dnssec::WindowPolicy windows;
    uint32_t dnskey_ttl = 3600;
    bool publishes_cds = true;  // CDS and CDNSKEY for the SEP keys (RFC 7344)
};

// The zone's signing state at `signed_at`.
struct Signing {
    std::shared_ptr<const SigningConfig> config;
    // Active keys: those signing every RRset but the apex key sets (ZSKs and CSKs), and those
    // signing DNSKEY, CDS and CDNSKEY (KSKs and CSKs). Point into config->keys.
    std::vector<const dnssec::Key*> zone_signers;
    std::vector<const dnssec::Key*> key_signers;
    // The SEP keys the parent's DS should point at (the CDS/CDNSKEY served, `meridiand ds`):
    // published and not retired (before their Inactive time), so that a new KSK/CSK's DS can be
    // at the parent before it signs (a double-DS rollover).
    std::vector<const dnssec::Key*> parent_keys;
    dnssec::Window window;
    int64_t signed_at = 0;
    // When the zone must be signed again: the next window, or the next key timing event.
    int64_t next_event = 0;
};

}  // namespace meridian::zone

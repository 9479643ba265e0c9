// Signatures made while answering (steered answers, wildcard expansions, compact denials), kept
// in a bounded cache so that a repeated answer is signed once: one per worker, used by that
// worker's thread only, allocated once. A lookup that hits neither allocates nor locks; a miss
// signs (OpenSSL may allocate) when the signing budget allows, so that a flood of names nobody
// asked before (a random-subdomain attack) cannot take every CPU cycle. docs/DNSSEC.md.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/token_bucket.hpp"
#include "dnssec/key.hpp"
#include "dnssec/sign.hpp"

namespace meridian::answer {

// What the cache did, for /metrics; written by the owning worker only (relaxed stores), read by
// the control thread.
struct SigningCounters {
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};     // signed now
    std::atomic<uint64_t> refused{0};    // not signed: over budget
    std::atomic<uint64_t> failures{0};   // the crypto library failed
    std::atomic<uint64_t> evictions{0};  // a valid entry replaced by a new one
    std::atomic<uint64_t> entries{0};
};

class OnlineSigner {
public:
    // `capacity` cached signatures (rounded up to a multiple of kWays; 0: no cache; the memory is
    // taken on the first signature made, so a server without signed zones pays nothing), at most
    // `signatures_per_second` signed on misses (with a burst of as many), keyed by `hash_keys`
    // (random per process, so that nobody can choose colliding names).
    OnlineSigner(std::size_t capacity, double signatures_per_second, std::array<uint64_t, 2> hash_keys);

    enum class Result : uint8_t { ok, over_budget, failed };

    // The RRSIG rdata of `rrset` by `key` in `window`, written to `out` (kMaxRrsigRdataSize
    // bytes) with its size in `*size`: from the cache, or signed now when the budget at `now_ms`
    // allows (now_ms 0: no budget, for tools and tests).
    Result signature(const dnssec::Key& key, const dnssec::RRsetToSign& rrset, dnssec::Window window, uint64_t now_ms,
                     std::span<uint8_t> out, std::size_t* size) noexcept;

    const SigningCounters& counters() const noexcept { return counters_; }
    std::size_t capacity() const noexcept { return capacity_; }
    // Bytes one cached signature takes (the cache takes capacity() of them once in use).
    static constexpr std::size_t entry_bytes() noexcept { return sizeof(Entry); }

    static constexpr std::size_t kWays = 4;

private:
    // The signature part of an RRSIG rdata: the 18 fixed bytes before the signer's name and the
    // signature after it (the name is the key's owner, written back from the key).
    struct Entry {
        uint64_t digest0 = 0;
        uint64_t digest1 = 0;  // 0 and 0: empty
        uint32_t last_use = 0;
        uint8_t signature_size = 0;
        std::array<uint8_t, 18> fixed{};
        std::array<uint8_t, dnssec::kMaxSignatureSize> signature{};
    };

    std::size_t capacity_;
    std::vector<Entry> entries_;  // empty until the first signature is made
    std::array<uint64_t, 2> hash_keys_;
    TokenBucket budget_;
    bool has_budget_;
    uint32_t clock_ = 0;
    SigningCounters counters_;
};

}  // namespace meridian::answer

#include "answer/online_signer.hpp"

#include <algorithm>
#include <new>

#include "common/siphash.hpp"
#include "dns/wire.hpp"

namespace meridian::answer {

namespace {

void bump(std::atomic<uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Everything the signature depends on, the records taken in canonical order (RFC 4034 §6.3) so
// that the same addresses in another order find the same entry.
std::array<uint64_t, 2> digest_of(const std::array<uint64_t, 2>& keys, const dnssec::Key& key,
                                  const dnssec::RRsetToSign& rrset, dnssec::Window window) noexcept {
    SipHash128 h(keys[0], keys[1]);
    h.add(rrset.owner.data(), rrset.owner.size());
    h.add_u16(rrset.type);
    h.add_u16(rrset.rrclass);
    h.add_u32(rrset.original_ttl);
    h.add_u32(static_cast<uint32_t>(rrset.rdatas.size()));
    const auto less = [](std::span<const uint8_t> a, std::span<const uint8_t> b) {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
    };
    // Each record after the one before it in order: a selection over the (few) records, no copy
    // and no allocation. Past kSortedRecords they are taken as given: an answer of many addresses
    // in another order is then another entry (a miss more, never a wrong signature).
    constexpr std::size_t kSortedRecords = 16;
    if (rrset.rdatas.size() > kSortedRecords) {
        for (const auto& rdata : rrset.rdatas) {
            h.add_u16(static_cast<uint16_t>(rdata.size()));
            h.add(rdata.data(), rdata.size());
        }
    }
    const std::span<const uint8_t>* previous = nullptr;
    for (std::size_t n = 0; n < rrset.rdatas.size() && rrset.rdatas.size() <= kSortedRecords; ++n) {
        const std::span<const uint8_t>* next = nullptr;
        for (const auto& rdata : rrset.rdatas) {
            const bool is_after = previous == nullptr || less(*previous, rdata) ||
                                  (!less(rdata, *previous) && &rdata > previous);
            if (is_after && (next == nullptr || less(rdata, *next))) next = &rdata;
        }
        if (next == nullptr) break;
        h.add_u16(static_cast<uint16_t>(next->size()));
        h.add(next->data(), next->size());
        previous = next;
    }
    h.add_u16(key.tag);
    h.add_u16(static_cast<uint16_t>(key.algorithm));
    h.add(key.public_key.data(), std::min<std::size_t>(key.public_key.size(), 16));
    h.add_u32(window.inception);
    h.add_u32(window.expiration);
    std::array<uint64_t, 2> digest = h.finish();
    digest[0] |= 1;  // never the empty entry's 0, 0
    return digest;
}

}  // namespace

OnlineSigner::OnlineSigner(std::size_t capacity, double signatures_per_second, std::array<uint64_t, 2> hash_keys)
    : capacity_((capacity + kWays - 1) / kWays * kWays), hash_keys_(hash_keys),
      budget_(signatures_per_second, signatures_per_second), has_budget_(signatures_per_second > 0) {}

OnlineSigner::Result OnlineSigner::signature(const dnssec::Key& key, const dnssec::RRsetToSign& rrset,
                                             dnssec::Window window, uint64_t now_ms, std::span<uint8_t> out,
                                             std::size_t* size) noexcept {
    const std::array<uint64_t, 2> digest = digest_of(hash_keys_, key, rrset, window);
    const std::size_t signer_size = key.owner.size();
    Entry* victim = nullptr;  // the empty way of the set, else the one used longest ago
    ++clock_;
    auto age = [this](const Entry& e) { return e.digest0 == 0 && e.digest1 == 0 ? UINT32_MAX : clock_ - e.last_use; };
    if (!entries_.empty()) {
        const std::size_t sets = entries_.size() / kWays;
        Entry* set = entries_.data() + (digest[0] >> 1) % sets * kWays;
        for (std::size_t i = 0; i < kWays; ++i) {
            Entry& e = set[i];
            if (e.digest0 == digest[0] && e.digest1 == digest[1]) {
                e.last_use = clock_;
                bump(counters_.hits);
                std::copy(e.fixed.begin(), e.fixed.end(), out.begin());
                std::copy(key.owner.begin(), key.owner.end(), out.begin() + 18);
                std::copy(e.signature.begin(), e.signature.begin() + e.signature_size,
                          out.begin() + 18 + static_cast<std::ptrdiff_t>(signer_size));
                *size = 18 + signer_size + e.signature_size;
                return Result::ok;
            }
            if (victim == nullptr || age(e) > age(*victim)) victim = &e;
        }
    }
    if (has_budget_ && now_ms != 0 && !budget_.take(now_ms)) {
        bump(counters_.refused);
        return Result::over_budget;
    }
    const std::size_t made = dnssec::sign(key, rrset, window, out);
    if (made < 18 + signer_size || made - 18 - signer_size > dnssec::kMaxSignatureSize) {
        bump(counters_.failures);
        return Result::failed;
    }
    bump(counters_.misses);
    *size = made;
    if (entries_.empty() && capacity_ != 0) {
        try {
            entries_.resize(capacity_);
        } catch (const std::bad_alloc&) {
            capacity_ = 0;  // no cache rather than no answer
        }
        return Result::ok;  // the next miss is the first one kept
    }
    if (victim != nullptr) {
        const bool was_empty = victim->digest0 == 0 && victim->digest1 == 0;
        if (was_empty) bump(counters_.entries);
        else bump(counters_.evictions);
        victim->digest0 = digest[0];
        victim->digest1 = digest[1];
        victim->last_use = clock_;
        std::copy(out.begin(), out.begin() + 18, victim->fixed.begin());
        victim->signature_size = static_cast<uint8_t>(made - 18 - signer_size);
        std::copy(out.begin() + 18 + static_cast<std::ptrdiff_t>(signer_size),
                  out.begin() + static_cast<std::ptrdiff_t>(made), victim->signature.begin());
    }
    return Result::ok;
}

}  // namespace meridian::answer

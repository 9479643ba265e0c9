#include "stats/client_samples.hpp"

#include <algorithm>

namespace meridian::stats {

namespace {

constexpr uint64_t kWritten = uint64_t{1} << 63;

// A letter A–Z as 1–26, 0 for none; anything else does not pack.
std::optional<uint64_t> letter(char c) noexcept {
    if (c == 0) return 0;
    if (c < 'A' || c > 'Z') return std::nullopt;
    return static_cast<uint64_t>(c - 'A' + 1);
}

}  // namespace

// bits 0–19 name, 20–27 route + 1, 28–32 and 33–37 the country's letters, 38–53 region, 63 written.
std::optional<uint64_t> pack(const ClientSample& s) noexcept {
    if (s.name >= kMaxSampledNames || s.region >= kMaxSampledRegions || s.route < -1 || s.route > kMaxSampledRoute)
        return std::nullopt;
    const auto first = letter(s.country[0]);
    const auto second = letter(s.country[1]);
    if (!first || !second || (*first == 0) != (*second == 0)) return std::nullopt;
    return kWritten | s.name | (static_cast<uint64_t>(s.route + 1) << 20) | (*first << 28) | (*second << 33) |
           (static_cast<uint64_t>(s.region) << 38);
}

std::optional<ClientSample> unpack(uint64_t word) noexcept {
    if ((word & kWritten) == 0) return std::nullopt;
    ClientSample s;
    s.name = static_cast<uint32_t>(word & (kMaxSampledNames - 1));
    s.route = static_cast<int32_t>((word >> 20) & 0xff) - 1;
    const auto first = static_cast<unsigned>((word >> 28) & 0x1f);
    const auto second = static_cast<unsigned>((word >> 33) & 0x1f);
    if (first > 26 || second > 26 || (first == 0) != (second == 0)) return std::nullopt;
    if (first != 0) s.country = {static_cast<char>('A' + first - 1), static_cast<char>('A' + second - 1)};
    s.region = static_cast<uint32_t>((word >> 38) & (kMaxSampledRegions - 1));
    return s;
}

ClientSamples::ClientSamples(std::size_t workers, bool is_enabled) : workers_(is_enabled ? workers : 0) {
    if (workers_ == 0) return;
    rings_ = std::make_unique<Ring[]>(workers_);
    drained_ = std::make_unique<uint64_t[]>(workers_);
    std::fill_n(drained_.get(), workers_, 0);
}

void ClientSamples::record(unsigned worker, const ClientSample& sample) noexcept {
    if (worker >= workers_) return;
    const auto word = pack(sample);
    if (!word) return;
    Ring& ring = rings_[worker];
    const uint64_t n = ring.written.load(std::memory_order_relaxed);
    ring.slots[n % kRingSize].store(*word, std::memory_order_relaxed);
    ring.written.store(n + 1, std::memory_order_release);
}

void ClientSamples::drain(std::vector<ClientSample>* out, uint64_t* lost) {
    for (std::size_t w = 0; w < workers_; ++w) {
        Ring& ring = rings_[w];
        const uint64_t written = ring.written.load(std::memory_order_acquire);
        uint64_t from = drained_[w];
        if (written - from > kRingSize) {
            if (lost != nullptr) *lost += written - from - kRingSize;
            from = written - kRingSize;
        }
        for (uint64_t i = from; i < written; ++i) {
            // A slot the worker has lapped meanwhile holds a newer sample: still a fair sample.
            if (const auto s = unpack(ring.slots[i % kRingSize].load(std::memory_order_relaxed))) out->push_back(*s);
        }
        drained_[w] = written;
    }
}

}  // namespace meridian::stats

// tools/bench: a fixed-size log-linear latency histogram (nanoseconds, ~1.6 % resolution).
// Recording is a few shifts and an increment: no allocation per sample.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace bench {

class Histogram {
public:
    static constexpr unsigned kSubBits = 6;
    static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // 64 buckets per power of two
    static constexpr unsigned kMaxExponent = 40;               // ~1100 s
    static constexpr std::size_t kBuckets = kSub + (kMaxExponent - kSubBits + 1) * kSub;

    void record(uint64_t ns) noexcept {
        ++buckets_[index(ns)];
        ++count_;
        sum_ += ns;
        if (ns > max_) max_ = ns;
    }

    void merge(const Histogram& other) noexcept {
        for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
        count_ += other.count_;
        sum_ += other.sum_;
        if (other.max_ > max_) max_ = other.max_;
    }

    uint64_t count() const noexcept { return count_; }
    double mean() const noexcept { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
    uint64_t max() const noexcept { return max_; }

    // The value at quantile q (0…1): the middle of the bucket holding it.
    double quantile(double q) const noexcept {
        if (count_ == 0) return 0.0;
        auto rank = static_cast<uint64_t>(q * static_cast<double>(count_));
        if (rank >= count_) rank = count_ - 1;
        uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            seen += buckets_[i];
            if (seen > rank) {
                const auto low = static_cast<double>(lower_bound(i));
                const auto high = static_cast<double>(lower_bound(i + 1));
                const double mid = (low + high) / 2.0;
                return mid > static_cast<double>(max_) ? static_cast<double>(max_) : mid;
            }
        }
        return static_cast<double>(max_);
    }

private:
    static std::size_t index(uint64_t v) noexcept {
        if (v < kSub) return static_cast<std::size_t>(v);
        unsigned exponent = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= kSubBits
        if (exponent > kMaxExponent) return kBuckets - 1;
        const unsigned shift = exponent - kSubBits;
        return static_cast<std::size_t>(kSub + shift * kSub + ((v >> shift) - kSub));
    }

    static uint64_t lower_bound(std::size_t i) noexcept {
        if (i < kSub) return i;
        const uint64_t shift = (i - kSub) / kSub;
        const uint64_t mantissa = kSub + (i - kSub) % kSub;
        return mantissa << shift;
    }

    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
};

}  // namespace bench

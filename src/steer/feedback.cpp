#include "steer/feedback.hpp"

#include <algorithm>

namespace meridian::steer {

namespace {

// Layout of a region slot, low bits first: capacity_factor 11, load_factor 11, has_latency 1,
// latency_tenths_ms 32, is_commit_used 1 = 56 bits, so a reader never sees half of an update.
constexpr uint64_t kFactorMask = (1u << 11) - 1;

uint64_t pack(const RegionFeedback& f) noexcept {
    const uint64_t capacity = std::min<uint16_t>(f.capacity_factor, kWholeShare);
    const uint64_t load = std::min<uint16_t>(f.load_factor, kWholeShare);
    return capacity | (load << 11) | (uint64_t{f.has_latency} << 22) | (uint64_t{f.latency_tenths_ms} << 23) |
           (uint64_t{f.is_commit_used} << 55);
}

RegionFeedback unpack(uint64_t word) noexcept {
    RegionFeedback f;
    f.capacity_factor = static_cast<uint16_t>(word & kFactorMask);
    f.load_factor = static_cast<uint16_t>((word >> 11) & kFactorMask);
    f.has_latency = ((word >> 22) & 1u) != 0;
    f.latency_tenths_ms = static_cast<uint32_t>((word >> 23) & 0xFFFFFFFFu);
    f.is_commit_used = ((word >> 55) & 1u) != 0;
    return f;
}

}  // namespace

FeedbackBoard::FeedbackBoard(std::size_t regions, std::size_t targets)
    : regions_(regions), targets_(targets), region_slots_(std::make_unique<std::atomic<uint64_t>[]>(regions)),
      weights_(std::make_unique<std::atomic<uint32_t>[]>(targets)) {
    for (std::size_t i = 0; i < regions; ++i) region_slots_[i].store(pack({}), std::memory_order_relaxed);
    for (std::size_t i = 0; i < targets; ++i) weights_[i].store(kNoWeight, std::memory_order_relaxed);
}

RegionFeedback FeedbackBoard::region(std::size_t slot) const noexcept {
    return unpack(region_slots_[slot].load(std::memory_order_relaxed));
}

void FeedbackBoard::set_region(std::size_t slot, const RegionFeedback& feedback) noexcept {
    region_slots_[slot].store(pack(feedback), std::memory_order_relaxed);
}

}  // namespace meridian::steer

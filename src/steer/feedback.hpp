// What the control loop has learned about a zone's regions and adaptive routes, published for
// decide() to read without locks: per region the capacity and shed-load factors and the latency
// EWMA; per target of an adaptive route its effective weight. Written only by the control thread
// (adapt::Controller), read by workers with one relaxed load per slot.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace meridian::steer {

// Factors are in permille: 1000 keeps a region's whole share, 0 sends it nothing.
inline constexpr uint16_t kWholeShare = 1000;

struct RegionFeedback {
    uint16_t capacity_factor = kWholeShare;  // share of what geography offers that the region may take
    uint16_t load_factor = kWholeShare;      // from its reported load and the shed watermarks
    bool has_latency = false;
    uint32_t latency_tenths_ms = 0;  // the latency EWMA in tenths of a millisecond
    bool is_commit_used = false;     // its committed volume for this period is used up (strategy cost)

    // The chance that the region takes an answer offered to it, in permille.
    uint16_t admission() const noexcept {
        return static_cast<uint16_t>(uint32_t{capacity_factor} * load_factor / kWholeShare);
    }
};

// A region taking less than this share of the answers offered to it (its admission) is sent too
// few for them to say what it was offered: the control loop and the demand forecasts then do not
// divide by the share (adapt::Controller, ops::DemandForecasts).
inline constexpr double kMinShareToMeasure = 0.005;

// An adaptive route target's weight in parts per million of its route; kNoWeight until the
// controller has published one (decide() then uses the configured weight).
inline constexpr uint32_t kNoWeight = UINT32_MAX;
inline constexpr uint32_t kShareScale = 1000000;

class FeedbackBoard {
public:
    // `regions`: one slot per policy region; `targets`: Policy::target_slots.
    FeedbackBoard(std::size_t regions, std::size_t targets);

    std::size_t regions() const noexcept { return regions_; }
    std::size_t targets() const noexcept { return targets_; }

    RegionFeedback region(std::size_t slot) const noexcept;
    void set_region(std::size_t slot, const RegionFeedback& feedback) noexcept;
    uint32_t weight(std::size_t slot) const noexcept { return weights_[slot].load(std::memory_order_relaxed); }
    void set_weight(std::size_t slot, uint32_t weight) noexcept {
        weights_[slot].store(weight, std::memory_order_relaxed);
    }
    // The weight published for target `index` of the route whose targets start at `first_slot`
    // (Route::first_slot); nullopt while none is (kNoWeight) or for a slot out of range.
    std::optional<uint32_t> learned_weight(std::size_t first_slot, std::size_t index) const noexcept {
        const std::size_t slot = first_slot + index;
        if (slot >= targets_) return std::nullopt;
        const uint32_t w = weight(slot);
        return w == kNoWeight ? std::nullopt : std::optional<uint32_t>(w);
    }

private:
    std::size_t regions_;
    std::size_t targets_;
    std::unique_ptr<std::atomic<uint64_t>[]> region_slots_;
    std::unique_ptr<std::atomic<uint32_t>[]> weights_;
};

}  // namespace meridian::steer

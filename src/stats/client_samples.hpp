// A sample of steered answers for the recommendations (ops::ClientMix, adapt::recommend): which
// name, route, client country and first region, packed in one 64-bit word. Each worker writes a
// ring of its own (one relaxed store and a release of its write count, no locked instruction, no
// allocation); the control loop drains the rings on each analytics tick. A ring that laps before
// it is drained keeps its newest kRingSize samples: the rest are counted as lost.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace meridian::stats {

struct ClientSample {
    uint32_t name = 0;              // into the policy's names; < kMaxSampledNames
    int32_t route = -1;             // -1: the fail policy answered
    std::array<char, 2> country{};  // ISO 3166-1 alpha-2, upper case; {0, 0}: not located
    uint32_t region = 0;            // the first region answered; < kMaxSampledRegions

    bool operator==(const ClientSample&) const = default;
};

// What fits the packing; a sample outside it is not recorded.
inline constexpr uint32_t kMaxSampledNames = 1U << 20;
inline constexpr uint32_t kMaxSampledRegions = 1U << 16;
inline constexpr int32_t kMaxSampledRoute = 254;

// Packs a sample (nullopt when it does not fit); bit 63 marks a written slot.
std::optional<uint64_t> pack(const ClientSample& sample) noexcept;
std::optional<ClientSample> unpack(uint64_t word) noexcept;

class ClientSamples {
public:
    static constexpr std::size_t kRingSize = 512;

    // `workers` rings, or none at all when `is_enabled` is false (a zone without steered names).
    ClientSamples(std::size_t workers, bool is_enabled);

    bool is_enabled() const noexcept { return workers_ > 0; }
    // Called by `worker` only (< the workers given).
    void record(unsigned worker, const ClientSample& sample) noexcept;

    // Control loop only: the samples written since the last drain, oldest first per worker.
    // `lost` (when given) grows by those overwritten before they were drained.
    void drain(std::vector<ClientSample>* out, uint64_t* lost = nullptr);

private:
    struct alignas(64) Ring {
        std::atomic<uint64_t> written{0};
        std::array<std::atomic<uint64_t>, kRingSize> slots{};
    };
    std::size_t workers_;
    std::unique_ptr<Ring[]> rings_;
    std::unique_ptr<uint64_t[]> drained_;  // per worker, control loop only
};

}  // namespace meridian::stats

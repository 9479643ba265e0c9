// Hands immutable snapshots from the control thread to the workers without a lock on the query
// path. Publishing swaps one atomic pointer; a retired snapshot is freed once every worker has
// acquired a newer generation, so no worker can still be reading it (an epoch scheme, RCU-like).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "answer/snapshot.hpp"

namespace meridian::server {

class SnapshotPublisher {
public:
    explicit SnapshotPublisher(unsigned reader_count);
    ~SnapshotPublisher();
    SnapshotPublisher(const SnapshotPublisher&) = delete;
    SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

    // Control thread only.
    void publish(std::unique_ptr<const answer::Snapshot> snapshot);
    // The snapshot most recently published (control thread only).
    const answer::Snapshot* current() const noexcept { return current_owner_.get(); }
    // Frees retired snapshots that no reader can hold any more; returns how many remain.
    std::size_t reclaim();

    // Reader `reader` (one per worker thread) takes the newest snapshot. The pointer stays valid
    // until the same reader calls acquire() again.
    const answer::Snapshot* acquire(unsigned reader) noexcept;

private:
    struct alignas(64) ReaderSlot {
        std::atomic<uint64_t> seen_generation{0};
    };

    std::atomic<const answer::Snapshot*> current_{nullptr};
    std::atomic<uint64_t> generation_{0};
    std::unique_ptr<ReaderSlot[]> readers_;
    unsigned reader_count_;
    std::unique_ptr<const answer::Snapshot> current_owner_;
    // (generation that replaced it, snapshot)
    std::vector<std::pair<uint64_t, std::unique_ptr<const answer::Snapshot>>> retired_;
};

}  // namespace meridian::server

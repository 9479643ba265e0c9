#include "server/snapshot_publisher.hpp"

#include <algorithm>

namespace meridian::server {

SnapshotPublisher::SnapshotPublisher(unsigned reader_count)
    : readers_(std::make_unique<ReaderSlot[]>(reader_count)), reader_count_(reader_count) {}

SnapshotPublisher::~SnapshotPublisher() = default;

void SnapshotPublisher::publish(std::unique_ptr<const answer::Snapshot> snapshot) {
    // The pointer changes before the generation does: a reader that sees the new generation
    // is sure to load the new pointer, and one that saw the old generation is counted as
    // possibly holding the old snapshot.
    current_.store(snapshot.get());
    const uint64_t generation = generation_.load() + 1;
    generation_.store(generation);
    if (current_owner_) retired_.emplace_back(generation, std::move(current_owner_));
    current_owner_ = std::move(snapshot);
}

std::size_t SnapshotPublisher::reclaim() {
    uint64_t oldest_seen = UINT64_MAX;
    for (unsigned i = 0; i < reader_count_; ++i)
        oldest_seen = std::min(oldest_seen, readers_[i].seen_generation.load());
    std::erase_if(retired_, [&](const auto& entry) { return entry.first <= oldest_seen; });
    return retired_.size();
}

const answer::Snapshot* SnapshotPublisher::acquire(unsigned reader) noexcept {
    const uint64_t generation = generation_.load();
    const answer::Snapshot* snapshot = current_.load();
    readers_[reader].seen_generation.store(generation);
    return snapshot;
}

}  // namespace meridian::server

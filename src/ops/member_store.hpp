// Region members set while serving — by the push API, and by member feeds — kept by region key,
// laid over the zones as their files compiled them, and kept in a state file so that a restart
// serves the same members. A region without an entry answers with its zone file's addresses.
// Runs on the control loop; what it builds is published as a new snapshot like a reload.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "answer/snapshot.hpp"
#include "config/member_document.hpp"
#include "ops/region_key.hpp"

namespace meridian::ops {

enum class MemberSource : uint8_t { push, feed };
const char* to_string(MemberSource source) noexcept;

struct MemberSet {
    MemberSource source = MemberSource::push;
    std::vector<config::RegionMember> members;
    std::chrono::system_clock::time_point updated;
};

// How a region's member feed is doing, for /status and the log.
struct FeedStatus {
    std::string source;                               // the URL or file
    uint64_t reads = 0;                               // documents fetched or read
    uint64_t not_modified = 0;                        // … of which unchanged (HTTP 304, or the same bytes)
    uint64_t rejected = 0;                            // … refused (the last good members kept)
    std::chrono::system_clock::time_point last_read;  // epoch: never
    std::string error;                                // the last read's error, "" when it was good
    std::chrono::system_clock::time_point error_since;
};

// What a change asked of the store came to: an HTTP status and, unless 200, why not.
struct MemberChange {
    int status = 200;
    std::string error;
    bool ok() const noexcept { return status == 200; }
};

class MemberStore {
public:
    explicit MemberStore(std::filesystem::path state_file);

    // Reads the state file; a missing file is no members, a broken one is logged and ignored.
    void load();

    // After zones were loaded from their files: remembers each zone as compiled and returns the
    // snapshot to serve, every region with an entry taking its members.
    std::unique_ptr<answer::Snapshot> serve(const answer::Snapshot& loaded, std::size_t workers);
    // After an entry of zone `origin` changed: `current` with that zone rebuilt from what its
    // file compiled and the entries now kept (its counters carried over).
    std::unique_ptr<answer::Snapshot> rebuild(const answer::Snapshot& current, const std::string& origin,
                                              std::size_t workers) const;

    // Replaces the members of `key` (validated against the region's rules).
    MemberChange set(const answer::Snapshot& snapshot, const RegionKey& key, std::vector<config::RegionMember> members,
                     MemberSource source);
    // Adds or replaces `upserts` (by address) and removes `removals` from the region's members
    // (its zone file's addresses when it has no entry yet).
    MemberChange patch(const answer::Snapshot& snapshot, const RegionKey& key,
                       const std::vector<config::RegionMember>& upserts, const std::vector<geo::IpAddress>& removals);
    // Back to the zone file's addresses; 404 when the region has no entry.
    MemberChange reset(const answer::Snapshot& snapshot, const RegionKey& key);
    // What a region's feed gave: a document (`body`), or an error reading it. A valid document
    // that differs from the region's members replaces them (*is_changed); anything wrong keeps
    // the last good members and is recorded, with the reason, in the feed's status.
    // Returns whether the document was good (taken, or the members the region has).
    bool feed_read(const answer::Snapshot& snapshot, const RegionKey& key, const std::string& source,
                   const std::string* body, const std::string& error, bool* is_changed);
    // The feed read came back unchanged (HTTP 304, or the file's bytes as before).
    void feed_unchanged(const RegionKey& key, const std::string& source);
    const FeedStatus* feed_status(const RegionKey& key) const;

    const MemberSet* find(const RegionKey& key) const;
    const std::map<RegionKey, MemberSet>& entries() const noexcept { return entries_; }
    // The members a region answers with now: its entry's, else its zone file's.
    std::vector<config::RegionMember> members_of(const zone::ServedZone& served, std::size_t region) const;
    const std::filesystem::path& state_file() const noexcept { return state_file_; }

private:
    // Finds the region, refusing those that cannot take members (and, for pushes, those fed).
    MemberChange check_region(const answer::Snapshot& snapshot, const RegionKey& key, bool is_push) const;
    MemberChange store(const answer::Snapshot& snapshot, const RegionKey& key,
                       std::vector<config::RegionMember> members, MemberSource source);
    std::shared_ptr<const zone::Zone> overlaid(const std::shared_ptr<const zone::Zone>& base) const;
    void save() const;

    std::filesystem::path state_file_;
    std::map<RegionKey, MemberSet> entries_;
    std::map<RegionKey, FeedStatus> feeds_;
    std::map<std::string, std::shared_ptr<const zone::Zone>> bases_;  // by origin text: as the files compiled them
};

// GET /members/ZONE/REGION: where a region's members come from and what they are.
nlohmann::json region_members_json(const MemberStore& store, const zone::ServedZone& served, std::size_t region);
// GET /members[?zone=Z]: every address region of every zone (or of zone Z); null when there is
// no zone Z.
nlohmann::json members_document(const MemberStore& store, const answer::Snapshot& snapshot, const std::string& zone);

}  // namespace meridian::ops

#include "ops/override_store.hpp"

#include "common/log.hpp"

namespace meridian::ops {

namespace {

void write_action(const RegionRef& where, health::Override action) {
    health::HealthBoard& board = where.served->runtime->health();
    health::RegionHealth h = board.read(where.index);
    h.override = action;
    board.write(where.index, h);
}

}  // namespace

const char* action_name(health::Override action) noexcept {
    switch (action) {
    case health::Override::force_up: return "up";
    case health::Override::force_down: return "down";
    case health::Override::drain: return "drain";
    case health::Override::none: return "none";
    }
    return "none";
}

int64_t epoch_seconds(SystemClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool OverrideStore::set(const answer::Snapshot& snapshot, const RegionKey& key, Override o) {
    const RegionRef where = find_region(snapshot, key);
    if (!where) return false;
    write_action(where, o.action);
    log::warning("override: " + key.to_string() + " set to " + action_name(o.action) +
                 (o.reason.empty() ? "" : " (" + o.reason + ")"));
    overrides_[key] = std::move(o);
    return true;
}

OverrideStore::Cleared OverrideStore::clear(const answer::Snapshot& snapshot, const RegionKey& key) {
    const RegionRef where = find_region(snapshot, key);
    if (!where) return Cleared::no_region;
    write_action(where, health::Override::none);
    if (overrides_.erase(key) == 0) return Cleared::no_override;
    log::info("override: " + key.to_string() + " cleared");
    return Cleared::cleared;
}

std::vector<RegionKey> OverrideStore::expire(const answer::Snapshot& snapshot, SystemClock::time_point now) {
    std::vector<RegionKey> expired;
    for (const auto& [key, o] : overrides_) {
        if (o.is_expiring() && now >= o.expires) expired.push_back(key);
    }
    for (const RegionKey& key : expired) {
        if (clear(snapshot, key) == Cleared::no_region) overrides_.erase(key);
        log::info("override: " + key.to_string() + " expired");
    }
    return expired;
}

std::vector<RegionKey> OverrideStore::apply(const answer::Snapshot& snapshot) {
    std::vector<RegionKey> dropped;
    for (auto it = overrides_.begin(); it != overrides_.end();) {
        if (const RegionRef where = find_region(snapshot, it->first)) {
            write_action(where, it->second.action);
            ++it;
        } else {
            log::info("override of " + it->first.to_string() + " dropped: the region is gone after the reload");
            dropped.push_back(it->first);
            it = overrides_.erase(it);
        }
    }
    return dropped;
}

const Override* OverrideStore::find(const RegionKey& key) const {
    const auto it = overrides_.find(key);
    return it == overrides_.end() ? nullptr : &it->second;
}

}  // namespace meridian::ops

#include "ops/member_store.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <system_error>

#include "common/atomic_file.hpp"
#include "common/log.hpp"
#include "dns/name.hpp"
#include "ops/override_store.hpp"

namespace meridian::ops {

namespace {

using nlohmann::json;

// What the state file holds; a file of another format is moved aside, not overwritten.
constexpr int kFormat = 1;

// Entries read back from the state file were checked when they were set.
constexpr config::MemberRules kStoredRules{config::AddressFamily::any, steer::kMaxMembers, true};

std::vector<config::RegionMember> members_of_region(const steer::Region& region) {
    std::vector<config::RegionMember> out;
    for (std::size_t i = 0; i < region.members.size(); ++i)
        out.push_back({region.member_address(i), region.members[i]});
    return out;
}

std::string without_digits(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c < '0' || c > '9') out += c;
    }
    return out;
}

}  // namespace

const char* to_string(MemberSource source) noexcept { return source == MemberSource::feed ? "feed" : "push"; }

MemberStore::MemberStore(std::filesystem::path state_file) : state_file_(std::move(state_file)) {}

void MemberStore::load() {
    std::ifstream in(state_file_);
    if (!in) return;  // nothing kept yet
    std::stringstream text;
    text << in.rdbuf();
    const json document = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    const std::string where = "members: " + state_file_.string();
    if (document.is_discarded() || !document.is_object() || document.value("meridian_members", 0) != kFormat ||
        !document.contains("regions") || !document["regions"].is_array()) {
        // Kept for the operator to look at, not overwritten by the next save.
        std::filesystem::path aside = state_file_;
        aside += ".broken";
        std::error_code ec;
        std::filesystem::rename(state_file_, aside, ec);
        log::warning(where + ": not a members state file; starting with the zone files' addresses" +
                     (ec ? std::string() : " (the file is kept as " + aside.string() + ")"));
        return;
    }
    for (const json& entry : document["regions"]) {
        const bool ok = entry.is_object() && entry.contains("zone") && entry["zone"].is_string() &&
                        entry.contains("region") && entry["region"].is_string() && entry.contains("members");
        if (!ok) {
            log::warning(where + ": an entry without zone, region and members; skipped");
            continue;
        }
        const RegionKey key = RegionKey::from_request(entry["zone"].get<std::string>(),
                                                      entry["region"].get<std::string>());
        MemberSet set;
        set.source = entry.value("source", "push") == "feed" ? MemberSource::feed : MemberSource::push;
        set.updated = std::chrono::system_clock::time_point(std::chrono::seconds(entry.value("updated", int64_t{0})));
        std::string error;
        const std::string members = json{{"members", entry["members"]}}.dump(-1, ' ', false,
                                                                             json::error_handler_t::replace);
        if (!config::parse_member_document(members, kStoredRules, &set.members, &error)) {
            log::warning(where + ": " + key.to_string() + ": " + error + "; the zone file's addresses stand in");
            continue;
        }
        entries_[key] = std::move(set);
    }
    log::info(where + ": read the members of " + std::to_string(entries_.size()) + " regions");
}

void MemberStore::save() const {
    json regions = json::array();
    for (const auto& [key, set] : entries_) {
        const json members = json::parse(config::member_document(set.members))["members"];
        regions.push_back(
            {{"zone", key.zone},
             {"region", key.region},
             {"source", to_string(set.source)},
             {"updated", std::chrono::duration_cast<std::chrono::seconds>(set.updated.time_since_epoch()).count()},
             {"members", members}});
    }
    const std::string text =
        json{{"meridian_members", kFormat}, {"regions", regions}}.dump(1, '\t', false, json::error_handler_t::replace) +
        "\n";
    std::string error;
    if (!write_file_atomically(state_file_, text, &error))
        log::warning("members: " + error + "; the members are kept in memory only until it can be written");
}

std::shared_ptr<const zone::Zone> MemberStore::overlaid(const std::shared_ptr<const zone::Zone>& base) const {
    const std::string origin = dns::name_to_text(base->origin());
    const steer::Policy& policy = base->policy();
    std::vector<const std::vector<config::RegionMember>*> members(policy.regions.size(), nullptr);
    bool any = false;
    for (std::size_t i = 0; i < policy.regions.size(); ++i) {
        const auto it = entries_.find(RegionKey{origin, policy.regions[i].name});
        if (it == entries_.end() || !policy.regions[i].cname.empty()) continue;
        members[i] = &it->second.members;
        any = true;
    }
    return any ? config::with_members(*base, members) : base;
}

std::unique_ptr<answer::Snapshot> MemberStore::serve(const answer::Snapshot& loaded, std::size_t workers) {
    bases_.clear();
    auto out = std::make_unique<answer::Snapshot>();
    out->settings = loaded.settings;
    out->geo = loaded.geo;
    for (const zone::ServedZone& served : loaded.zones.zones()) {
        bases_[dns::name_to_text(served.zone().origin())] = served.model;
        auto model = overlaid(served.model);
        if (model == served.model) {
            out->zones.add(served.model, served.runtime);
            continue;
        }
        // The runtime was sized for the zone file's addresses: a new one, keeping the counters.
        out->zones.add(model, std::make_shared<zone::ZoneRuntime>(*model, workers, served.runtime->shared_queries()));
    }
    return out;
}

std::unique_ptr<answer::Snapshot> MemberStore::rebuild(const answer::Snapshot& current, const std::string& origin,
                                                       std::size_t workers) const {
    auto out = std::make_unique<answer::Snapshot>();
    out->settings = current.settings;
    out->geo = current.geo;
    for (const zone::ServedZone& served : current.zones.zones()) {
        const auto base = bases_.find(dns::name_to_text(served.zone().origin()));
        if (base == bases_.end() || base->first != origin) {
            out->zones.add(served.model, served.runtime);
            continue;
        }
        auto model = overlaid(base->second);
        out->zones.add(model, std::make_shared<zone::ZoneRuntime>(*model, workers, served.runtime->shared_queries()));
    }
    return out;
}

MemberChange MemberStore::check_region(const answer::Snapshot& snapshot, const RegionKey& key, bool is_push) const {
    const RegionRef ref = find_region(snapshot, key);
    if (!ref) return {404, "no region " + key.region + " in zone " + key.zone};
    if (!ref.served->zone().policy().regions[ref.index].cname.empty())
        return {409, "region " + key.to_string() + " is a CNAME region: it has no addresses to replace"};
    const health::MemberFeed& feed = ref.served->zone().checks().regions[ref.index].feed;
    if (is_push && feed.is_set()) {
        return {409, "region " + key.to_string() + " takes its members from its feed " +
                         (feed.url.empty() ? feed.path : feed.url) + ": change them there"};
    }
    return {};
}

MemberChange MemberStore::store(const answer::Snapshot& snapshot, const RegionKey& key,
                                std::vector<config::RegionMember> members, MemberSource source) {
    const RegionRef ref = find_region(snapshot, key);
    std::string error;
    if (!config::check_members(members, ref.served->zone().checks().regions[ref.index].member_rules, &error))
        return {400, error};
    entries_[key] = MemberSet{source, std::move(members), std::chrono::system_clock::now()};
    save();
    return {};
}

std::vector<config::RegionMember> MemberStore::members_of(const zone::ServedZone& served, std::size_t region) const {
    return members_of_region(served.zone().policy().regions[region]);
}

MemberChange MemberStore::set(const answer::Snapshot& snapshot, const RegionKey& key,
                              std::vector<config::RegionMember> members, MemberSource source) {
    if (MemberChange c = check_region(snapshot, key, source == MemberSource::push); !c.ok()) return c;
    return store(snapshot, key, std::move(members), source);
}

bool MemberStore::feed_read(const answer::Snapshot& snapshot, const RegionKey& key, const std::string& source,
                            const std::string* body, const std::string& error, bool* is_changed) {
    *is_changed = false;
    FeedStatus& status = feeds_[key];
    status.source = source;
    const auto now = std::chrono::system_clock::now();
    std::string problem = error;
    if (problem.empty() && body != nullptr) {
        const RegionRef ref = find_region(snapshot, key);
        std::vector<config::RegionMember> members;
        if (!ref) {
            problem = "no region " + key.to_string();
        } else if (config::parse_member_document(*body, ref.served->zone().checks().regions[ref.index].member_rules,
                                                 &members, &problem)) {
            ++status.reads;
            status.last_read = now;
            const MemberSet* current = find(key);
            const bool is_same = current != nullptr && current->source == MemberSource::feed &&
                                 config::member_document(current->members) == config::member_document(members);
            if (is_same) {
                ++status.not_modified;
            } else if (const MemberChange c = store(snapshot, key, std::move(members), MemberSource::feed); c.ok()) {
                *is_changed = true;
            } else {
                problem = c.error;
            }
        }
    }
    if (problem.empty()) {
        if (!status.error.empty()) log::info("members: feed " + source + " of " + key.to_string() + " read again");
        status.error.clear();
        return true;
    }
    ++status.rejected;
    // Logged when it starts or changes, not at every interval it goes on; "the same" error may
    // differ in its figures (a timeout's milliseconds, the bytes that came).
    if (without_digits(problem) != without_digits(status.error)) {
        log::error("members: feed " + source + " of " + key.to_string() + ": " + problem +
                   " (keeping the last good members)");
        status.error_since = now;
    }
    status.error = problem;
    return false;
}

void MemberStore::feed_unchanged(const RegionKey& key, const std::string& source) {
    FeedStatus& status = feeds_[key];
    status.source = source;
    ++status.reads;
    ++status.not_modified;
    status.last_read = std::chrono::system_clock::now();
    if (!status.error.empty()) log::info("members: feed " + source + " of " + key.to_string() + " read again");
    status.error.clear();
}

const FeedStatus* MemberStore::feed_status(const RegionKey& key) const {
    const auto it = feeds_.find(key);
    return it == feeds_.end() ? nullptr : &it->second;
}

MemberChange MemberStore::patch(const answer::Snapshot& snapshot, const RegionKey& key,
                                const std::vector<config::RegionMember>& upserts,
                                const std::vector<geo::IpAddress>& removals) {
    if (MemberChange c = check_region(snapshot, key, true); !c.ok()) return c;
    const RegionRef ref = find_region(snapshot, key);
    std::vector<config::RegionMember> members = members_of(*ref.served, ref.index);
    for (const geo::IpAddress& address : removals) {
        const auto it = std::find_if(members.begin(), members.end(),
                                     [&](const config::RegionMember& m) { return m.address == address; });
        if (it == members.end())
            return {404, geo::to_string(address) + " is not a member of region " + key.to_string()};
        members.erase(it);
    }
    for (const config::RegionMember& upsert : upserts) {
        const auto it = std::find_if(members.begin(), members.end(),
                                     [&](const config::RegionMember& m) { return m.address == upsert.address; });
        if (it != members.end()) *it = upsert;
        else members.push_back(upsert);
    }
    return set(snapshot, key, std::move(members), MemberSource::push);
}

MemberChange MemberStore::reset(const answer::Snapshot& snapshot, const RegionKey& key) {
    if (MemberChange c = check_region(snapshot, key, true); !c.ok()) return c;
    if (entries_.erase(key) == 0)
        return {404, "region " + key.to_string() + " has no members set: it answers with its zone file's addresses"};
    save();
    return {};
}

const MemberSet* MemberStore::find(const RegionKey& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

json region_members_json(const MemberStore& store, const zone::ServedZone& served, std::size_t region) {
    const RegionKey key = RegionKey::of(served, region);
    const MemberSet* set = store.find(key);
    json out = {{"zone", key.zone},
                {"region", key.region},
                {"source", set != nullptr ? to_string(set->source) : "zone file"},
                {"updated", set != nullptr ? json(epoch_seconds(set->updated)) : json(nullptr)}};
    out["members"] = json::parse(config::member_document(store.members_of(served, region)))["members"];
    return out;
}

json members_document(const MemberStore& store, const answer::Snapshot& snapshot, const std::string& zone) {
    json regions = json::array();
    bool is_zone_found = zone.empty();
    const std::string wanted = zone.empty() ? std::string() : normalise_zone_name(zone);
    for (const zone::ServedZone& served : snapshot.zones.zones()) {
        if (!wanted.empty() && dns::name_to_text(served.zone().origin()) != wanted) continue;
        is_zone_found = true;
        const steer::Policy& policy = served.zone().policy();
        for (std::size_t i = 0; i < policy.regions.size(); ++i) {
            if (policy.regions[i].cname.empty()) regions.push_back(region_members_json(store, served, i));
        }
    }
    if (!is_zone_found) return nullptr;
    return json{{"regions", regions}};
}

}  // namespace meridian::ops

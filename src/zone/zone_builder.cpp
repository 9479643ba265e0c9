#include "zone/zone_builder.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "dns/name.hpp"
#include "dns/wire.hpp"

namespace meridian::zone {

using dns::name_to_text;

namespace {

// Offset of the target name inside rdata for the types whose targets get A/AAAA in the
// additional section (RFC 1035 §3.3.9, §3.3.11; RFC 2782), or -1.
int additional_target_offset(uint16_t type) {
    switch (type) {
    case dns::rrtype::NS: return 0;
    case dns::rrtype::MX: return 2;
    case dns::rrtype::SRV: return 6;
    default: return -1;
    }
}

std::string lower_name_in_rdata(const std::string& rdata, std::size_t offset) {
    std::string name;
    std::size_t pos = offset;
    while (pos < rdata.size()) {
        const auto len = static_cast<uint8_t>(rdata[pos]);
        name.append(rdata, pos, len + 1u);
        if (len == 0) break;
        pos += len + 1u;
    }
    dns::lowercase_name(reinterpret_cast<uint8_t*>(name.data()), name.size());
    return name;
}

std::string parent_of(const std::string& name) {
    const auto len = static_cast<uint8_t>(name[0]);
    return name.substr(len + 1u);
}

bool is_wildcard(const std::string& name) { return name.size() >= 2 && name[0] == 1 && name[1] == '*'; }

struct PendingSet {
    uint16_t type;
    std::vector<const RecordSource*> records;
};

}  // namespace

ZoneBuilder::ZoneBuilder(std::string origin, SourceLocation where)
    : origin_(std::move(origin)), where_(std::move(where)) {}

std::unique_ptr<Zone> ZoneBuilder::build(Diagnostics* diagnostics, bool check_soa) {
    const std::size_t errors_before = diagnostics->items().size();
    auto error = [&](const SourceLocation& where, std::string message) {
        diagnostics->error(where, std::move(message));
    };
    const std::string origin_text = name_to_text(origin_);

    // Owner name → type → records, in canonical order so that output is deterministic.
    std::map<std::string, std::map<uint16_t, PendingSet>> tree;
    for (const RecordSource& r : records_) {
        const std::string owner_text = name_to_text(r.owner);
        if (!dns::is_subdomain(r.owner, origin_)) {
            error(r.where, owner_text + " is outside the zone origin " + origin_text);
            continue;
        }
        if (r.rrclass != dns::rrclass::IN) {
            error(r.where, "record class must be IN at " + owner_text);
            continue;
        }
        if (r.type == dns::rrtype::SOA && r.owner != origin_) {
            error(r.where, "SOA record at " + owner_text + " is not at the zone apex");
            continue;
        }
        PendingSet& set = tree[r.owner].try_emplace(r.type, PendingSet{r.type, {}}).first->second;
        bool is_duplicate = false;
        for (const RecordSource* other : set.records) {
            if (other->rdata == r.rdata) is_duplicate = true;
        }
        if (is_duplicate) {
            error(r.where, "duplicate record at " + owner_text);
            continue;
        }
        // RFC 2181 §5.2: all records of an RRset share one TTL.
        if (!set.records.empty() && set.records.front()->ttl != r.ttl) {
            error(r.where, "TTL " + std::to_string(r.ttl) + " differs from " +
                               std::to_string(set.records.front()->ttl) + " of the same RRset at " + owner_text +
                               " (RFC 2181 §5.2)");
            continue;
        }
        set.records.push_back(&r);
    }

    // Apex requirements.
    const auto apex_it = tree.find(origin_);
    const bool has_soa = apex_it != tree.end() && apex_it->second.count(dns::rrtype::SOA) != 0;
    const bool has_apex_ns = apex_it != tree.end() && apex_it->second.count(dns::rrtype::NS) != 0;
    if (!has_soa && check_soa) error(where_, "no SOA record at the apex " + origin_text);
    if (has_soa && apex_it->second.at(dns::rrtype::SOA).records.size() > 1) {
        error(apex_it->second.at(dns::rrtype::SOA).records[1]->where, "more than one SOA record at the apex");
    }
    if (!has_apex_ns) error(where_, "no NS records at the apex " + origin_text);

    // Zone cuts: NS anywhere below the apex.
    std::set<std::string> cuts;
    for (const auto& [owner, sets] : tree) {
        if (owner != origin_ && sets.count(dns::rrtype::NS) != 0) cuts.insert(owner);
    }
    auto cut_above = [&](const std::string& name) -> const std::string* {
        for (std::string n = name; n != origin_ && n.size() > 1; n = parent_of(n)) {
            const auto it = cuts.find(n);
            if (it != cuts.end() && n != name) return &*it;
        }
        return nullptr;
    };

    for (const auto& [owner, sets] : tree) {
        const std::string owner_text = name_to_text(owner);
        const auto cname = sets.find(dns::rrtype::CNAME);
        if (cname != sets.end()) {
            if (sets.size() > 1) {
                error(cname->second.records.front()->where,
                      "CNAME at " + owner_text + " cannot coexist with other data (RFC 2181 §10.1)");
            }
            if (cname->second.records.size() > 1) {
                error(cname->second.records[1]->where, "more than one CNAME at " + owner_text);
            }
        }
        if (is_wildcard(owner) && sets.count(dns::rrtype::NS) != 0) {
            error(sets.at(dns::rrtype::NS).records.front()->where,
                  "wildcard " + owner_text + " cannot own NS records (RFC 4592 §4.2)");
        }
        if (const std::string* cut = cut_above(owner)) {
            for (const auto& [type, set] : sets) {
                if (type != dns::rrtype::A && type != dns::rrtype::AAAA) {
                    error(set.records.front()->where, owner_text + " is below the delegation at " + name_to_text(*cut) +
                                                          ": only A and AAAA glue records may be there");
                }
            }
        } else if (cuts.count(owner) != 0) {
            for (const auto& [type, set] : sets) {
                if (type != dns::rrtype::NS && type != dns::rrtype::DS) {
                    error(set.records.front()->where,
                          "delegation point " + owner_text +
                              " may hold only NS and DS records; this one is hidden by the delegation");
                }
            }
        }
    }

    // Glue: an in-zone name server must have an address here, or nobody can reach it.
    for (const auto& [owner, sets] : tree) {
        const auto ns = sets.find(dns::rrtype::NS);
        if (ns == sets.end()) continue;
        for (const RecordSource* r : ns->second.records) {
            const std::string target = lower_name_in_rdata(r->rdata, 0);
            if (!dns::is_subdomain(target, origin_)) continue;
            const auto t = tree.find(target);
            const bool has_address = t != tree.end() &&
                                     (t->second.count(dns::rrtype::A) != 0 || t->second.count(dns::rrtype::AAAA) != 0);
            if (!has_address) {
                error(r->where,
                      "name server " + name_to_text(target) + " is inside the zone but has no A or AAAA record (glue)");
            }
        }
    }

    // Steered names: their A/AAAA come from the policy, so no static A/AAAA/CNAME may be there.
    std::map<std::string, uint32_t> steered;
    for (uint32_t i = 0; i < policy_->names.size(); ++i) {
        const steer::SteeredName& name = policy_->names[i];
        const std::string name_text = name_to_text(name.owner);
        if (name.owner.empty()) continue;  // its name was already reported as invalid
        if (!dns::is_subdomain(name.owner, origin_)) {
            error(name.where, "steered name " + name_text + " is outside the zone origin " + origin_text);
            continue;
        }
        if (cut_above(name.owner) != nullptr || cuts.count(name.owner) != 0) {
            error(name.where, "steered name " + name_text + " is at or below a delegation");
            continue;
        }
        if (!steered.emplace(name.owner, i).second) {
            error(name.where, "steered name " + name_text + " is defined twice");
            continue;
        }
        const auto it = tree.find(name.owner);
        if (it == tree.end()) continue;
        for (const uint16_t type : {dns::rrtype::A, dns::rrtype::AAAA, dns::rrtype::CNAME}) {
            if (it->second.count(type) != 0) {
                error(it->second.at(type).records.front()->where, "static " +
                                                                      std::string(type == dns::rrtype::CNAME ? "CNAME"
                                                                                  : type == dns::rrtype::A   ? "A"
                                                                                                             : "AAAA") +
                                                                      " record at steered name " + name_text +
                                                                      " (its answers come from [names])");
            }
        }
        bool has_cname_region = false;
        for (const steer::Route& route : name.routes) {
            for (const steer::Target& t : route.targets)
                has_cname_region = has_cname_region || !policy_->regions[t.region].cname.empty();
        }
        if (has_cname_region && !it->second.empty()) {
            error(it->second.begin()->second.records.front()->where,
                  "steered name " + name_text +
                      " can answer with a CNAME region, so it cannot hold other data (RFC 2181 §10.1)");
        }
    }

    if (diagnostics->items().size() != errors_before || !has_soa) return nullptr;

    // Every ancestor of an owner, up to the apex, exists as a node: empty non-terminals answer
    // NODATA rather than NXDOMAIN (RFC 4592 §2.2.2, RFC 8020).
    std::set<std::string> names;
    for (const auto& [owner, sets] : tree) {
        for (std::string n = owner; names.insert(n).second && n != origin_;) n = parent_of(n);
    }
    for (const auto& [owner, index] : steered) {
        for (std::string n = owner; names.insert(n).second && n != origin_;) n = parent_of(n);
    }

    auto zone = std::make_unique<Zone>();
    std::map<std::string, uint32_t> node_of;
    for (const std::string& name : names) {
        Node node;
        node.name_offset = static_cast<uint32_t>(zone->bytes_.size());
        node.name_size = static_cast<uint8_t>(name.size());
        zone->bytes_.insert(zone->bytes_.end(), name.begin(), name.end());
        node.is_apex = name == origin_;
        node.is_delegation = cuts.count(name) != 0;
        node.is_below_cut = cut_above(name) != nullptr;
        if (const auto it = steered.find(name); it != steered.end()) node.steered = it->second;
        node_of[name] = static_cast<uint32_t>(zone->nodes_.size());
        if (node.is_apex) zone->apex_ = static_cast<uint32_t>(zone->nodes_.size());
        zone->nodes_.push_back(node);
    }
    for (const auto& [owner, sets] : tree) {
        Node& node = zone->nodes_[node_of.at(owner)];
        node.first_rrset = static_cast<uint32_t>(zone->rrsets_.size());
        node.rrset_count = static_cast<uint16_t>(sets.size());
        for (const auto& [type, pending] : sets) {
            RRset set;
            set.type = type;
            set.ttl = pending.records.front()->ttl;
            set.form = dns::rdata_form_for(type);
            set.first_rdata = static_cast<uint32_t>(zone->rdatas_.size());
            set.rdata_count = static_cast<uint32_t>(pending.records.size());
            const int target_offset = additional_target_offset(type);
            for (const RecordSource* r : pending.records) {
                Rdata rdata;
                rdata.offset = static_cast<uint32_t>(zone->bytes_.size());
                rdata.size = static_cast<uint16_t>(r->rdata.size());
                zone->bytes_.insert(zone->bytes_.end(), r->rdata.begin(), r->rdata.end());
                if (target_offset >= 0 && r->rdata.size() > static_cast<std::size_t>(target_offset)) {
                    const auto target = node_of.find(lower_name_in_rdata(r->rdata, target_offset));
                    if (target != node_of.end()) rdata.target_node = target->second;
                }
                zone->rdatas_.push_back(rdata);
            }
            zone->rrsets_.push_back(set);
        }
    }

    // SOA fields: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
    const RecordSource& soa = *tree.at(origin_).at(dns::rrtype::SOA).records.front();
    const auto* fixed = reinterpret_cast<const uint8_t*>(soa.rdata.data() + soa.rdata.size() - 20);
    zone->serial_ = dns::read_u32(fixed);
    zone->negative_ttl_ = std::min(soa.ttl, dns::read_u32(fixed + 16));
    zone->origin_labels_ = dns::count_labels(origin_);
    zone->policy_ = policy_;
    zone->checks_ = checks_;

    for (uint32_t i = 0; i < zone->nodes_.size(); ++i) zone->index_.emplace(zone->name_of(zone->nodes_[i]), i);
    return zone;
}

std::shared_ptr<const Zone> ZoneBuilder::rebind(const Zone& zone, std::shared_ptr<const steer::Policy> policy,
                                                std::shared_ptr<const health::CheckPlan> checks) {
    auto copy = std::make_shared<Zone>(zone);
    // The index's keys point into the byte arena: the copy's own, not the original's.
    copy->index_.clear();
    for (uint32_t i = 0; i < copy->nodes_.size(); ++i) copy->index_.emplace(copy->name_of(copy->nodes_[i]), i);
    // A signed zone keeps its signatures (the steered answers the policy gives are signed online)
    // and its unsigned form follows, to be signed from when the window or a key changes.
    if (zone.unsigned_) copy->unsigned_ = rebind(*zone.unsigned_, policy, checks);
    copy->policy_ = std::move(policy);
    copy->checks_ = std::move(checks);
    return copy;
}

}  // namespace meridian::zone

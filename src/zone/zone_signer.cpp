// ZoneBuilder::sign: a signed copy of an unsigned zone (docs/DNSSEC.md, "What is signed when").
#include <algorithm>
#include <array>
#include <map>

#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "dnssec/nsec.hpp"
#include "zone/zone_builder.hpp"

namespace meridian::zone {

namespace {

using dnssec::Key;

// Which active keys sign what. A SEP key (flags 257) signs the apex key sets; it also signs
// everything else when no zone-signing key of its algorithm is active (a CSK). A zone without
// an active SEP key has its zone-signing keys sign the key sets too.
void choose_signers(const SigningConfig& config, int64_t now, Signing* signing) {
    std::vector<const Key*> active;
    for (const auto& key : config.keys) {
        if (key->private_key && key->timing.is_active(now)) active.push_back(key.get());
    }
    for (const Key* key : active) {
        if (key->is_sep()) {
            signing->key_signers.push_back(key);
            const bool has_zsk = std::any_of(active.begin(), active.end(), [&](const Key* k) {
                return !k->is_sep() && k->algorithm == key->algorithm;
            });
            if (!has_zsk) signing->zone_signers.push_back(key);
        } else {
            signing->zone_signers.push_back(key);
        }
    }
    if (signing->key_signers.empty()) signing->key_signers = signing->zone_signers;
    for (const auto& key : config.keys) {
        const bool is_retired = key->timing.inactive && *key->timing.inactive <= now;
        if (key->is_sep() && key->timing.is_published(now) && !is_retired) signing->parent_keys.push_back(key.get());
    }
}

struct ExtraSet {
    uint16_t type;
    uint32_t ttl;
    std::vector<std::vector<uint8_t>> rdatas;
};

std::vector<ExtraSet> apex_key_sets(const SigningConfig& config, const Signing& signing, std::string_view origin,
                                    int64_t now) {
    ExtraSet dnskey{dnssec::kTypeDnskey, config.dnskey_ttl, {}};
    ExtraSet cds{dnssec::kTypeCds, config.dnskey_ttl, {}};
    ExtraSet cdnskey{dnssec::kTypeCdnskey, config.dnskey_ttl, {}};
    const std::span<const uint8_t> owner(reinterpret_cast<const uint8_t*>(origin.data()), origin.size());
    for (const auto& key : config.keys) {
        if (!key->timing.is_published(now)) continue;
        dnskey.rdatas.push_back(key->dnskey_rdata());
        const bool is_parent_key = std::find(signing.parent_keys.begin(), signing.parent_keys.end(), key.get()) !=
                                   signing.parent_keys.end();
        if (config.publishes_cds && is_parent_key) {
            cds.rdatas.push_back(dnssec::ds_rdata(owner, dnskey.rdatas.back(), 2));
            cdnskey.rdatas.push_back(dnskey.rdatas.back());
        }
    }
    std::vector<ExtraSet> sets;
    for (ExtraSet* set : {&dnskey, &cds, &cdnskey}) {
        if (!set->rdatas.empty()) sets.push_back(std::move(*set));
    }
    return sets;
}

}  // namespace

std::shared_ptr<const Zone> ZoneBuilder::sign(std::shared_ptr<const Zone> base,
                                              std::shared_ptr<const SigningConfig> config, int64_t now,
                                              std::string* error) {
    const std::string origin_text = dns::name_to_text(base->origin());
    auto signing = std::make_shared<Signing>();
    signing->config = std::move(config);
    const SigningConfig& keys = *signing->config;
    signing->signed_at = now;
    signing->window = keys.windows.at(now);
    signing->next_event = keys.windows.next_refresh(now);
    for (const auto& key : keys.keys) {
        if (const auto event = key->timing.next_event(now)) signing->next_event = std::min(signing->next_event, *event);
    }
    choose_signers(keys, now, signing.get());
    if (signing->zone_signers.size() > kMaxSigners || signing->key_signers.size() > kMaxSigners) {
        *error = "zone " + origin_text + " has more than " + std::to_string(kMaxSigners) +
                 " keys signing at once; keep at most two per algorithm active";
        return nullptr;
    }
    if (signing->zone_signers.empty()) {
        *error = "zone " + origin_text + " has no active key to sign with (" + std::to_string(keys.keys.size()) +
                 " key(s) found; a key signs from its Activate time until its Inactive time)";
        return nullptr;
    }

    auto zone = std::make_shared<Zone>(*base);
    zone->signing_ = signing;
    const std::vector<ExtraSet> extra = apex_key_sets(keys, *signing, base->origin(), now);

    // The RRsets again, node by node, with the apex key sets merged in by type.
    std::vector<RRset> rrsets;
    rrsets.reserve(base->rrsets_.size() + extra.size() + base->nodes_.size());
    for (Node& node : zone->nodes_) {
        std::vector<RRset> sets(base->rrsets_.begin() + node.first_rrset,
                                base->rrsets_.begin() + node.first_rrset + node.rrset_count);
        if (node.is_apex) {
            for (const ExtraSet& e : extra) {
                std::erase_if(sets, [&](const RRset& s) { return s.type == e.type; });
                RRset set;
                set.type = e.type;
                set.ttl = e.ttl;
                set.first_rdata = static_cast<uint32_t>(zone->rdatas_.size());
                set.rdata_count = static_cast<uint32_t>(e.rdatas.size());
                for (const auto& bytes : e.rdatas) {
                    zone->rdatas_.push_back(
                        {static_cast<uint32_t>(zone->bytes_.size()), static_cast<uint16_t>(bytes.size())});
                    zone->bytes_.insert(zone->bytes_.end(), bytes.begin(), bytes.end());
                }
                sets.push_back(set);
            }
            std::sort(sets.begin(), sets.end(), [](const RRset& a, const RRset& b) { return a.type < b.type; });
        }
        node.first_rrset = static_cast<uint32_t>(rrsets.size());
        node.rrset_count = static_cast<uint16_t>(sets.size());
        rrsets.insert(rrsets.end(), sets.begin(), sets.end());
    }
    zone->rrsets_ = std::move(rrsets);

    // Which address families a steered name can answer with, for its NSEC's bitmap.
    bool policy_has_v4 = false;
    bool policy_has_v6 = false;
    for (const steer::Region& region : zone->policy_->regions) {
        policy_has_v4 = policy_has_v4 || !region.ipv4.empty();
        policy_has_v6 = policy_has_v6 || !region.ipv6.empty();
    }

    bool ok = true;
    auto sign_set = [&](const Node& node, RRset* set, const std::vector<const Key*>& signers) {
        const std::string_view owner = zone->name_of(node);
        std::vector<std::span<const uint8_t>> rdatas;
        for (const Rdata& rdata : zone->rdatas(*set)) rdatas.emplace_back(zone->bytes_of(rdata), rdata.size);
        const dnssec::RRsetToSign rrset{{reinterpret_cast<const uint8_t*>(owner.data()), owner.size()},
                                        set->type,
                                        dns::rrclass::IN,
                                        set->ttl,
                                        rdatas};
        std::vector<uint8_t> signed_bytes;
        std::vector<uint16_t> sizes;
        for (const Key* key : signers) {
            std::array<uint8_t, dnssec::kMaxRrsigRdataSize> out;
            const std::size_t size = dnssec::sign(*key, rrset, signing->window, out);
            if (size == 0) {
                *error = "cannot sign " + dns::name_to_text(owner) + " type " + std::to_string(set->type) +
                         " with key " + key->path;
                ok = false;
                return;
            }
            signed_bytes.insert(signed_bytes.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size));
            sizes.push_back(static_cast<uint16_t>(size));
        }
        set->first_signature = static_cast<uint32_t>(zone->rdatas_.size());
        set->signature_count = static_cast<uint16_t>(sizes.size());
        auto offset = static_cast<uint32_t>(zone->bytes_.size());
        for (const uint16_t size : sizes) {
            zone->rdatas_.push_back({offset, size});
            offset += size;
        }
        zone->bytes_.insert(zone->bytes_.end(), signed_bytes.begin(), signed_bytes.end());
    };

    const std::size_t node_count = zone->nodes_.size();
    for (std::size_t i = 0; i < node_count && ok; ++i) {
        Node& node = zone->nodes_[i];
        if (node.is_below_cut) continue;  // glue: not ours to sign (RFC 4035 §2.2)
        std::vector<uint16_t> types{dnssec::kTypeRrsig, dnssec::kTypeNsec};
        for (uint32_t k = 0; k < node.rrset_count && ok; ++k) {
            RRset& set = zone->rrsets_[node.first_rrset + k];
            types.push_back(set.type);
            if (node.is_delegation && set.type == dns::rrtype::NS) continue;  // the child's to sign
            const bool is_key_set = node.is_apex && (set.type == dnssec::kTypeDnskey || set.type == dnssec::kTypeCds ||
                                                     set.type == dnssec::kTypeCdnskey);
            sign_set(node, &set, is_key_set ? signing->key_signers : signing->zone_signers);
        }
        if (node.steered != kNoNode) {
            if (policy_has_v4) types.push_back(dns::rrtype::A);
            if (policy_has_v6) types.push_back(dns::rrtype::AAAA);
        }
        const std::string_view owner = zone->name_of(node);
        std::array<uint8_t, 2 + dns::kMaxNameLength + dnssec::kMaxBitmapSize> nsec;
        const std::size_t size = dnssec::write_compact_nsec({reinterpret_cast<const uint8_t*>(owner.data()),
                                                             owner.size()},
                                                            types, nsec.data());
        if (size == 0) continue;  // a name of 254 bytes has no successor; denied online if ever asked
        RRset set;
        set.type = dnssec::kTypeNsec;
        set.ttl = zone->negative_ttl_;  // RFC 9077: min(SOA TTL, SOA MINIMUM)
        set.first_rdata = static_cast<uint32_t>(zone->rdatas_.size());
        set.rdata_count = 1;
        zone->rdatas_.push_back({static_cast<uint32_t>(zone->bytes_.size()), static_cast<uint16_t>(size)});
        zone->bytes_.insert(zone->bytes_.end(), nsec.begin(), nsec.begin() + static_cast<std::ptrdiff_t>(size));
        sign_set(node, &set, signing->zone_signers);
        node.nsec = static_cast<uint32_t>(zone->rrsets_.size());
        zone->rrsets_.push_back(set);
    }
    if (!ok) return nullptr;
    zone->unsigned_ = std::move(base);

    // The index's keys point into the byte arena, which has grown: built again on the copy.
    zone->index_.clear();
    for (uint32_t i = 0; i < zone->nodes_.size(); ++i) zone->index_.emplace(zone->name_of(zone->nodes_[i]), i);
    return zone;
}

}  // namespace meridian::zone

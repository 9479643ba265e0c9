#include "answer/sections.hpp"

#include <algorithm>

namespace meridian::answer {

namespace {

// One family of a region's addresses: all of them, or with member health those of the best tier
// present; when every one is left out the region answers with all (failing open within it, as a
// name fails open when every region is down).
template <typename Address, typename Add>
bool write_members(const steer::Region& region, const std::vector<Address>& addresses, std::size_t first_index,
                   const health::HealthBoard* board, Add add) noexcept {
    const bool is_judged = board != nullptr && region.has_member_health;
    unsigned best = 2;
    if (is_judged) {
        for (std::size_t i = 0; i < addresses.size() && best > 0; ++i)
            best = std::min(best, health::member_tier(board->read(region.first_member + first_index + i)));
    }
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (is_judged && best < 2 && health::member_tier(board->read(region.first_member + first_index + i)) != best)
            continue;
        if (!add(addresses[i].data(), addresses[i].size())) return false;
    }
    return true;
}

bool write_rrset(dns::Section section, const RRsetRef& r, dns::MessageWriter* w) noexcept {
    auto add = [&](const uint8_t* rdata, std::size_t size) {
        return w->add_record(section, r.owner, r.owner_size, r.type, r.rrclass, r.ttl, rdata, size, r.form);
    };
    if (r.zone != nullptr) {
        for (const zone::Rdata& rdata : r.zone->rdatas(*r.set)) {
            if (!add(r.zone->bytes_of(rdata), rdata.size)) return false;
        }
        return true;
    }
    if (r.policy != nullptr) {
        for (std::size_t i = 0; i < r.region_count; ++i) {
            const steer::Region& region = r.policy->regions[r.regions[i]];
            const bool ok = r.type == dns::rrtype::A
                                ? write_members(region, region.ipv4, 0, r.health, add)
                                : write_members(region, region.ipv6, region.ipv4.size(), r.health, add);
            if (!ok) return false;
        }
        return true;
    }
    return add(r.rdata, r.rdata_size);
}

}  // namespace

void Sections::add(dns::Section section, const RRsetRef& rrset) noexcept {
    if (count_ < kCapacity) {
        entries_.slots[count_++] = {section, rrset};
        return;
    }
    if (rrset.need == Need::required) is_required_lost_ = true;
    if (rrset.need == Need::glue) is_glue_lost_ = true;
}

bool Sections::encode(dns::MessageWriter* w) const noexcept {
    const dns::MessageWriter::Mark start = w->mark();
    if (is_required_lost_) return true;
    for (const dns::Section section : {dns::Section::answer, dns::Section::authority, dns::Section::additional}) {
        for (std::size_t i = 0; i < count_; ++i) {
            const Entry& e = entries_.slots[i];
            if (e.section != section) continue;
            // An RRset goes in whole or not at all (RFC 2181 §9).
            const dns::MessageWriter::Mark before = w->mark();
            if (write_rrset(section, e.rrset, w)) continue;
            w->rollback(before);
            switch (e.rrset.need) {
            case Need::required:
                // An answer that does not fit is dropped entirely rather than sent in part; the
                // client retries over TCP (RFC 2181 §9, RFC 7766 §5).
                w->rollback(start);
                return true;
            case Need::glue: return true;  // the referral keeps the glue that fit
            case Need::optional: return is_glue_lost_;
            }
        }
    }
    return is_glue_lost_;
}

}  // namespace meridian::answer

#include "answer/sections.hpp"

#include <algorithm>

namespace meridian::answer {

namespace {

bool write_rrset(dns::Section section, const RRsetRef& r, dns::MessageWriter* w) noexcept {
    auto add = [&](const uint8_t* rdata, std::size_t size) {
        return w->add_record(section, r.owner, r.owner_size, r.type, r.rrclass, r.ttl, rdata, size, r.form);
    };
    bool ok = true;
    if (r.zone != nullptr) {
        for (const zone::Rdata& rdata : r.zone->rdatas(*r.set)) {
            if (!(ok = add(r.zone->bytes_of(rdata), rdata.size))) break;
        }
    } else if (r.policy != nullptr) {
        ok = each_steered_address(r, add);
    } else if (r.record_size != 0) {
        for (std::size_t at = 0; at + r.record_size <= r.rdata_size && ok; at += r.record_size)
            ok = add(r.rdata + at, r.record_size);
    } else {
        ok = add(r.rdata, r.rdata_size);
    }
    for (std::size_t i = 0; i < r.rrsig_count && ok; ++i) {
        ok = w->add_record(section, r.owner, r.owner_size, dns::rrtype::RRSIG, r.rrclass, r.ttl, r.rrsigs[i].data(),
                           r.rrsigs[i].size(), dns::RdataForm::opaque);
    }
    return ok;
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

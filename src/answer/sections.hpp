// The RRsets of one response, gathered per section before anything is written, and the one
// encoder that writes them: it alone decides section counts and truncation (as NSD's answer.c
// does). Fixed capacity, no allocation; the responder only decides what belongs where.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/message_writer.hpp"
#include "dns/wire.hpp"
#include "health/state.hpp"
#include "steer/policy.hpp"
#include "zone/signing.hpp"
#include "zone/zone.hpp"

namespace meridian::answer {

// What a response does when an RRset does not fit.
enum class Need : uint8_t {
    required,  // the response is wrong without it: TC=1 and every section dropped (RFC 2181 §9)
    glue,      // referral glue: TC=1, keeping what fit (RFC 9471 §3)
    optional,  // additional data: it and what follows are left out, no TC (RFC 1035 §4.1)
};

// One RRset to write. Its records come from exactly one source: a zone RRset, the addresses of
// steered regions, or one rdata given as bytes. Every pointer outlives the response.
struct RRsetRef {
    const uint8_t* owner = nullptr;  // wire name as written in the response
    std::size_t owner_size = 0;
    uint16_t type = 0;
    uint16_t rrclass = dns::rrclass::IN;
    uint32_t ttl = 0;
    dns::RdataForm form = dns::RdataForm::opaque;
    Need need = Need::required;

    const zone::Zone* zone = nullptr;  // a zone RRset …
    const zone::RRset* set = nullptr;
    const steer::Policy* policy = nullptr;  // … or these regions' A or AAAA records (type) …
    const uint32_t* regions = nullptr;
    std::size_t region_count = 0;
    const health::HealthBoard* health = nullptr;  // … each member kept or left out by its slot …
    const uint8_t* rdata = nullptr;               // … or one record, or with record_size …
    std::size_t rdata_size = 0;
    uint16_t record_size = 0;  // … records of this size back to back (steered addresses, signed)
    // RRSIG rdatas written after the RRset with its TTL (DO=1 on a signed zone); the RRset and
    // its signatures fit or fail together.
    std::array<std::span<const uint8_t>, zone::kMaxSigners> rrsigs{};
    uint8_t rrsig_count = 0;
};

// A zone RRset's own signatures (made when the zone was signed), written after it.
inline void attach_zone_signatures(RRsetRef* r, const zone::Zone& zone, const zone::RRset& set) noexcept {
    for (const zone::Rdata& rrsig : zone.signatures(set)) {
        if (r->rrsig_count == r->rrsigs.size()) break;
        r->rrsigs[r->rrsig_count++] = {zone.bytes_of(rrsig), rrsig.size};
    }
}

// One family of a region's addresses: all of them, or with member health those of the best tier
// present; when every one is left out the region answers with all (failing open within it, as a
// name fails open when every region is down). Calls add(rdata, size) for each; stops at false.
template <typename Address, typename Add>
bool each_member(const steer::Region& region, const std::vector<Address>& addresses, std::size_t first_index,
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

// Every address of a steered RRset (`policy`, `regions`, `health`, `type`), in answer order.
template <typename Add>
bool each_steered_address(const RRsetRef& r, Add add) noexcept {
    for (std::size_t i = 0; i < r.region_count; ++i) {
        const steer::Region& region = r.policy->regions[r.regions[i]];
        const bool ok = r.type == dns::rrtype::A ? each_member(region, region.ipv4, 0, r.health, add)
                                                 : each_member(region, region.ipv6, region.ipv4.size(), r.health, add);
        if (!ok) return false;
    }
    return true;
}

class Sections {
public:
    // Room for a CNAME chain, one authority RRset and the address records of the additional
    // targets; a referral with more glue than this is truncated as if it had not fit.
    static constexpr std::size_t kCapacity = 64;

    // Adds an RRset to a section. Without room, the RRset counts as one that did not fit.
    void add(dns::Section section, const RRsetRef& rrset) noexcept;

    // Makes the response one whose required RRset did not fit (TC=1, every section dropped).
    void mark_required_lost() noexcept { is_required_lost_ = true; }

    // Writes every section in order (answer, authority, additional) after what `writer` holds;
    // returns true when the response is truncated (TC=1).
    bool encode(dns::MessageWriter* writer) const noexcept;

private:
    struct Entry {
        dns::Section section;
        RRsetRef rrset;
    };
    // Left uninitialised: entries past count_ are never read, and constructing all of them for
    // every query would cost more than the response itself.
    union Room {
        // NOLINTNEXTLINE(modernize-use-equals-default): = default would be deleted (Entry is not trivial)
        Room() noexcept {}
        std::array<Entry, kCapacity> slots;
    };
    Room entries_;
    std::size_t count_ = 0;
    bool is_required_lost_ = false;  // an RRset found no room …
    bool is_glue_lost_ = false;
};

}  // namespace meridian::answer

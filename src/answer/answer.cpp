#include "answer/answer.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "answer/sections.hpp"
#include "dns/message_writer.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "dnssec/nsec.hpp"
#include "zone/signing.hpp"

namespace meridian::answer {

namespace {

using dns::MessageWriter;
using dns::Query;
using dns::Section;
namespace rrtype = dns::rrtype;
namespace rcode = dns::rcode;

// How many CNAMEs one answer follows inside a zone before it stops (loops stop earlier).
constexpr int kMaxCnameChain = 8;
// Additional-section targets remembered to avoid adding the same address records twice.
constexpr std::size_t kMaxAdditionalTargets = 16;

bool is_explain_name(const Query& query) noexcept {
    static constexpr std::string_view kExplainLabel{"\10_explain", 9};
    return query.qname_lower.view().substr(0, 9) == kExplainLabel && query.qname_lower.length > 10;
}

std::string_view view(const uint8_t* bytes, std::size_t size) noexcept {
    return {reinterpret_cast<const char*>(bytes), size};
}

enum class LookupKind : uint8_t { found, delegation, nxdomain };

struct Lookup {
    LookupKind kind;
    const zone::Node* node;    // the match, the wildcard that matched, or the zone cut
    bool is_wildcard = false;  // found by wildcard expansion (RFC 4592)
};

// Finds `name` in `zone` top-down, so that the highest zone cut on the way wins
// (RFC 1034 §4.3.2 step 3b), then falls back to the wildcard at the closest encloser
// (RFC 4592 §3.3.1). Every ancestor of data exists as a node, so the first missing
// name's parent is the closest encloser.
Lookup lookup(const zone::Zone& zone, std::string_view name, uint16_t qtype) noexcept {
    std::array<uint8_t, dns::kMaxLabels> offsets;
    const std::size_t labels = dns::label_offsets(reinterpret_cast<const uint8_t*>(name.data()), name.size(), &offsets);
    const zone::Node* node = &zone.apex();
    for (std::size_t k = zone.origin_labels() + 1; k <= labels; ++k) {
        const zone::Node* next = zone.find(name.substr(offsets[labels - k]));
        if (next == nullptr) {
            const std::string_view encloser = name.substr(offsets[labels - k + 1]);
            std::array<uint8_t, dns::kMaxNameLength + 2> wildcard;
            wildcard[0] = 1;
            wildcard[1] = '*';
            std::copy(encloser.begin(), encloser.end(), wildcard.begin() + 2);
            if (const zone::Node* w = zone.find(view(wildcard.data(), encloser.size() + 2))) {
                return {LookupKind::found, w, true};
            }
            return {LookupKind::nxdomain, node};
        }
        node = next;
        // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1).
        const bool is_ds_at_cut = k == labels && qtype == rrtype::DS;
        if (node->is_delegation && !is_ds_at_cut) return {LookupKind::delegation, node};
    }
    return {LookupKind::found, node};
}

// Decides what a response holds: its rcode, AA, the ECS scope, and the RRsets of each section.
// It writes nothing; Sections::encode() does, once.
class Responder {
public:
    Responder(const Snapshot& snapshot, const ClientInfo& client, const Query& query, const uint8_t* packet) noexcept
        : snapshot_(snapshot), client_(client), query_(query), packet_(packet) {}

    // Fills the sections; returns the rcode.
    uint16_t respond() noexcept;
    const Sections& sections() const noexcept { return sections_; }
    bool is_authoritative() const noexcept { return is_authoritative_; }
    uint8_t ecs_scope() const noexcept { return ecs_scope_; }

private:
    uint16_t respond_steered(const zone::ServedZone& served, const zone::Node& node, const uint8_t* owner,
                             std::size_t owner_size) noexcept;
    steer::ClientAddress client_address(const zone::Zone& zone) const noexcept;
    uint16_t respond_chaos() noexcept;
    uint16_t respond_explain() noexcept;
    uint16_t respond_from_zone(const zone::ServedZone& served) noexcept;
    uint16_t refer(const zone::Zone& zone, const zone::Node& cut) noexcept;
    // NXDOMAIN (node null) or NODATA at `node` for the name being looked up (`sname`, written as
    // `owner`): the SOA and, when signing, the NSEC that proves it (RFC 9824).
    uint16_t deny(const zone::Zone& zone, uint16_t rc, const zone::Node* node, const Lookup* found,
                  const dns::NameBuffer& sname, const uint8_t* owner, std::size_t owner_size) noexcept;
    // A zone RRset; `expanded` (lower case) when it answers for a name a wildcard matched, so
    // that it is signed for that name.
    void add_rrset(Section section, const zone::Zone& zone, const uint8_t* owner, std::size_t owner_size,
                   const zone::RRset& set, Need need, std::string_view expanded = {}) noexcept;
    // Signatures made now (the worker's cache) for `owner`.
    void sign_online(RRsetRef* r, const zone::Zone& zone, std::string_view owner, uint32_t original_ttl,
                     std::span<const std::span<const uint8_t>> rdatas) noexcept;
    void sign_online_one(RRsetRef* r, const zone::Zone& zone, std::string_view owner, uint32_t original_ttl) noexcept;
    // An NSEC for `sname` listing `types` (compact denial), signed now.
    void add_online_nsec(const zone::Zone& zone, std::string_view sname, const uint8_t* owner, std::size_t owner_size,
                         std::span<const uint16_t> types) noexcept;
    void add_addresses_of(const zone::Zone& zone, const zone::Node& node, Need need) noexcept;
    void add_additional_for(const zone::Zone& zone, const zone::RRset& set) noexcept;
    const uint8_t* qname() const noexcept { return packet_ + dns::kHeaderSize; }

    const Snapshot& snapshot_;
    const ClientInfo& client_;
    const Query& query_;
    const uint8_t* packet_;
    Sections sections_;
    steer::Decision decision_;  // a steered answer's regions, which its RRset points at
    bool is_authoritative_ = false;
    uint8_t ecs_scope_ = 0;
    std::array<uint32_t, kMaxAdditionalTargets> additional_done_{};
    std::size_t additional_count_ = 0;

    // Signing (DO=1 to a signed zone). Everything an online signature needs lives here until the
    // response is written: the signatures, the NSEC rdata and the steered addresses they cover.
public:
    bool is_signing() const noexcept { return signs_; }
    bool is_signing_refused() const noexcept { return is_signing_refused_; }
    bool is_compact_nxdomain() const noexcept { return is_compact_nxdomain_; }

private:
    static constexpr std::size_t kMaxOnlineSignatures = 12;
    static constexpr std::size_t kMaxSignedAddresses = 512;
    bool signs_ = false;
    bool is_signing_refused_ = false;
    bool is_compact_nxdomain_ = false;  // NXDOMAIN restored for a client that set CO
    std::array<std::array<uint8_t, dnssec::kMaxRrsigRdataSize>, kMaxOnlineSignatures> signatures_;
    std::size_t signatures_used_ = 0;
    std::array<uint8_t, 2 + dns::kMaxNameLength + dnssec::kMaxBitmapSize> nsec_rdata_;
    std::array<uint8_t, kMaxSignedAddresses * 16> addresses_;  // not initialised: only what is written is read
    std::optional<OnlineSigner> own_signer_;                   // when the caller gave none
};

void Responder::add_rrset(Section section, const zone::Zone& zone, const uint8_t* owner, std::size_t owner_size,
                          const zone::RRset& set, Need need, std::string_view expanded) noexcept {
    RRsetRef r;
    r.owner = owner;
    r.owner_size = owner_size;
    r.type = set.type;
    r.ttl = set.ttl;
    r.form = set.form;
    r.need = need;
    r.zone = &zone;
    r.set = &set;
    if (signs_ && expanded.empty()) {
        attach_zone_signatures(&r, zone, set);
    } else if (signs_) {
        std::array<std::span<const uint8_t>, 32> rdatas;
        std::size_t count = 0;
        for (const zone::Rdata& rdata : zone.rdatas(set)) {
            if (count == rdatas.size()) {
                sections_.mark_required_lost();  // more than a wildcard answer signed online may hold
                return;
            }
            rdatas[count++] = {zone.bytes_of(rdata), rdata.size};
        }
        sign_online(&r, zone, expanded, set.ttl, {rdatas.data(), count});
    }
    sections_.add(section, r);
}

void Responder::sign_online(RRsetRef* r, const zone::Zone& zone, std::string_view owner, uint32_t original_ttl,
                            std::span<const std::span<const uint8_t>> rdatas) noexcept {
    const zone::Signing& signing = *zone.signing();
    OnlineSigner* signer = client_.signer;
    if (signer == nullptr) {
        if (!own_signer_) own_signer_.emplace(0, 0.0, std::array<uint64_t, 2>{1, 2});
        signer = &*own_signer_;
    }
    const dnssec::RRsetToSign rrset{
        {reinterpret_cast<const uint8_t*>(owner.data()), owner.size()}, r->type, r->rrclass, original_ttl, rdatas};
    for (const dnssec::Key* key : signing.zone_signers) {
        if (signatures_used_ == signatures_.size() || r->rrsig_count == r->rrsigs.size()) {
            sections_.mark_required_lost();
            return;
        }
        std::array<uint8_t, dnssec::kMaxRrsigRdataSize>& out = signatures_[signatures_used_];
        std::size_t size = 0;
        const OnlineSigner::Result result = signer->signature(*key, rrset, signing.window, client_.now_ms, out, &size);
        if (result != OnlineSigner::Result::ok) {
            is_signing_refused_ = true;
            return;
        }
        ++signatures_used_;
        r->rrsigs[r->rrsig_count++] = {out.data(), size};
    }
}

// An RRset of one record given as r->rdata (a steered CNAME, an NSEC), a CNAME's target
// lower-cased for signing.
void Responder::sign_online_one(RRsetRef* r, const zone::Zone& zone, std::string_view owner,
                                uint32_t original_ttl) noexcept {
    std::array<uint8_t, std::tuple_size_v<decltype(nsec_rdata_)>> lower;  // the longest: an NSEC's
    const std::size_t size = std::min(r->rdata_size, lower.size());
    std::copy(r->rdata, r->rdata + size, lower.begin());
    if (r->form == dns::RdataForm::name) dns::lowercase_name(lower.data(), size);
    const std::array<std::span<const uint8_t>, 1> rdatas{std::span<const uint8_t>(lower.data(), size)};
    sign_online(r, zone, owner, original_ttl, rdatas);
}

void Responder::add_online_nsec(const zone::Zone& zone, std::string_view sname, const uint8_t* owner,
                                std::size_t owner_size, std::span<const uint16_t> types) noexcept {
    const std::size_t size = dnssec::write_compact_nsec({reinterpret_cast<const uint8_t*>(sname.data()), sname.size()},
                                                        types, nsec_rdata_.data());
    if (size == 0) return;  // a 254-byte name has no successor: the denial goes unproven
    RRsetRef r;
    r.owner = owner;
    r.owner_size = owner_size;
    r.type = rrtype::NSEC;
    r.ttl = zone.negative_ttl();
    r.rdata = nsec_rdata_.data();
    r.rdata_size = size;
    sign_online_one(&r, zone, sname, zone.negative_ttl());
    sections_.add(Section::authority, r);
}

void Responder::add_addresses_of(const zone::Zone& zone, const zone::Node& node, Need need) noexcept {
    const std::string_view name = zone.name_of(node);
    const auto* owner = reinterpret_cast<const uint8_t*>(name.data());
    for (const uint16_t type : {rrtype::A, rrtype::AAAA}) {
        if (const zone::RRset* set = zone.find_rrset(node, type)) {
            add_rrset(Section::additional, zone, owner, name.size(), *set, need);
        }
    }
}

// A/AAAA for the in-zone targets of NS, MX and SRV answers (RFC 1035 §3.3.9, RFC 2782).
void Responder::add_additional_for(const zone::Zone& zone, const zone::RRset& set) noexcept {
    for (const zone::Rdata& rdata : zone.rdatas(set)) {
        if (rdata.target_node == zone::kNoNode) continue;
        const zone::Node& target = zone.node(rdata.target_node);
        // Glue below a cut is not ours to give except in referrals and for our own NS.
        if (target.is_below_cut && set.type != rrtype::NS) continue;
        const auto done = additional_done_.begin() + static_cast<std::ptrdiff_t>(additional_count_);
        if (std::find(additional_done_.begin(), done, rdata.target_node) != done) continue;
        if (additional_count_ < kMaxAdditionalTargets) additional_done_[additional_count_++] = rdata.target_node;
        add_addresses_of(zone, target, Need::optional);
    }
}

bool has_type(std::span<const uint8_t> nsec_rdata, uint16_t type) noexcept {
    std::size_t at = 0;
    while (at < nsec_rdata.size() && nsec_rdata[at] != 0) at += nsec_rdata[at] + 1u;  // the next name
    for (++at; at + 2 <= nsec_rdata.size();) {
        const uint8_t window = nsec_rdata[at];
        const uint8_t length = nsec_rdata[at + 1];
        const unsigned low = type & 0xFF;
        if (window == (type >> 8) && low / 8 < length && at + 2 + low / 8 < nsec_rdata.size())
            return (nsec_rdata[at + 2 + low / 8] & (0x80 >> (low % 8))) != 0;
        at += 2u + length;
    }
    return false;
}

// NXDOMAIN or NODATA: the SOA in authority with the negative TTL (RFC 2308 §3), and when signing
// the NSEC that proves it. Compact denial (RFC 9824): the NSEC is at the name asked for and covers
// nothing else; a name that does not exist gets NOERROR with an NSEC listing only NXNAME (and
// its NXDOMAIN back when the client set CO).
uint16_t Responder::deny(const zone::Zone& zone, uint16_t rc, const zone::Node* node, const Lookup* found,
                         const dns::NameBuffer& sname, const uint8_t* owner, std::size_t owner_size) noexcept {
    const zone::RRset* soa = zone.find_rrset(zone.apex(), rrtype::SOA);
    const std::string_view origin = zone.origin();
    const zone::Rdata& rdata = zone.rdatas(*soa)[0];
    RRsetRef r;
    r.owner = reinterpret_cast<const uint8_t*>(origin.data());
    r.owner_size = origin.size();
    r.type = rrtype::SOA;
    r.ttl = zone.negative_ttl();
    r.form = soa->form;
    r.rdata = zone.bytes_of(rdata);
    r.rdata_size = rdata.size;
    if (signs_) attach_zone_signatures(&r, zone, *soa);
    sections_.add(Section::authority, r);
    if (!signs_) return rc;

    const uint16_t qtype = query_.qtype;
    if (node == nullptr) {
        static constexpr std::array<uint16_t, 3> kNxname{rrtype::RRSIG, rrtype::NSEC, dnssec::kTypeNxname};
        add_online_nsec(zone, sname.view(), owner, owner_size, kNxname);
        is_compact_nxdomain_ = query_.edns.is_compact_ok;
        return is_compact_nxdomain_ ? rcode::NXDOMAIN : rcode::NOERROR;
    }
    const bool is_expanded = found != nullptr && found->is_wildcard;
    if (const zone::RRset* nsec = zone.nsec(*node); nsec != nullptr && !is_expanded) {
        const zone::Rdata& n = zone.rdatas(*nsec)[0];
        const std::span<const uint8_t> bits(zone.bytes_of(n), n.size);
        if (!has_type(bits, qtype) && !has_type(bits, rrtype::CNAME)) {
            add_rrset(Section::authority, zone, owner, owner_size, *nsec, Need::required);
            return rc;
        }
    }
    // The node's types but the one asked for: its NSEC lists a steered family this answer had no
    // address of, or the name is a wildcard's expansion.
    std::array<uint16_t, 64> types;
    std::size_t count = 0;
    types[count++] = rrtype::RRSIG;
    types[count++] = rrtype::NSEC;
    for (const zone::RRset& set : zone.rrsets(*node)) {
        if (set.type != qtype && count < types.size()) types[count++] = set.type;
    }
    if (node->steered != zone::kNoNode) {
        for (const uint16_t family : {rrtype::A, rrtype::AAAA}) {
            if (family != qtype && count < types.size()) types[count++] = family;
        }
    }
    add_online_nsec(zone, sname.view(), owner, owner_size, {types.data(), count});
    return rc;
}

// A referral: not authoritative, the cut's NS in authority and their glue (RFC 1034 §4.3.2);
// glue that does not fit makes the referral truncated (RFC 9471 §3).
uint16_t Responder::refer(const zone::Zone& zone, const zone::Node& cut) noexcept {
    is_authoritative_ = false;
    const zone::RRset* ns = zone.find_rrset(cut, rrtype::NS);
    const std::string_view name = zone.name_of(cut);
    const auto* cut_owner = reinterpret_cast<const uint8_t*>(name.data());
    add_rrset(Section::authority, zone, cut_owner, name.size(), *ns, Need::required);
    if (signs_) {
        // The child's DS, or the NSEC that proves it has none: an insecure delegation (RFC 4035 §3.1.4).
        const zone::RRset* proof = zone.find_rrset(cut, rrtype::DS);
        if (proof == nullptr) proof = zone.nsec(cut);
        if (proof != nullptr) add_rrset(Section::authority, zone, cut_owner, name.size(), *proof, Need::required);
    }
    for (const zone::Rdata& rdata : zone.rdatas(*ns)) {
        if (rdata.target_node != zone::kNoNode) add_addresses_of(zone, zone.node(rdata.target_node), Need::glue);
    }
    return rcode::NOERROR;
}

uint16_t Responder::respond_from_zone(const zone::ServedZone& served) noexcept {
    const zone::Zone& zone = served.zone();
    is_authoritative_ = true;
    signs_ = query_.edns.is_dnssec_ok && zone.signing() != nullptr;
    const uint16_t qtype = query_.qtype;
    // The name being looked up: the qname, then each CNAME target. `owner` is how it is written
    // in the answer: the client's own bytes for the qname (so its case is echoed), else the
    // target as the zone spells it.
    dns::NameBuffer sname = query_.qname_lower;
    const uint8_t* owner = qname();
    std::size_t owner_size = query_.qname_size;
    std::array<const zone::Node*, kMaxCnameChain> visited{};

    for (int step = 0;; ++step) {
        const Lookup found = lookup(zone, sname.view(), qtype);
        if (found.kind == LookupKind::delegation) {
            // A chain that leads into a delegated zone ends here; the resolver follows it.
            return step == 0 ? refer(zone, *found.node) : rcode::NOERROR;
        }
        if (found.kind == LookupKind::nxdomain) {
            return deny(zone, rcode::NXDOMAIN, nullptr, nullptr, sname, owner, owner_size);
        }

        const zone::Node& node = *found.node;
        if (std::find(visited.begin(), visited.begin() + step, &node) != visited.begin() + step) {
            return rcode::NOERROR;  // a CNAME loop: stop where it closes
        }
        // A wildcard's records answer for the name asked, and are signed for it.
        const std::string_view expanded = found.is_wildcard && signs_ ? sname.view() : std::string_view{};
        const bool is_steered_type = qtype == rrtype::A || qtype == rrtype::AAAA || qtype == rrtype::ANY;
        if (node.steered != zone::kNoNode && is_steered_type) return respond_steered(served, node, owner, owner_size);
        if (signs_ && qtype == rrtype::NSEC && !found.is_wildcard) {
            if (const zone::RRset* nsec = zone.nsec(node)) {
                add_rrset(Section::answer, zone, owner, owner_size, *nsec, Need::required);
                return rcode::NOERROR;
            }
        }
        if (node.rrset_count == 0) {  // empty non-terminal or steered only
            return deny(zone, rcode::NOERROR, &node, &found, sname, owner, owner_size);
        }

        const zone::RRset* cname = zone.find_rrset(node, rrtype::CNAME);
        if (cname != nullptr && qtype != rrtype::CNAME) {
            add_rrset(Section::answer, zone, owner, owner_size, *cname, Need::required, expanded);
            if (qtype == rrtype::ANY) return rcode::NOERROR;
            const zone::Rdata& target = zone.rdatas(*cname)[0];
            owner = zone.bytes_of(target);
            owner_size = target.size;
            std::copy(owner, owner + owner_size, sname.bytes.begin());
            sname.length = static_cast<uint8_t>(owner_size);
            dns::lowercase_name(sname.bytes.data(), sname.length);
            visited[static_cast<std::size_t>(step)] = &node;
            // Chains are followed only inside this zone (RFC 1034 §4.3.2 step 3a).
            if (!dns::is_subdomain(sname.view(), zone.origin()) || step + 1 >= kMaxCnameChain) {
                return rcode::NOERROR;
            }
            continue;
        }

        // RFC 8482 §4.1: answer ANY with one RRset; the node's first, by type number.
        const zone::RRset* set = qtype == rrtype::ANY ? &zone.rrsets(node)[0] : zone.find_rrset(node, qtype);
        if (set == nullptr) return deny(zone, rcode::NOERROR, &node, &found, sname, owner, owner_size);
        add_rrset(Section::answer, zone, owner, owner_size, *set, Need::required, expanded);
        add_additional_for(zone, *set);
        return rcode::NOERROR;
    }
}

// The client address that steering locates: the ECS subnet when the query sent one and the
// zone uses ECS, else the packet's source (RFC 7871 §7.1.1). A source prefix of 0 asks that no
// client information be used, so the resolver's own address decides (with scope 0).
steer::ClientAddress Responder::client_address(const zone::Zone& zone) const noexcept {
    steer::ClientAddress client;
    const dns::ClientSubnet& ecs = query_.edns.client_subnet;
    if (ecs.is_present && ecs.source_prefix > 0 && zone.policy().use_ecs) {
        client.address.family = ecs.family == 1 ? 4 : 6;
        std::copy(ecs.address.begin(), ecs.address.begin() + ecs.address_size, client.address.bytes.begin());
        client.source_prefix = ecs.source_prefix;
        client.is_from_ecs = true;
        return client;
    }
    client.address = geo::from_sockaddr(client_.source);
    client.source_prefix = static_cast<uint8_t>(client.address.is_valid() ? client.address.width() : 0);
    return client;
}

uint16_t Responder::respond_steered(const zone::ServedZone& served, const zone::Node& node, const uint8_t* owner,
                                    std::size_t owner_size) noexcept {
    const zone::Zone& zone = served.zone();
    const steer::Policy& policy = zone.policy();
    const steer::SteeredName& name = policy.names[node.steered];
    const uint16_t type = query_.qtype == rrtype::AAAA ? rrtype::AAAA : rrtype::A;  // ANY answers A
    // Without the worker's generator (tests, explain), the same fixed seed everywhere.
    Random fallback(kFixedSeed);
    Random* random = client_.random != nullptr ? client_.random : &fallback;
    const steer::ClientAddress client = client_address(zone);
    decision_ = steer::decide(policy, {&served.runtime->health(), &served.runtime->feedback()}, name, type, client,
                              snapshot_.geo.get(), random, client_.trace);
    const steer::Decision& decision = decision_;
    if (client.is_from_ecs) ecs_scope_ = decision.scope_prefix;
    if (Outcome* outcome = client_.outcome) {
        outcome->steered_name = static_cast<int32_t>(node.steered);
        outcome->route = decision.route;
        outcome->is_from_ecs = client.is_from_ecs;
        outcome->is_pruned = decision.is_pruned;
        outcome->region_count = decision.count;
        outcome->regions = decision.regions;
        outcome->is_located = decision.is_located;
        outcome->country = decision.country;
        if (!decision.is_located && client_.wants_location && client.address.is_valid()) {
            outcome->is_located = true;
            outcome->country = snapshot_.geo->lookup(client.address).country;
        }
    }
    RRsetRef r;
    r.owner = owner;
    r.owner_size = owner_size;
    r.ttl = decision.ttl;
    // A CNAME answers alone: a name has one CNAME (RFC 2181 §10.1).
    const std::string* cname = decision.cname;
    if (cname == nullptr && decision.count > 0 && !policy.regions[decision.regions[0]].cname.empty()) {
        cname = &policy.regions[decision.regions[0]].cname;
    }
    // Signed for the node's name with the name's TTL: a pruned answer's shorter TTL is on the wire
    // only (a validator takes the lower of the two, RFC 4035 §5.3.3).
    const std::string_view signed_owner = zone.name_of(node);
    if (cname != nullptr) {
        r.type = rrtype::CNAME;
        r.form = dns::RdataForm::name;
        r.rdata = reinterpret_cast<const uint8_t*>(cname->data());
        r.rdata_size = cname->size();
        if (signs_) sign_online_one(&r, zone, signed_owner, name.ttl);
        sections_.add(Section::answer, r);
        return rcode::NOERROR;
    }
    if (decision.count == 0) {
        dns::NameBuffer node_name;
        std::copy(signed_owner.begin(), signed_owner.end(), node_name.bytes.begin());
        node_name.length = static_cast<uint8_t>(signed_owner.size());
        return deny(zone, rcode::NOERROR, &node, nullptr, node_name, owner, owner_size);
    }
    // One RRset of every chosen region's addresses (a CNAME region among them has none).
    r.type = type;
    r.policy = &policy;
    r.regions = decision.regions.data();
    r.region_count = decision.count;
    r.health = &served.runtime->health();
    if (signs_) {
        // The addresses as they will be written, so that what is signed is what is sent even if
        // the health board changes meanwhile.
        const std::size_t size = type == rrtype::A ? 4 : 16;
        std::size_t count = 0;
        const bool fits = each_steered_address(r, [&](const uint8_t* address, std::size_t) {
            if (count == kMaxSignedAddresses) return false;
            std::copy(address, address + size, addresses_.data() + count++ * size);
            return true;
        });
        if (!fits) {
            sections_.mark_required_lost();
            return rcode::NOERROR;
        }
        r.policy = nullptr;
        r.rdata = addresses_.data();
        r.rdata_size = count * size;
        r.record_size = static_cast<uint16_t>(size);
        // Left uninitialised, as Sections' entries are: only the first `count` are written and read.
        union Records {
            // NOLINTNEXTLINE(modernize-use-equals-default): = default would construct every span
            Records() noexcept {}
            std::array<std::span<const uint8_t>, kMaxSignedAddresses> spans;
        } records;
        for (std::size_t i = 0; i < count; ++i) records.spans[i] = {addresses_.data() + i * size, size};
        sign_online(&r, zone, signed_owner, name.ttl, {records.spans.data(), count});
    }
    sections_.add(Section::answer, r);
    return rcode::NOERROR;
}

uint16_t Responder::respond_chaos() noexcept {
    const AnswerSettings& settings = snapshot_.settings;
    if (!settings.is_chaos_enabled) return rcode::REFUSED;
    using namespace std::string_view_literals;
    static constexpr std::string_view kVersionBind = "\7version\4bind\0"sv;
    static constexpr std::string_view kVersionServer = "\7version\6server\0"sv;
    static constexpr std::string_view kHostnameBind = "\10hostname\4bind\0"sv;
    static constexpr std::string_view kIdServer = "\2id\6server\0"sv;
    const std::string_view name = query_.qname_lower.view();
    const std::vector<uint8_t>* txt = nullptr;
    if (name == kVersionBind || name == kVersionServer) txt = &settings.version_txt;
    else if (name == kHostnameBind) txt = &settings.hostname_txt;
    else if (name == kIdServer) txt = &settings.id_server_txt;
    if (txt == nullptr || txt->empty()) return rcode::REFUSED;
    is_authoritative_ = true;
    if (query_.qtype != rrtype::TXT && query_.qtype != rrtype::ANY) return rcode::NOERROR;
    RRsetRef r;
    r.owner = qname();
    r.owner_size = query_.qname_size;
    r.type = rrtype::TXT;
    r.rrclass = dns::rrclass::CH;
    r.rdata = txt->data();
    r.rdata_size = txt->size();
    sections_.add(Section::answer, r);
    return rcode::NOERROR;
}

// "_explain.NAME TXT": the core does not explain (that builds text); it answers REFUSED and
// says it was asked, and the worker, for an allowed source within its budget, has the
// explanation made (explain::explain_txt) and asks again with it in ClientInfo::explanation.
uint16_t Responder::respond_explain() noexcept {
    const std::string_view qname_lower = query_.qname_lower.view();
    const std::string_view target = qname_lower.substr(static_cast<uint8_t>(qname_lower[0]) + 1u);
    const zone::ServedZone* served = snapshot_.zones.find_zone(target);
    if (served == nullptr) return rcode::REFUSED;
    if (client_.explanation.empty()) {
        if (client_.outcome != nullptr) client_.outcome->is_explain_request = true;
        return rcode::REFUSED;
    }
    is_authoritative_ = true;
    if (client_.outcome != nullptr) client_.outcome->zone = served;
    RRsetRef r;
    r.owner = qname();
    r.owner_size = query_.qname_size;
    r.type = rrtype::TXT;
    r.rdata = client_.explanation.data();
    r.rdata_size = client_.explanation.size();
    sections_.add(Section::answer, r);
    return rcode::NOERROR;
}

uint16_t Responder::respond() noexcept {
    if (query_.qclass == dns::rrclass::CH) return respond_chaos();
    if (query_.qclass != dns::rrclass::IN) return rcode::REFUSED;
    if (is_explain_name(query_) && query_.qtype == rrtype::TXT) return respond_explain();
    // Zone transfers allocate and may take many messages: the core refuses them and says so, and
    // the worker has xfr::serve_transfer answer instead (docs/TRANSFERS.md).
    if (query_.qtype == rrtype::AXFR || query_.qtype == rrtype::IXFR) {
        if (client_.outcome != nullptr) client_.outcome->is_transfer_request = true;
        return rcode::REFUSED;
    }
    const zone::ServedZone* served = snapshot_.zones.find_zone(query_.qname_lower.view());
    if (served == nullptr) return rcode::REFUSED;  // never an open resolver
    if (client_.outcome != nullptr) client_.outcome->zone = served;
    return respond_from_zone(*served);
}

// QR, the opcode, and RD and CD copied (RFC 1035 §4.1.1, RFC 4035 §3.1.6); RA stays clear. An
// opcode we do not implement gets neither RD nor CD back: nothing was looked up, which is what
// BIND answers and compliance testers expect.
uint16_t header_flags(const Query& query, dns::QueryStatus status) noexcept {
    const uint16_t copied = status == dns::QueryStatus::notimp
                                ? 0
                                : static_cast<uint16_t>(query.flags & (dns::flag::RD | dns::flag::CD));
    return static_cast<uint16_t>(dns::flag::QR | (query.opcode << 11) | copied);
}

}  // namespace

std::size_t answer_query(const Snapshot& snapshot, const ClientInfo& client, std::span<const uint8_t> packet,
                         std::span<uint8_t> response) noexcept {
    Query query;
    const dns::QueryStatus status = dns::read_query(packet, &query);
    if (client.outcome != nullptr) {
        *client.outcome = Outcome{};
        client.outcome->qtype = query.qtype;
        client.outcome->is_dropped = status == dns::QueryStatus::drop;
        client.outcome->is_malformed = status == dns::QueryStatus::formerr;
        client.outcome->rcode = status == dns::QueryStatus::formerr   ? rcode::FORMERR
                                : status == dns::QueryStatus::notimp  ? rcode::NOTIMP
                                : status == dns::QueryStatus::badvers ? rcode::BADVERS
                                                                      : rcode::NOERROR;
    }
    if (status == dns::QueryStatus::drop) return 0;
    if (client.outcome != nullptr) client.outcome->has_tsig = status == dns::QueryStatus::ok && query.tsig_offset != 0;

    const AnswerSettings& settings = snapshot.settings;
    // Size limit: 512 without EDNS, the client's payload (at least 512, at most our cap) with
    // it (RFC 6891 §6.2.3, §6.2.5); TCP answers may use the whole 64 KiB frame.
    std::size_t limit = dns::kClassicUdpSize;
    if (client.transport == Transport::tcp) {
        limit = dns::kMaxMessageSize;
    } else if (query.edns.is_present) {
        limit = std::clamp<std::size_t>(query.edns.udp_payload, dns::kClassicUdpSize,
                                        std::max<std::size_t>(settings.udp_max_payload, dns::kClassicUdpSize));
    }
    MessageWriter w(response);
    w.set_limit(limit);
    w.write_header(query.id, header_flags(query, status));
    if (query.has_question)
        w.write_question(packet.data() + dns::kHeaderSize, query.qname_size, query.qtype, query.qclass);

    if (status == dns::QueryStatus::formerr || status == dns::QueryStatus::notimp) {
        w.set_flags(
            static_cast<uint16_t>(w.flags() | (status == dns::QueryStatus::formerr ? rcode::FORMERR : rcode::NOTIMP)));
        return w.finish();
    }
    if (status == dns::QueryStatus::badvers) {
        // Extended rcode BADVERS = 16: upper 8 bits in the OPT, lower 4 (zero) in the header.
        w.add_opt(settings.udp_max_payload, rcode::BADVERS >> 4, query.edns.is_dnssec_ok, {});
        return w.finish();
    }

    // NSID option: code 3, length, the configured bytes (RFC 5001 §2.3).
    const bool with_nsid = query.edns.is_present && query.edns.wants_nsid && !settings.nsid.empty();
    const dns::ClientSubnet& ecs = query.edns.client_subnet;
    const std::size_t opt_size = query.edns.is_present ? 11 + (with_nsid ? 4 + settings.nsid.size() : 0) +
                                                             (ecs.is_present ? 8 + ecs.address_size : 0)
                                                       : 0;
    w.set_limit(limit - opt_size);

    Responder responder(snapshot, client, query, packet.data());
    uint16_t rc = responder.respond();
    bool is_truncated = false;
    if (responder.is_signing_refused()) {
        // Over the signing budget: UDP clients are sent to TCP (TC=1, nothing else), where a
        // spoofed flood cannot follow; TCP clients get SERVFAIL.
        if (client.transport == Transport::udp) is_truncated = true;
        else rc = rcode::SERVFAIL;
    } else {
        is_truncated = responder.sections().encode(&w);
    }
    auto flags = static_cast<uint16_t>(w.flags() | (rc & 0xF));
    if (responder.is_authoritative()) flags |= dns::flag::AA;
    if (is_truncated) flags |= dns::flag::TC;
    w.set_flags(flags);
    if (client.outcome != nullptr) {
        client.outcome->rcode = rc;
        client.outcome->is_truncated = is_truncated;
        client.outcome->is_signed = responder.is_signing();
        client.outcome->is_signing_refused = responder.is_signing_refused();
    }
    if (query.edns.is_present) {
        std::array<uint8_t, 4 + kMaxNsidSize + 8 + 16> options;
        std::size_t options_size = 0;
        if (with_nsid) {
            dns::write_u16(options.data(), dns::edns_option::NSID);
            dns::write_u16(options.data() + 2, static_cast<uint16_t>(settings.nsid.size()));
            std::copy(settings.nsid.begin(), settings.nsid.end(), options.begin() + 4);
            options_size = 4 + settings.nsid.size();
        }
        if (ecs.is_present) {
            // Family, source prefix and address copied from the query; the scope says how much
            // of the address the answer depended on (RFC 7871 §7.2.1).
            uint8_t* o = options.data() + options_size;
            dns::write_u16(o, dns::edns_option::CLIENT_SUBNET);
            dns::write_u16(o + 2, static_cast<uint16_t>(4 + ecs.address_size));
            dns::write_u16(o + 4, ecs.family);
            o[6] = ecs.source_prefix;
            o[7] = ecs.source_prefix == 0 ? 0 : responder.ecs_scope();
            std::copy(ecs.address.begin(), ecs.address.begin() + ecs.address_size, o + 8);
            options_size += 8 + ecs.address_size;
        }
        w.add_opt(settings.udp_max_payload, static_cast<uint8_t>(rc >> 4), query.edns.is_dnssec_ok,
                  {options.data(), options_size}, responder.is_compact_nxdomain());
    }
    return w.finish();
}

}  // namespace meridian::answer

// The compiled, immutable form of one zone: nodes indexed by lower-case wire name, RRsets with
// rdata in wire form, and the links additional-section processing needs, all resolved at
// compile time so that answering only reads; its steering policy and its checks. Nothing in it
// changes after build(): what does (health, counters) is the zone's runtime (zone/runtime.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <memory>

#include "dns/message_writer.hpp"
#include "health/check_plan.hpp"
#include "steer/policy.hpp"

namespace meridian::zone {

inline constexpr uint32_t kNoNode = UINT32_MAX;
inline constexpr uint32_t kNoRRset = UINT32_MAX;

struct Signing;

struct Rdata {
    uint32_t offset = 0;  // into Zone's byte arena
    uint16_t size = 0;
    uint32_t target_node = kNoNode;  // in-zone node named by NS/MX/SRV rdata, for glue/additional
};

struct RRset {
    uint16_t type = 0;
    uint32_t ttl = 0;
    dns::RdataForm form = dns::RdataForm::opaque;
    uint32_t first_rdata = 0;
    uint32_t rdata_count = 0;
    // Signed zones: its RRSIG rdatas, one per signing key, in the rdata list (none for glue and
    // the NS of a delegation, which the parent does not sign: RFC 4035 §2.2).
    uint32_t first_signature = 0;
    uint16_t signature_count = 0;
};

struct Node {
    uint32_t name_offset = 0;  // lower-case wire name in the arena
    uint8_t name_size = 0;
    uint32_t first_rrset = 0;
    uint16_t rrset_count = 0;  // 0 for an empty non-terminal
    bool is_apex = false;
    bool is_delegation = false;  // NS below the apex: a zone cut (RFC 1034 §4.2.1)
    bool is_below_cut = false;   // glue: data the zone holds but is not authoritative for
    uint32_t steered = kNoNode;  // index into the policy's names when A/AAAA are steered
    // Signed zones: the node's NSEC (next name "\000.owner", its types; RFC 9824), signed, in
    // the RRset list past every node's own; it denies any type the node does not have.
    uint32_t nsec = kNoRRset;
};

class Zone {
public:
    std::string_view origin() const noexcept { return name_of(nodes_[apex_]); }
    std::size_t origin_labels() const noexcept { return origin_labels_; }
    const Node& apex() const noexcept { return nodes_[apex_]; }
    uint32_t serial() const noexcept { return serial_; }
    // TTL of the SOA in negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
    uint32_t negative_ttl() const noexcept { return negative_ttl_; }

    const Node* find(std::string_view lower_wire_name) const noexcept {
        const auto it = index_.find(lower_wire_name);
        return it == index_.end() ? nullptr : &nodes_[it->second];
    }
    const Node& node(uint32_t index) const noexcept { return nodes_[index]; }
    std::size_t node_count() const noexcept { return nodes_.size(); }

    std::string_view name_of(const Node& n) const noexcept {
        return {reinterpret_cast<const char*>(bytes_.data()) + n.name_offset, n.name_size};
    }
    std::span<const RRset> rrsets(const Node& n) const noexcept {
        return {rrsets_.data() + n.first_rrset, n.rrset_count};
    }
    const RRset* find_rrset(const Node& n, uint16_t type) const noexcept {
        for (const RRset& set : rrsets(n)) {
            if (set.type == type) return &set;
        }
        return nullptr;
    }
    std::span<const Rdata> rdatas(const RRset& set) const noexcept {
        return {rdatas_.data() + set.first_rdata, set.rdata_count};
    }
    const uint8_t* bytes_of(const Rdata& rdata) const noexcept { return bytes_.data() + rdata.offset; }
    std::span<const Rdata> signatures(const RRset& set) const noexcept {
        return {rdatas_.data() + set.first_signature, set.signature_count};
    }
    const RRset* nsec(const Node& n) const noexcept { return n.nsec == kNoRRset ? nullptr : &rrsets_[n.nsec]; }
    // Null for an unsigned zone; else the keys and window it was signed with, for online signing.
    const Signing* signing() const noexcept { return signing_.get(); }
    // A signed zone's unsigned form, which it is signed again from; null for an unsigned zone.
    const std::shared_ptr<const Zone>& unsigned_form() const noexcept { return unsigned_; }
    const steer::Policy& policy() const noexcept { return *policy_; }
    const health::CheckPlan& checks() const noexcept { return *checks_; }

private:
    friend class ZoneBuilder;

    std::vector<uint8_t> bytes_;  // names and rdata; never resized once the index is built
    std::vector<Node> nodes_;
    std::vector<RRset> rrsets_;  // grouped per node, sorted by type within a node
    std::vector<Rdata> rdatas_;
    std::unordered_map<std::string_view, uint32_t> index_;  // keys point into bytes_
    uint32_t apex_ = 0;
    std::size_t origin_labels_ = 0;
    uint32_t serial_ = 0;
    uint32_t negative_ttl_ = 0;
    std::shared_ptr<const steer::Policy> policy_;      // never null; empty for a static zone
    std::shared_ptr<const health::CheckPlan> checks_;  // never null; one entry per policy region
    std::shared_ptr<const Signing> signing_;
    std::shared_ptr<const Zone> unsigned_;
};

}  // namespace meridian::zone

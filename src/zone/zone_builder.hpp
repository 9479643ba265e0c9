// Compiles the records read from one zone file into an immutable Zone, checking the rules
// that make a zone servable (RFC 1034 §4.2, RFC 2181, RFC 4592). Knows nothing of TOML.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"
#include "zone/signing.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

struct RecordSource {
    std::string owner;  // lower-case wire form, absolute
    uint16_t type = 0;
    uint16_t rrclass = 0;
    uint32_t ttl = 0;
    std::string rdata;  // wire form, names uncompressed
    SourceLocation where;
};

class ZoneBuilder {
public:
    // `origin` is a lower-case wire name; `where` locates the zone as a whole (its file).
    ZoneBuilder(std::string origin, SourceLocation where);

    void add(RecordSource record) { records_.push_back(std::move(record)); }
    // The zone's steering policy; its names become steered nodes.
    void set_policy(std::shared_ptr<const steer::Policy> policy) { policy_ = std::move(policy); }
    // How the policy's regions are probed: one RegionCheck per region.
    void set_checks(std::shared_ptr<const health::CheckPlan> checks) { checks_ = std::move(checks); }

    // Validates everything, reporting each problem; returns null when there was any.
    // `check_soa` is false when the caller has already reported the SOA as missing.
    std::unique_ptr<Zone> build(Diagnostics* diagnostics, bool check_soa = true);

    // `zone` with another policy and check plan of the same shape (the same regions and names,
    // other addresses): how members from a feed or a push reach a zone without compiling its
    // records again.
    static std::shared_ptr<const Zone> rebind(const Zone& zone, std::shared_ptr<const steer::Policy> policy,
                                              std::shared_ptr<const health::CheckPlan> checks);

    // `base` (an unsigned zone) signed at `now` (seconds since the epoch) with `config`'s keys:
    // DNSKEY (published keys), and CDS and CDNSKEY (SEP keys published and not retired) when asked, added at the
    // apex; every RRset the zone is authoritative for signed by each active key that signs it;
    // every node but glue given its NSEC. Null with `error` when no key can sign at `now` or
    // signing fails. docs/DNSSEC.md.
    static std::shared_ptr<const Zone> sign(std::shared_ptr<const Zone> base,
                                            std::shared_ptr<const SigningConfig> config, int64_t now,
                                            std::string* error);

private:
    std::string origin_;
    SourceLocation where_;
    std::vector<RecordSource> records_;
    std::shared_ptr<const steer::Policy> policy_ = std::make_shared<steer::Policy>();
    std::shared_ptr<const health::CheckPlan> checks_ = std::make_shared<health::CheckPlan>();
};

}  // namespace meridian::zone

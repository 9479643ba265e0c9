#include "stats/counters.hpp"

#include <algorithm>

#include "dns/wire.hpp"

namespace meridian::stats {

QtypeBucket qtype_bucket(uint16_t qtype) noexcept {
    switch (qtype) {
    case dns::rrtype::A: return QtypeBucket::A;
    case dns::rrtype::AAAA: return QtypeBucket::AAAA;
    case dns::rrtype::CNAME: return QtypeBucket::CNAME;
    case dns::rrtype::MX: return QtypeBucket::MX;
    case dns::rrtype::TXT: return QtypeBucket::TXT;
    case dns::rrtype::NS: return QtypeBucket::NS;
    case dns::rrtype::SOA: return QtypeBucket::SOA;
    case dns::rrtype::SRV: return QtypeBucket::SRV;
    case dns::rrtype::PTR: return QtypeBucket::PTR;
    case dns::rrtype::CAA: return QtypeBucket::CAA;
    case dns::rrtype::HTTPS: return QtypeBucket::HTTPS;
    case dns::rrtype::SVCB: return QtypeBucket::SVCB;
    case dns::rrtype::ANY: return QtypeBucket::ANY;
    default: return QtypeBucket::OTHER;
    }
}

RcodeBucket rcode_bucket(uint16_t rcode) noexcept {
    switch (rcode) {
    case dns::rcode::NOERROR: return RcodeBucket::NOERROR;
    case dns::rcode::NXDOMAIN: return RcodeBucket::NXDOMAIN;
    case dns::rcode::REFUSED: return RcodeBucket::REFUSED;
    case dns::rcode::FORMERR: return RcodeBucket::FORMERR;
    case dns::rcode::SERVFAIL: return RcodeBucket::SERVFAIL;
    case dns::rcode::NOTIMP: return RcodeBucket::NOTIMP;
    case dns::rcode::BADVERS: return RcodeBucket::BADVERS;
    default: return RcodeBucket::OTHER;
    }
}

std::string_view name_of(QtypeBucket bucket) noexcept {
    static constexpr std::string_view kNames[] = {"A",   "AAAA", "CNAME", "MX",    "TXT",  "NS",  "SOA",
                                                  "SRV", "PTR",  "CAA",   "HTTPS", "SVCB", "ANY", "other"};
    return kNames[static_cast<std::size_t>(bucket)];
}

std::string_view name_of(RcodeBucket bucket) noexcept {
    static constexpr std::string_view kNames[] = {"NOERROR",  "NXDOMAIN", "REFUSED", "FORMERR",
                                                  "SERVFAIL", "NOTIMP",   "BADVERS", "other"};
    return kNames[static_cast<std::size_t>(bucket)];
}

ZoneStats::ZoneStats(std::size_t workers)
    : workers_(std::clamp<std::size_t>(workers, 1, kMaxWorkers)), shards_(std::make_unique<Shard[]>(workers_)) {}

uint64_t ZoneStats::qtype_total(QtypeBucket b) const noexcept {
    uint64_t total = 0;
    for (std::size_t i = 0; i < workers_; ++i) total += shards_[i].by_qtype[static_cast<std::size_t>(b)].get();
    return total;
}

uint64_t ZoneStats::rcode_total(RcodeBucket b) const noexcept {
    uint64_t total = 0;
    for (std::size_t i = 0; i < workers_; ++i) total += shards_[i].by_rcode[static_cast<std::size_t>(b)].get();
    return total;
}

SteerStats::SteerStats(const std::vector<std::size_t>& routes_per_name, std::size_t regions) : region_count_(regions) {
    std::size_t slots = 0;
    for (const std::size_t routes : routes_per_name) {
        first_slot_.push_back(slots);
        route_count_.push_back(routes);
        slots += routes + 1;
    }
    routes_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
    regions_ = std::make_unique<std::atomic<uint64_t>[]>(regions);
    for (std::size_t i = 0; i < slots; ++i) routes_[i].store(0, std::memory_order_relaxed);
    for (std::size_t i = 0; i < regions; ++i) regions_[i].store(0, std::memory_order_relaxed);
}

void SteerStats::count(std::size_t name, int route, const uint32_t* regions, std::size_t region_count) noexcept {
    if (name >= first_slot_.size() || (route >= 0 && static_cast<std::size_t>(route) >= route_count_[name])) return;
    const std::size_t slot = first_slot_[name] + (route < 0 ? route_count_[name] : static_cast<std::size_t>(route));
    routes_[slot].fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < region_count; ++i) {
        if (regions[i] < region_count_) regions_[regions[i]].fetch_add(1, std::memory_order_relaxed);
    }
}

uint64_t SteerStats::route_answers(std::size_t name, int route) const noexcept {
    if (name >= first_slot_.size() || (route >= 0 && static_cast<std::size_t>(route) >= route_count_[name])) return 0;
    const std::size_t slot = first_slot_[name] + (route < 0 ? route_count_[name] : static_cast<std::size_t>(route));
    return routes_[slot].load(std::memory_order_relaxed);
}

}  // namespace meridian::stats

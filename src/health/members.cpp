#include "health/members.hpp"

#include <algorithm>
#include <array>

namespace meridian::health {

MemberSummary summarise_members(std::span<const MemberView> members, bool is_per_address, uint32_t min_healthy,
                                const RegionHealth& region_check) {
    MemberSummary out;
    out.is_answered.resize(members.size());
    // Answers take, family by family, the members of the best tier present, or every member
    // of the family when all are out (answer/sections.cpp).
    std::array<unsigned, 2> best = {2, 2};
    std::array<bool, 2> has_family = {false, false};
    for (const MemberView& m : members) {
        best[m.is_ipv6] = std::min(best[m.is_ipv6], member_tier(m.word));
        has_family[m.is_ipv6] = true;
    }
    RegionHealth h = is_per_address ? RegionHealth{} : region_check;
    h.override = Override::none;
    uint64_t latency_total = 0, success_total = 0, load_total = 0;
    uint32_t measured = 0, loaded = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
        const MemberView& m = members[i];
        const unsigned tier = member_tier(m.word);
        // Answers carry it (when they carry the region); with every member of its family out they
        // would carry them all, failing open, but none is reported as answered.
        const bool is_answered = tier == best[m.is_ipv6] && tier < 2;
        out.is_answered[i] = is_answered;
        // Left out for its health or its source's word (a standby waiting is not left out).
        if (tier == 2 || (!is_answered && !m.is_standby)) (m.is_ipv6 ? h.is_ipv6_pruned : h.is_ipv4_pruned) = true;
        if (tier < 2) ++out.usable;
        else ++out.out;
        if (tier == 0 || m.is_standby) ++out.healthy;
        if (tier == 0 && m.word.has_measurement) {
            latency_total += m.word.latency_ms;
            success_total += m.word.success_permille;
            ++measured;
        }
        if (tier < 2 && m.word.has_load) {
            load_total += m.word.load_centi;
            ++loaded;
        }
    }
    h.lacks_ipv4 = has_family[0] && best[0] == 2;
    h.lacks_ipv6 = has_family[1] && best[1] == 2;
    if (is_per_address) {
        h.state = out.healthy >= min_healthy  ? State::healthy
                  : out.usable >= min_healthy ? State::degraded
                                              : State::unhealthy;
        if (measured > 0) {
            h.has_measurement = true;
            h.latency_ms = static_cast<uint32_t>(latency_total / measured);
            h.success_permille = static_cast<uint16_t>(success_total / measured);
        }
    }
    if (loaded > 0 && (is_per_address || !h.has_load)) {
        h.has_load = true;
        h.load_centi = static_cast<uint32_t>(load_total / loaded);
    }
    out.region = h;
    return out;
}

}  // namespace meridian::health

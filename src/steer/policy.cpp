#include "steer/policy.hpp"

#include "dns/wire.hpp"

namespace meridian::steer {

const char* to_string(MemberState state) noexcept {
    switch (state) {
    case MemberState::up: return "up";
    case MemberState::down: return "down";
    case MemberState::drain: return "drain";
    }
    return "?";
}

bool parse_member_state(std::string_view text, MemberState* out) noexcept {
    for (const MemberState s : {MemberState::up, MemberState::down, MemberState::drain}) {
        if (text == to_string(s)) {
            *out = s;
            return true;
        }
    }
    return false;
}

const char* to_string(CostUnit unit) noexcept {
    switch (unit) {
    case CostUnit::answer: return "answer";
    case CostUnit::gb: return "gb";
    case CostUnit::rank: return "rank";
    }
    return "?";
}

bool Region::answers(uint16_t qtype) const noexcept {
    if (!cname.empty()) return true;
    return qtype == dns::rrtype::AAAA ? !ipv6.empty() : !ipv4.empty();
}

geo::IpAddress Region::member_address(std::size_t index) const noexcept {
    if (index < ipv4.size()) return geo::IpAddress::v4(ipv4[index]);
    return geo::IpAddress::v6(ipv6[index - ipv4.size()]);
}

void Policy::assign_board_slots() noexcept {
    auto next = static_cast<uint32_t>(regions.size());
    for (Region& region : regions) {
        region.first_member = next;
        if (region.has_member_health) next += static_cast<uint32_t>(region.members.size());
    }
    board_slots = next;
}

}  // namespace meridian::steer

// Fuzz target: the member document that feeds publish and the push API takes
// (config::parse_member_document). A refusal says why and keeps nothing; an accepted list obeys
// the rules it was read under, and writing it out reads back to the same list.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "config/member_document.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    // The first byte picks the rules, so every rule is exercised against every document.
    const uint8_t pick = size > 0 ? data[0] : 0;
    meridian::config::MemberRules rules;
    rules.family = static_cast<meridian::config::AddressFamily>(pick % 3);
    rules.max_members = 1u + (pick >> 2) % 8u;
    rules.allow_empty = (pick & 2u) != 0;
    std::vector<meridian::config::RegionMember> members;
    std::string error;
    if (!meridian::config::parse_member_document(text, rules, &members, &error)) {
        FUZZ_CHECK(!error.empty());
        FUZZ_CHECK(members.empty());
        return 0;
    }
    FUZZ_CHECK(members.size() <= rules.max_members);
    FUZZ_CHECK(rules.allow_empty || !members.empty());
    std::set<std::string> seen;
    for (const auto& m : members) {
        FUZZ_CHECK(m.address.is_valid());
        if (rules.family == meridian::config::AddressFamily::ipv4) FUZZ_CHECK(m.address.family == 4);
        if (rules.family == meridian::config::AddressFamily::ipv6) FUZZ_CHECK(m.address.family == 6);
        FUZZ_CHECK(seen.insert(meridian::geo::to_string(m.address)).second);
        FUZZ_CHECK(m.member.weight <= meridian::steer::kMaxMemberWeight);
        FUZZ_CHECK(m.member.id.size() <= meridian::config::kMaxMemberIdBytes);
        FUZZ_CHECK(!m.member.has_load || m.member.load >= 0);
    }
    const std::string written = meridian::config::member_document(members);
    std::vector<meridian::config::RegionMember> again;
    FUZZ_CHECK(meridian::config::parse_member_document(written, rules, &again, &error));
    FUZZ_CHECK(meridian::config::member_document(again) == written);
    return 0;
}

// Region members as outside systems write them: the member document that a feed publishes and
// the push API takes (docs/INTEGRATIONS.md). Small and stable on purpose, so that an
// auto-scaling hook, a cloud function or a controller can write it:
//
//   {"version": 1,
//    "members": [{"address": "198.51.100.11", "id": "i-0abc", "state": "up", "weight": 1, "load": 0.4}]}
//
// `members` is required; per member `address` is required, `id` (≤ 128 bytes), `state` (up,
// down, drain), `weight` (0 … 1000; 0 = standby) and `load` (a number ≥ 0) are optional. Unknown
// keys are ignored, so writers can add their own. Parsing and validation only: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include "geo/address.hpp"
#include "health/check_plan.hpp"
#include "steer/policy.hpp"
#include "zone/zone.hpp"

namespace meridian::config {

using health::AddressFamily;
using health::MemberRules;
const char* to_string(AddressFamily family) noexcept;

inline constexpr std::size_t kMaxMemberIdBytes = 128;

struct RegionMember {
    geo::IpAddress address;
    steer::Member member;
};

// The members of `json`, or false with *error saying what is wrong and where ("members[2].address:
// \"10.0.0.300\" is not an IP address"). The whole document is refused on any error: a region
// never takes half a list.
bool parse_member_document(std::string_view json, const MemberRules& rules, std::vector<RegionMember>* out,
                           std::string* error);
// The checks every list must pass, whatever made it: family, count, duplicates, emptiness.
bool check_members(const std::vector<RegionMember>& members, const MemberRules& rules, std::string* error);
// The document for `members` (what GET shows and the cache keeps), sorted as given.
std::string member_document(const std::vector<RegionMember>& members);

// `zone` with the addresses of some regions replaced: `members[i]` (when present) becomes region
// i's addresses, each with its own health slot; the rest is shared or copied unchanged. Probes
// that went to a region's first address follow its new first member.
std::shared_ptr<const zone::Zone> with_members(const zone::Zone& zone,
                                               const std::vector<const std::vector<RegionMember>*>& members);

}  // namespace meridian::config

#include "config/member_document.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "zone/zone_builder.hpp"

namespace meridian::config {

const char* to_string(AddressFamily family) noexcept {
    switch (family) {
    case AddressFamily::any: return "any";
    case AddressFamily::ipv4: return "ipv4";
    case AddressFamily::ipv6: return "ipv6";
    }
    return "?";
}

namespace {

using nlohmann::json;

// A value as an error message quotes it: short, and bytes that are not UTF-8 replaced.
std::string quoted(const json& value) {
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    return text;
}

bool read_member(const json& object, const std::string& at, RegionMember* out, std::string* error) {
    if (!object.is_object()) {
        *error = at + ": a member is an object with an \"address\", not " + quoted(object);
        return false;
    }
    const auto address = object.find("address");
    if (address == object.end() || !address->is_string()) {
        *error = at + ": \"address\" is required (a string)";
        return false;
    }
    const auto parsed = geo::parse_address(address->get<std::string>());
    if (!parsed) {
        *error = at + ".address: " + quoted(*address) + " is not an IPv4 or IPv6 address";
        return false;
    }
    out->address = *parsed;
    if (const auto id = object.find("id"); id != object.end() && !id->is_null()) {
        if (!id->is_string() || id->get<std::string>().size() > kMaxMemberIdBytes) {
            *error = at + ".id: a string of at most " + std::to_string(kMaxMemberIdBytes) + " bytes";
            return false;
        }
        out->member.id = id->get<std::string>();
    }
    if (const auto state = object.find("state"); state != object.end() && !state->is_null()) {
        if (!state->is_string() || !steer::parse_member_state(state->get<std::string>(), &out->member.state)) {
            *error = at + ".state: " + quoted(*state) + " is not one of up, down, drain";
            return false;
        }
    }
    if (const auto weight = object.find("weight"); weight != object.end() && !weight->is_null()) {
        // A whole number in range, whichever JSON number type carries it ("1.0" included).
        const bool ok = weight->is_number() && weight->get<double>() >= 0 &&
                        weight->get<double>() <= steer::kMaxMemberWeight &&
                        std::floor(weight->get<double>()) == weight->get<double>();
        if (!ok) {
            *error = at + ".weight: " + quoted(*weight) + " is not a whole number from 0 to " +
                     std::to_string(steer::kMaxMemberWeight);
            return false;
        }
        out->member.weight = static_cast<uint32_t>(weight->get<double>());
    }
    if (const auto load = object.find("load"); load != object.end() && !load->is_null()) {
        if (!load->is_number() || !std::isfinite(load->get<double>()) || load->get<double>() < 0) {
            *error = at + ".load: " + quoted(*load) + " is not a number ≥ 0";
            return false;
        }
        out->member.has_load = true;
        out->member.load = load->get<double>();
    }
    return true;
}

}  // namespace

bool check_members(const std::vector<RegionMember>& members, const MemberRules& rules, std::string* error) {
    if (members.empty() && !rules.allow_empty) {
        *error = "no members: refusing to empty the region (allow_empty = false)";
        return false;
    }
    if (members.size() > rules.max_members) {
        *error = std::to_string(members.size()) + " members: more than the region's max_members (" +
                 std::to_string(rules.max_members) + ")";
        return false;
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < members.size(); ++i) {
        const geo::IpAddress& a = members[i].address;
        const std::string text = geo::to_string(a);
        if ((rules.family == AddressFamily::ipv4 && a.family != 4) ||
            (rules.family == AddressFamily::ipv6 && a.family != 6)) {
            *error = "members[" + std::to_string(i) + "].address: " + text + " is not " + to_string(rules.family) +
                     " (the region's family)";
            return false;
        }
        if (!seen.insert(text).second) {
            *error = "members[" + std::to_string(i) + "].address: " + text + " is listed twice";
            return false;
        }
    }
    return true;
}

bool parse_member_document(std::string_view text, const MemberRules& rules, std::vector<RegionMember>* out,
                           std::string* error) {
    const json document = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        *error = "not JSON";
        return false;
    }
    if (!document.is_object()) {
        *error = "a member document is an object: {\"members\": [...]}";
        return false;
    }
    if (const auto version = document.find("version"); version != document.end() && *version != 1) {
        *error = "version " + quoted(*version) + " is not supported (this server reads version 1)";
        return false;
    }
    const auto members = document.find("members");
    if (members == document.end() || !members->is_array()) {
        *error = "\"members\" is required: an array of {\"address\": ...} objects";
        return false;
    }
    // Counted before anything is read, so a huge list costs no more than its parse.
    if (members->size() > rules.max_members) {
        *error = std::to_string(members->size()) + " members: more than the region's max_members (" +
                 std::to_string(rules.max_members) + ")";
        return false;
    }
    std::vector<RegionMember> read;
    read.reserve(members->size());
    for (std::size_t i = 0; i < members->size(); ++i) {
        RegionMember m;
        if (!read_member((*members)[i], "members[" + std::to_string(i) + "]", &m, error)) return false;
        read.push_back(std::move(m));
    }
    if (!check_members(read, rules, error)) return false;
    *out = std::move(read);
    return true;
}

std::string member_document(const std::vector<RegionMember>& members) {
    json list = json::array();
    for (const RegionMember& m : members) {
        json entry = {{"address", geo::to_string(m.address)}};
        if (!m.member.id.empty()) entry["id"] = m.member.id;
        entry["state"] = steer::to_string(m.member.state);
        entry["weight"] = m.member.weight;
        if (m.member.has_load) entry["load"] = m.member.load;
        list.push_back(std::move(entry));
    }
    return json{{"version", 1}, {"members", list}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::shared_ptr<const zone::Zone> with_members(const zone::Zone& zone,
                                               const std::vector<const std::vector<RegionMember>*>& members) {
    auto policy = std::make_shared<steer::Policy>(zone.policy());
    auto checks = std::make_shared<health::CheckPlan>(zone.checks());
    for (std::size_t i = 0; i < members.size() && i < policy->regions.size(); ++i) {
        if (members[i] == nullptr) continue;
        steer::Region& region = policy->regions[i];
        region.ipv4.clear();
        region.ipv6.clear();
        region.members.clear();
        std::vector<steer::Member> ipv6_members;
        for (const RegionMember& m : *members[i]) {
            if (m.address.family == 4) {
                std::array<uint8_t, 4> bytes;
                std::copy(m.address.bytes.begin(), m.address.bytes.begin() + 4, bytes.begin());
                region.ipv4.push_back(bytes);
                region.members.push_back(m.member);
            } else {
                region.ipv6.push_back(m.address.bytes);
                ipv6_members.push_back(m.member);
            }
        }
        region.members.insert(region.members.end(), ipv6_members.begin(), ipv6_members.end());
        // Members from outside are judged one by one: their sources may hold some back.
        region.has_member_health = true;
        if (i < checks->regions.size() && checks->regions[i].is_address_from_region) {
            checks->regions[i].address = region.members.empty() ? std::string()
                                                                : geo::to_string(region.member_address(0));
        }
    }
    policy->assign_board_slots();
    return zone::ZoneBuilder::rebind(zone, std::move(policy), std::move(checks));
}

}  // namespace meridian::config

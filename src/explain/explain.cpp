#include "explain/explain.hpp"

#include <algorithm>
#include <array>

#include "answer/answer.hpp"
#include "common/ldns.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "geo/address.hpp"

namespace meridian::explain {

namespace {

std::string rr_text(const ldns_rr* rr) {
    char* text = ldns_rr2str(rr);
    std::string out = text != nullptr ? text : "";
    free(text);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

// The query a resolver would send for `name` (wire): EDNS, and ECS when `ecs` is given.
std::vector<uint8_t> build_query(std::span<const uint8_t> name, uint16_t type, const geo::Network* ecs) {
    const std::size_t address_bytes = ecs != nullptr ? (ecs->prefix_length + 7u) / 8u : 0;
    const std::size_t options_size = ecs != nullptr ? 8 + address_bytes : 0;
    std::vector<uint8_t> query(dns::kHeaderSize + name.size() + 4 + 11 + options_size);
    uint8_t* p = query.data();
    dns::write_u16(p, 0x4D52);
    dns::write_u16(p + 4, 1);   // QDCOUNT
    dns::write_u16(p + 10, 1);  // ARCOUNT: the OPT
    p = std::copy(name.begin(), name.end(), p + dns::kHeaderSize);
    dns::write_u16(p, type);
    dns::write_u16(p + 2, dns::rrclass::IN);
    p += 4;
    // OPT: root owner, TYPE, payload 4096, extended rcode and flags 0, RDLENGTH (RFC 6891 §6.1.2).
    p[0] = 0;
    dns::write_u16(p + 1, dns::rrtype::OPT);
    dns::write_u16(p + 3, 4096);
    dns::write_u16(p + 9, static_cast<uint16_t>(options_size));
    p += 11;
    if (ecs != nullptr) {
        dns::write_u16(p, dns::edns_option::CLIENT_SUBNET);
        dns::write_u16(p + 2, static_cast<uint16_t>(4 + address_bytes));
        dns::write_u16(p + 4, ecs->address.family == 4 ? 1 : 2);
        p[6] = ecs->prefix_length;
        p[7] = 0;
        std::copy(ecs->address.bytes.begin(), ecs->address.bytes.begin() + static_cast<std::ptrdiff_t>(address_bytes),
                  p + 8);
    }
    return query;
}

struct Traced {
    std::vector<uint8_t> response;   // resized to the answer
    std::vector<std::string> lines;  // the steering trace: empty unless the name is steered
    answer::Outcome outcome;
};

// The one place an explanation is made: `query` through answer_query() as if from `source`,
// over TCP (no truncation), with the core's fixed seed and a trace.
Traced trace_query(const answer::Snapshot& snapshot, std::span<const uint8_t> query, const sockaddr* source,
                   const std::vector<std::string>& assume_down) {
    steer::Trace trace;
    trace.assume_down = assume_down;
    Traced out;
    answer::ClientInfo client;
    client.transport = answer::Transport::tcp;
    client.source = source;
    client.trace = &trace;
    client.outcome = &out.outcome;
    out.response.resize(dns::kMaxMessageSize);
    out.response.resize(answer::answer_query(snapshot, client, query, out.response));
    out.lines = std::move(trace.lines);
    return out;
}

}  // namespace

std::vector<std::string> explain(const answer::Snapshot& snapshot, const Request& request) {
    const bool is_subnet = request.client.find('/') != std::string::npos;
    const auto network = geo::parse_network(request.client, /*is_strict=*/false);
    if (!network) return {"error: \"" + request.client + "\" is not an address or a subnet"};
    const ldns_rr_type type = ldns_get_rr_type_by_name(request.qtype.c_str());
    if (type == 0) return {"error: unknown query type \"" + request.qtype + "\""};

    ldns_rdf* qname_raw = nullptr;
    std::string qname = request.qname;
    if (qname.empty() || qname.back() != '.') qname += '.';
    if (ldns_str2rdf_dname(&qname_raw, qname.c_str()) != LDNS_STATUS_OK)
        return {"error: \"" + request.qname + "\" is not a name"};
    ldns::RdfPtr name(qname_raw);
    const std::vector<uint8_t> query = build_query({ldns_rdf_data(name.get()), ldns_rdf_size(name.get())},
                                                   static_cast<uint16_t>(type), is_subnet ? &*network : nullptr);

    // The packet source: the address itself, or for a subnet a resolver elsewhere (loopback).
    sockaddr_storage source{};
    geo::IpAddress source_address = network->address;
    if (is_subnet) source_address = *geo::parse_address(network->address.family == 4 ? "127.0.0.1" : "::1");
    geo::to_sockaddr(source_address, &source);

    Traced traced = trace_query(snapshot, query, reinterpret_cast<const sockaddr*>(&source), request.assume_down);
    ldns_pkt* raw = nullptr;
    if (traced.response.empty() ||
        ldns_wire2pkt(&raw, traced.response.data(), traced.response.size()) != LDNS_STATUS_OK) {
        return {"error: no answer could be decoded"};
    }
    ldns::PacketPtr packet(raw);
    std::vector<std::string> lines = std::move(traced.lines);
    if (lines.empty()) lines.emplace_back("not a steered name: the answer does not depend on the client");
    char* rcode = ldns_pkt_rcode2str(ldns_pkt_get_rcode(packet.get()));
    lines.push_back(std::string("rcode ") + (rcode != nullptr ? rcode : "?"));
    free(rcode);
    const ldns_rr_list* answers = ldns_pkt_answer(packet.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(answers); ++i)
        lines.push_back("answer " + rr_text(ldns_rr_list_rr(answers, i)));
    if (is_subnet) {
        // The scope is the third byte of the ECS option we echo; find it in the raw OPT.
        ldns_rdf* edns = ldns_pkt_edns_data(packet.get());
        const uint8_t* data = edns != nullptr ? ldns_rdf_data(edns) : nullptr;
        const std::size_t length = edns != nullptr ? ldns_rdf_size(edns) : 0;
        for (std::size_t pos = 0; data != nullptr && pos + 4 <= length;) {
            const uint16_t code = dns::read_u16(data + pos);
            const uint16_t option_length = dns::read_u16(data + pos + 2);
            if (code == dns::edns_option::CLIENT_SUBNET && option_length >= 4 && pos + 8 <= length) {
                lines.push_back("ecs scope /" + std::to_string(data[pos + 7]));
            }
            pos += 4u + option_length;
        }
    }
    return lines;
}

bool may_explain(const answer::Snapshot& snapshot, const sockaddr* source) noexcept {
    const geo::IpAddress address = geo::from_sockaddr(source);
    const auto& acl = snapshot.settings.explain_acl;
    return std::any_of(acl.begin(), acl.end(), [&](const geo::Network& n) { return n.contains(address); });
}

std::optional<std::vector<uint8_t>> explain_txt(const answer::Snapshot& snapshot, std::span<const uint8_t> packet,
                                                const sockaddr* source) {
    dns::Query outer;
    if (dns::read_query(packet, &outer) != dns::QueryStatus::ok || outer.qname_lower.length <= 10) return std::nullopt;
    const std::string_view qname = outer.qname_lower.view();
    const std::string_view target = qname.substr(static_cast<uint8_t>(qname[0]) + 1u);
    // The client the outer query describes: its ECS subnet, else its source.
    std::optional<geo::Network> ecs;
    const dns::ClientSubnet& subnet = outer.edns.client_subnet;
    if (subnet.is_present) {
        geo::Network n;
        n.address.family = subnet.family == 1 ? 4 : 6;
        std::copy(subnet.address.begin(), subnet.address.begin() + subnet.address_size, n.address.bytes.begin());
        n.prefix_length = subnet.source_prefix;
        ecs = n;
    }
    const std::vector<uint8_t> query = build_query({reinterpret_cast<const uint8_t*>(target.data()), target.size()},
                                                   dns::rrtype::A, ecs ? &*ecs : nullptr);
    Traced traced = trace_query(snapshot, query, source, {});
    if (traced.outcome.zone == nullptr) return std::nullopt;
    std::vector<std::string> lines = std::move(traced.lines);
    if (lines.empty())
        lines.push_back(dns::name_to_text(target) + " is not a steered name: its answers do not depend on the client");
    std::vector<uint8_t> rdata;
    for (const std::string& line : lines) {
        const std::size_t n = std::min<std::size_t>(line.size(), 255);  // one <character-string> each
        rdata.push_back(static_cast<uint8_t>(n));
        rdata.insert(rdata.end(), line.begin(), line.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return rdata;
}

}  // namespace meridian::explain

#include "explain/explain.hpp"

#include <array>

#include "answer/answer.hpp"
#include "common/ldns.hpp"
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
    if (ldns_str2rdf_dname(&qname_raw, qname.c_str()) != LDNS_STATUS_OK) return {"error: \"" + request.qname + "\" is not a name"};
    ldns::RdfPtr name(qname_raw);

    // The query, as a resolver would send it: EDNS, and ECS when a subnet was given.
    std::vector<uint8_t> query(dns::kHeaderSize);
    dns::write_u16(query.data(), 0x4D52);
    dns::write_u16(query.data() + 4, 1);   // QDCOUNT
    dns::write_u16(query.data() + 10, 1);  // ARCOUNT: the OPT
    query.insert(query.end(), ldns_rdf_data(name.get()), ldns_rdf_data(name.get()) + ldns_rdf_size(name.get()));
    const uint8_t question[4] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1};
    query.insert(query.end(), question, question + 4);
    std::vector<uint8_t> options;
    if (is_subnet) {
        const uint8_t family = network->address.family == 4 ? 1 : 2;
        const std::size_t bytes = (network->prefix_length + 7u) / 8u;
        const uint8_t header[8] = {0, dns::edns_option::CLIENT_SUBNET, 0, static_cast<uint8_t>(4 + bytes), 0, family,
                                   network->prefix_length, 0};
        options.insert(options.end(), header, header + 8);
        options.insert(options.end(), network->address.bytes.begin(), network->address.bytes.begin() + static_cast<std::ptrdiff_t>(bytes));
    }
    const uint8_t opt[11] = {0, 0, dns::rrtype::OPT, 0x10, 0x00, 0, 0, 0, 0, static_cast<uint8_t>(options.size() >> 8),
                             static_cast<uint8_t>(options.size())};
    query.insert(query.end(), opt, opt + 11);
    query.insert(query.end(), options.begin(), options.end());

    // The packet source: the address itself, or for a subnet a resolver elsewhere (loopback).
    sockaddr_storage source{};
    geo::IpAddress source_address = network->address;
    if (is_subnet) source_address = *geo::parse_address(network->address.family == 4 ? "127.0.0.1" : "::1");
    geo::to_sockaddr(source_address, &source);

    steer::Trace trace;
    trace.assume_down = request.assume_down;
    answer::ClientInfo client;
    client.transport = answer::Transport::tcp;  // no truncation: show the whole answer
    client.source = reinterpret_cast<const sockaddr*>(&source);
    client.trace = &trace;
    std::vector<uint8_t> response(dns::kMaxMessageSize);
    const std::size_t size = answer::answer_query(snapshot, client, query, response);

    std::vector<std::string> lines = std::move(trace.lines);
    if (lines.empty()) lines.push_back("not a steered name: the answer does not depend on the client");
    ldns_pkt* raw = nullptr;
    if (size == 0 || ldns_wire2pkt(&raw, response.data(), size) != LDNS_STATUS_OK) {
        lines.push_back("error: no answer could be decoded");
        return lines;
    }
    ldns::PacketPtr packet(raw);
    char* rcode = ldns_pkt_rcode2str(ldns_pkt_get_rcode(packet.get()));
    lines.push_back(std::string("rcode ") + (rcode != nullptr ? rcode : "?"));
    free(rcode);
    const ldns_rr_list* answers = ldns_pkt_answer(packet.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(answers); ++i) lines.push_back("answer " + rr_text(ldns_rr_list_rr(answers, i)));
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

}  // namespace meridian::explain

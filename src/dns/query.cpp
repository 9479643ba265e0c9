#include "dns/query.hpp"

#include "dns/wire.hpp"

namespace meridian::dns {

namespace {

struct Cursor {
    const uint8_t* data;
    std::size_t size;
    std::size_t pos;

    bool has(std::size_t n) const noexcept { return size - pos >= n; }
};

// Validates an ECS option (RFC 7871 §6): known family, prefixes within the family's width,
// exactly ceil(source/8) address bytes, no bits set past the source prefix, scope 0 in a query.
bool read_client_subnet(const uint8_t* data, std::size_t length, ClientSubnet* out) noexcept {
    if (out->is_present || length < 4) return false;  // at most one ECS option per query
    const uint16_t family = read_u16(data);
    const uint8_t source = data[2];
    const uint8_t scope = data[3];
    const std::size_t width = family == 1 ? 32 : family == 2 ? 128 : 0;
    if (width == 0 || source > width || scope != 0) return false;
    const std::size_t address_size = (source + 7u) / 8u;
    if (length - 4 != address_size) return false;
    if (address_size > 0 && source % 8 != 0) {
        const auto spare_bits = static_cast<uint8_t>(0xFFu >> (source % 8));
        if ((data[4 + address_size - 1] & spare_bits) != 0) return false;
    }
    out->is_present = true;
    out->family = family;
    out->source_prefix = source;
    out->address_size = static_cast<uint8_t>(address_size);
    for (std::size_t i = 0; i < address_size; ++i) out->address[i] = data[4 + i];
    return true;
}

// Reads the OPT RR's fixed part and options (RFC 6891 §6.1.2). Cursor is at the TYPE field.
QueryStatus read_opt(Cursor* c, Query* query) noexcept {
    if (!c->has(10)) return QueryStatus::formerr;
    Edns& edns = query->edns;
    edns.is_present = true;
    edns.udp_payload = read_u16(c->data + c->pos + 2);
    edns.version = c->data[c->pos + 5];
    edns.is_dnssec_ok = (read_u16(c->data + c->pos + 6) & kEdnsDoBit) != 0;
    edns.is_compact_ok = (read_u16(c->data + c->pos + 6) & kEdnsCoBit) != 0;
    const std::size_t rdlength = read_u16(c->data + c->pos + 8);
    c->pos += 10;
    if (!c->has(rdlength)) return QueryStatus::formerr;
    const std::size_t end = c->pos + rdlength;
    while (c->pos < end) {
        if (end - c->pos < 4) return QueryStatus::formerr;
        const uint16_t code = read_u16(c->data + c->pos);
        const std::size_t length = read_u16(c->data + c->pos + 2);
        c->pos += 4;
        if (end - c->pos < length) return QueryStatus::formerr;
        if (code == edns_option::NSID) edns.wants_nsid = true;
        if (code == edns_option::CLIENT_SUBNET && !read_client_subnet(c->data + c->pos, length, &edns.client_subnet)) {
            return QueryStatus::formerr;
        }
        // Unknown options are ignored (RFC 6891 §6.1.2).
        c->pos += length;
    }
    return QueryStatus::ok;
}

// Skips one resource record; sets *is_opt when it is an OPT at the root.
QueryStatus read_record(Cursor* c, Query* query, int* opt_count) noexcept {
    const std::size_t name_start = c->pos;
    if (skip_name(c->data, c->size, &c->pos) != NameError::none) return QueryStatus::formerr;
    if (!c->has(10)) return QueryStatus::formerr;
    const uint16_t type = read_u16(c->data + c->pos);
    if (type == rrtype::TSIG) query->tsig_offset = name_start;
    if (type == rrtype::OPT) {
        // Only one OPT, and only at the root (RFC 6891 §6.1.1).
        if (++*opt_count > 1) return QueryStatus::formerr;
        if (c->pos - name_start != 1 || c->data[name_start] != 0) return QueryStatus::formerr;
        return read_opt(c, query);
    }
    const std::size_t rdlength = read_u16(c->data + c->pos + 8);
    c->pos += 10;
    if (!c->has(rdlength)) return QueryStatus::formerr;
    c->pos += rdlength;
    return QueryStatus::ok;
}

}  // namespace

QueryStatus read_query(std::span<const uint8_t> packet, Query* query) noexcept {
    *query = Query{};
    if (packet.size() < kHeaderSize) return QueryStatus::drop;
    const uint8_t* p = packet.data();
    query->id = read_u16(p);
    query->flags = read_u16(p + 2);
    query->opcode = static_cast<uint8_t>((query->flags >> 11) & 0xF);
    if (query->has_flag(flag::QR)) return QueryStatus::drop;

    const uint16_t qdcount = read_u16(p + 4);
    const uint16_t ancount = read_u16(p + 6);
    const uint16_t nscount = read_u16(p + 8);
    const uint16_t arcount = read_u16(p + 10);

    Cursor c{p, packet.size(), kHeaderSize};
    if (qdcount == 1) {
        // The question may hold no pointer: the only earlier bytes are the header, so a name
        // that decompresses to more bytes than it occupies is malformed.
        if (read_name(p, packet.size(), &c.pos, &query->qname_lower) == NameError::none &&
            c.pos - kHeaderSize == query->qname_lower.length && c.has(4)) {
            query->qname_size = query->qname_lower.length;
            lowercase_name(query->qname_lower.bytes.data(), query->qname_lower.length);
            query->qtype = read_u16(p + c.pos);
            query->qclass = read_u16(p + c.pos + 2);
            c.pos += 4;
            query->question_end = c.pos;
            query->has_question = true;
        }
    }
    if (query->opcode != opcode::QUERY) return QueryStatus::notimp;
    if (qdcount != 1 || !query->has_question) return QueryStatus::formerr;

    int opt_count = 0;
    const unsigned total = unsigned{ancount} + nscount + arcount;
    for (unsigned i = 0; i < total; ++i) {
        // Records before the additional section in a query are parsed only to be skipped.
        const QueryStatus status = read_record(&c, query, &opt_count);
        if (status != QueryStatus::ok) return status;
        if (opt_count > 0 && i < unsigned{ancount} + nscount) return QueryStatus::formerr;
        // A TSIG is the last record, and in the additional section (RFC 8945 §5.1).
        if (query->tsig_offset != 0 && (i + 1 != total || i < unsigned{ancount} + nscount)) return QueryStatus::formerr;
    }
    // A question of type OPT is meaningless (RFC 6891 §6.1.1).
    if (query->qtype == rrtype::OPT) return QueryStatus::formerr;
    if (query->edns.is_present && query->edns.version > 0) return QueryStatus::badvers;
    return QueryStatus::ok;
}

}  // namespace meridian::dns

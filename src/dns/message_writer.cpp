#include "dns/message_writer.hpp"

#include <cstring>

#include "dns/name.hpp"

namespace meridian::dns {

RdataForm rdata_form_for(uint16_t type) noexcept {
    switch (type) {
    case rrtype::NS:
    case rrtype::CNAME:
    case rrtype::PTR: return RdataForm::name;
    case rrtype::MX: return RdataForm::preference_name;
    case rrtype::SOA: return RdataForm::soa;
    default: return RdataForm::opaque;
    }
}

bool MessageWriter::write_bytes(const uint8_t* bytes, std::size_t n) noexcept {
    const std::size_t bound = is_writing_opt_ ? capacity_ : limit_;
    if (size_ > bound || n > bound - size_) return false;
    if (n == 0) return true;  // memcpy's source may not be null, even for nothing
    std::memcpy(data_ + size_, bytes, n);
    size_ += n;
    return true;
}

bool MessageWriter::write_u16_value(uint16_t v) noexcept {
    uint8_t b[2];
    write_u16(b, v);
    return write_bytes(b, 2);
}

bool MessageWriter::write_header(uint16_t id, uint16_t flags) noexcept {
    size_ = 0;
    counts_ = {};
    compression_count_ = 0;
    uint8_t header[kHeaderSize] = {};
    write_u16(header, id);
    write_u16(header + 2, flags);
    return write_bytes(header, sizeof header);
}

void MessageWriter::remember(std::size_t packet_offset) noexcept {
    // Pointers hold 14 bits of offset (RFC 1035 §4.1.4).
    if (packet_offset > 0x3FFF || compression_count_ >= kMaxCompressionTargets) return;
    compression_targets_[compression_count_++] = static_cast<uint16_t>(packet_offset);
}

bool MessageWriter::write_question(const uint8_t* qname, std::size_t qname_size, uint16_t qtype,
                                   uint16_t qclass) noexcept {
    const std::size_t start = size_;
    if (!write_bytes(qname, qname_size) || !write_u16_value(qtype) || !write_u16_value(qclass)) return false;
    for (std::size_t pos = 0; pos < qname_size && qname[pos] != 0; pos += qname[pos] + 1u) remember(start + pos);
    write_u16(data_ + 4, 1);  // QDCOUNT
    return true;
}

// Compares the (possibly compressed) name at packet_offset with an uncompressed name,
// ignoring ASCII case (RFC 4343).
bool MessageWriter::suffix_at_equals(std::size_t packet_offset, const uint8_t* name,
                                     std::size_t name_size) const noexcept {
    std::size_t p = packet_offset;
    std::size_t n = 0;
    for (int hops = 0; hops < 64;) {
        const uint8_t len = data_[p];
        if ((len & 0xC0) == 0xC0) {
            p = ((len & 0x3Fu) << 8) | data_[p + 1];
            ++hops;
            continue;
        }
        if (n >= name_size || name[n] != len) return false;
        if (len == 0) return true;
        for (std::size_t i = 1; i <= len; ++i) {
            if (to_lower_ascii(data_[p + i]) != to_lower_ascii(name[n + i])) return false;
        }
        p += len + 1u;
        n += len + 1u;
    }
    return false;
}

int MessageWriter::find_suffix(const uint8_t* name, std::size_t name_size) const noexcept {
    for (uint8_t i = 0; i < compression_count_; ++i) {
        if (suffix_at_equals(compression_targets_[i], name, name_size)) return compression_targets_[i];
    }
    return -1;
}

bool MessageWriter::write_name(const uint8_t* name, std::size_t name_size, bool may_compress) noexcept {
    std::size_t pos = 0;
    while (pos < name_size && name[pos] != 0) {
        if (may_compress) {
            const int target = find_suffix(name + pos, name_size - pos);
            if (target >= 0) return write_u16_value(static_cast<uint16_t>(0xC000 | target));
            remember(size_);
        }
        if (!write_bytes(name + pos, name[pos] + 1u)) return false;
        pos += name[pos] + 1u;
    }
    const uint8_t root = 0;
    return write_bytes(&root, 1);
}

bool MessageWriter::write_rdata(const uint8_t* rdata, std::size_t rdata_size, RdataForm form) noexcept {
    // Rdata was validated when the zone was compiled, so its names are well formed.
    auto name_size_at = [&](std::size_t pos) {
        std::size_t p = pos;
        while (p < rdata_size && rdata[p] != 0) p += rdata[p] + 1u;
        return p + 1 - pos;
    };
    switch (form) {
    case RdataForm::opaque: return write_bytes(rdata, rdata_size);
    case RdataForm::name: return write_name(rdata, rdata_size, true);
    case RdataForm::preference_name: return write_bytes(rdata, 2) && write_name(rdata + 2, rdata_size - 2, true);
    case RdataForm::soa: {
        const std::size_t mname = name_size_at(0);
        const std::size_t rname = name_size_at(mname);
        return write_name(rdata, mname, true) && write_name(rdata + mname, rname, true) &&
               write_bytes(rdata + mname + rname, rdata_size - mname - rname);
    }
    }
    return false;
}

bool MessageWriter::add_record(Section section, const uint8_t* owner, std::size_t owner_size, uint16_t type,
                               uint16_t rrclass, uint32_t ttl, const uint8_t* rdata, std::size_t rdata_size,
                               RdataForm form) noexcept {
    const Mark before = mark();
    uint8_t fixed[8];
    write_u16(fixed, type);
    write_u16(fixed + 2, rrclass);
    write_u32(fixed + 4, ttl);
    std::size_t rdlength_at = 0;
    bool ok = write_name(owner, owner_size, true) && write_bytes(fixed, sizeof fixed);
    if (ok) {
        rdlength_at = size_;
        ok = write_u16_value(0) && write_rdata(rdata, rdata_size, form);
    }
    if (!ok) {
        rollback(before);
        return false;
    }
    write_u16(data_ + rdlength_at, static_cast<uint16_t>(size_ - rdlength_at - 2));
    ++counts_[static_cast<int>(section)];
    return true;
}

bool MessageWriter::add_opt(uint16_t udp_payload, uint8_t extended_rcode, bool dnssec_ok,
                            std::span<const uint8_t> options, bool compact_ok) noexcept {
    const Mark before = mark();
    is_writing_opt_ = true;
    uint8_t opt[11] = {0};  // root owner, then TYPE, CLASS, TTL, RDLENGTH (RFC 6891 §6.1.2)
    write_u16(opt + 1, rrtype::OPT);
    write_u16(opt + 3, udp_payload);
    opt[5] = extended_rcode;
    opt[6] = 0;  // version 0
    write_u16(opt + 7, static_cast<uint16_t>((dnssec_ok ? kEdnsDoBit : 0) | (compact_ok ? kEdnsCoBit : 0)));
    write_u16(opt + 9, static_cast<uint16_t>(options.size()));
    const bool ok = write_bytes(opt, sizeof opt) && write_bytes(options.data(), options.size());
    is_writing_opt_ = false;
    if (!ok) {
        rollback(before);  // all or nothing, like every record
        return false;
    }
    ++counts_[static_cast<int>(Section::additional)];
    return true;
}

void MessageWriter::rollback(const Mark& mark) noexcept {
    size_ = mark.size;
    counts_ = mark.counts;
    compression_count_ = mark.compression_count;
}

std::size_t MessageWriter::finish() noexcept {
    write_u16(data_ + 6, counts_[0]);
    write_u16(data_ + 8, counts_[1]);
    write_u16(data_ + 10, counts_[2]);
    return size_;
}

}  // namespace meridian::dns

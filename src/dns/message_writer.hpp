// Builds a response in a caller-owned buffer: header, question echo, resource records with name
// compression (RFC 1035 §4.1.4), atomic roll-back for truncation, and the OPT record.
// Never allocates; every write is bounded by a limit that models the client's payload size.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire.hpp"

namespace meridian::dns {

// Which names inside rdata may be compressed. Only the RFC 1035 types allow it
// (RFC 3597 §4); every other rdata is copied as opaque bytes.
enum class RdataForm : uint8_t {
    opaque,
    name,             // NS, CNAME, PTR
    preference_name,  // MX: 16-bit preference, then a name
    soa,              // two names, then five 32-bit fields
};

RdataForm rdata_form_for(uint16_t type) noexcept;

enum class Section : uint8_t { answer = 0, authority = 1, additional = 2 };

class MessageWriter {
public:
    explicit MessageWriter(std::span<uint8_t> buffer) noexcept
        : data_(buffer.data()), capacity_(buffer.size()), limit_(buffer.size()) {}

    // Bytes the message may occupy; records that would pass it are refused.
    void set_limit(std::size_t limit) noexcept { limit_ = limit < capacity_ ? limit : capacity_; }
    std::size_t limit() const noexcept { return limit_; }
    std::size_t size() const noexcept { return size_; }

    // Starts the message with a header whose section counts are zero.
    bool write_header(uint16_t id, uint16_t flags) noexcept;
    void set_flags(uint16_t flags) noexcept { write_u16(data_ + 2, flags); }
    uint16_t flags() const noexcept { return read_u16(data_ + 2); }

    // Copies the question as the client sent it, so the qname's case is echoed (and every
    // later pointer to it keeps that case).
    bool write_question(const uint8_t* qname, std::size_t qname_size, uint16_t qtype, uint16_t qclass) noexcept;

    bool add_record(Section section, const uint8_t* owner, std::size_t owner_size, uint16_t type, uint16_t rrclass,
                    uint32_t ttl, const uint8_t* rdata, std::size_t rdata_size, RdataForm form) noexcept;

    // Appends an OPT record past the limit: callers reserve its size before adding records.
    bool add_opt(uint16_t udp_payload, uint8_t extended_rcode, bool dnssec_ok, std::span<const uint8_t> options,
                 bool compact_ok = false) noexcept;

    struct Mark {
        std::size_t size;
        std::array<uint16_t, 3> counts;
        uint8_t compression_count;
    };
    Mark mark() const noexcept { return {size_, counts_, compression_count_}; }
    void rollback(const Mark& mark) noexcept;

    uint16_t count(Section section) const noexcept { return counts_[static_cast<int>(section)]; }

    // Writes the section counts into the header; returns the message size.
    std::size_t finish() noexcept;

private:
    bool write_bytes(const uint8_t* bytes, std::size_t n) noexcept;
    bool write_u16_value(uint16_t v) noexcept;
    bool write_name(const uint8_t* name, std::size_t name_size, bool may_compress) noexcept;
    bool write_rdata(const uint8_t* rdata, std::size_t rdata_size, RdataForm form) noexcept;
    bool suffix_at_equals(std::size_t packet_offset, const uint8_t* name, std::size_t name_size) const noexcept;
    int find_suffix(const uint8_t* name, std::size_t name_size) const noexcept;
    void remember(std::size_t packet_offset) noexcept;

    uint8_t* data_;
    std::size_t capacity_;
    std::size_t limit_;
    std::size_t size_ = 0;
    bool is_writing_opt_ = false;  // the OPT record may use the space reserved past limit_
    std::array<uint16_t, 3> counts_{};
    // Offsets of label sequences already in the message, candidates for pointers.
    static constexpr std::size_t kMaxCompressionTargets = 96;
    std::array<uint16_t, kMaxCompressionTargets> compression_targets_{};
    uint8_t compression_count_ = 0;
};

}  // namespace meridian::dns

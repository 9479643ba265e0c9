// A MaxMind DB's search tree compiled once per load into sorted address ranges, so that a query
// never walks the MMDB nor decodes its data section: each range holds the prefix length of its
// network (the exact ECS scope) and the index of its record's facts, decoded once per record.
// Finding an address is a 64K-entry directory step and a short binary search; no allocation.
#pragma once

#include <maxminddb.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "geo/address.hpp"
#include "geo/facts.hpp"

namespace meridian::geo {

class NetworkTable {
public:
    // The facts one data record of the database holds (what this database alone knows).
    using RecordReader = std::function<Facts(MMDB_entry_s*)>;

    struct Hit {
        const Facts* record = nullptr;  // null: the address is in a network without data
        uint8_t prefix_length = 0;      // of the network holding the address, in its family
    };

    // Walks every network of `mmdb`. False with *error set when the search tree is corrupt
    // (a record pointing outside the file, a tree deeper than the address width, shared
    // subtrees) or too large to index.
    bool build(const MMDB_s& mmdb, const RecordReader& read_record, std::string* error);

    Hit find(const IpAddress& address) const noexcept;

    std::size_t network_count() const noexcept { return v4_.size() + v6_.size(); }
    std::size_t record_count() const noexcept { return records_.size(); }

private:
    static constexpr uint32_t kNoRecord = 0xFFFFFF;  // 24 bits of record index; 8 of prefix

    struct Range4 {
        uint32_t start;
        uint32_t value;  // record index | prefix_length << 24
    };
    struct Range6 {
        uint64_t high, low;
        uint32_t value;
        // Non-zero: this network is an alias of the IPv4 tree (::/96, ::ffff:0:0/96,
        // 2002::/16 in MaxMind's files); the IPv4 address starts at this bit.
        uint8_t ipv4_at;
    };
    using Directory = std::array<uint32_t, 65537>;  // first range whose top 16 bits are ≥ i

    class Builder;

    static void index(const std::vector<uint16_t>& tops, Directory* directory);
    Hit find_v4(uint32_t address) const noexcept;
    Hit hit(uint32_t value) const noexcept;

    bool is_ipv6_ = false;
    std::vector<Range4> v4_;
    std::vector<Range6> v6_;
    Directory v4_directory_{};
    Directory v6_directory_{};
    std::vector<Facts> records_;
};

}  // namespace meridian::geo

#include "geo/network_table.hpp"

#include <algorithm>
#include <unordered_map>

namespace meridian::geo {

namespace {

using Bits = unsigned __int128;  // an address, most significant bit first

constexpr unsigned kIpv4InIpv6 = 96;  // MaxMind's IPv6 files keep IPv4 under ::/96

uint32_t load32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

uint64_t load64(const uint8_t* p) noexcept { return uint64_t{load32(p)} << 32 | load32(p + 4); }

}  // namespace

// Depth-first walk of the search tree: each leaf (a record at depth d) is one network of prefix
// length d, emitted in address order because the left (0) branch is walked first.
class NetworkTable::Builder {
public:
    Builder(const MMDB_s& mmdb, const RecordReader& read_record, NetworkTable* table, std::string* error)
        : mmdb_(mmdb), read_record_(read_record), table_(table), error_(error),
          visit_limit_(4 * uint64_t{mmdb.metadata.node_count} + 64) {}

    bool run() {
        const uint32_t node_count = mmdb_.metadata.node_count;
        if (node_count == 0) return fail("the search tree has no nodes");
        table_->is_ipv6_ = mmdb_.metadata.ip_version == 6;
        if (!table_->is_ipv6_) return walk(0, 0, 0, Family::v4);

        // IPv4 lives where 96 zero bits lead; a leaf before that holds every IPv4 address.
        uint32_t node = 0;
        unsigned depth = 0;
        MMDB_search_node_s search;
        for (; depth < kIpv4InIpv6; ++depth) {
            if (!read(node, &search)) return false;
            if (search.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
                if (!leaf_value(search.left_record_type, search.left_record_entry, 0,
                                &table_->v4_.emplace_back().value)) {
                    return false;
                }
                table_->v4_.back().start = 0;
                break;
            }
            node = static_cast<uint32_t>(search.left_record);
        }
        if (depth == kIpv4InIpv6) {
            ipv4_start_ = node;
            if (!walk(node, 0, 0, Family::v4)) return false;
        }
        return walk(0, 0, 0, Family::v6);
    }

private:
    enum class Family { v4, v6 };

    bool fail(const std::string& why) {
        *error_ = "corrupt search tree: " + why;
        return false;
    }

    bool read(uint32_t node, MMDB_search_node_s* out) {
        if (MMDB_read_node(&mmdb_, node, out) != MMDB_SUCCESS) {
            return fail("node " + std::to_string(node) + " cannot be read");
        }
        return true;
    }

    // `prefix` holds the bits above `depth` of the subtree at `node`, left-aligned in `width`.
    bool walk(uint32_t node, unsigned depth, Bits prefix, Family family) {
        if (++visits_ > visit_limit_) return fail("it visits more nodes than the file has (shared subtrees)");
        MMDB_search_node_s search;
        if (!read(node, &search)) return false;
        const unsigned width = family == Family::v4 ? 32 : 128;
        const unsigned child_depth = depth + 1;
        const Bits one_bit = Bits{1} << (width - child_depth);
        const struct {
            uint64_t record;
            uint8_t type;
            MMDB_entry_s entry;
            Bits prefix;
        } children[2] = {{search.left_record, search.left_record_type, search.left_record_entry, prefix},
                         {search.right_record, search.right_record_type, search.right_record_entry, prefix | one_bit}};
        for (const auto& child : children) {
            if (child.type == MMDB_RECORD_TYPE_SEARCH_NODE) {
                const auto next = static_cast<uint32_t>(child.record);
                if (family == Family::v6 && next == ipv4_start_ && child_depth <= kIpv4InIpv6) {
                    emit6(child.prefix).ipv4_at = static_cast<uint8_t>(child_depth);  // value unused
                    continue;
                }
                if (child_depth >= width) return fail("a path is deeper than " + std::to_string(width) + " bits");
                if (!walk(next, child_depth, child.prefix, family)) return false;
                continue;
            }
            uint32_t value = 0;
            if (!leaf_value(child.type, child.entry, child_depth, &value)) return false;
            if (family == Family::v4) {
                table_->v4_.push_back({static_cast<uint32_t>(child.prefix), value});
            } else {
                emit6(child.prefix).value = value;
            }
        }
        return true;
    }

    Range6& emit6(Bits start) {
        return table_->v6_.emplace_back(Range6{static_cast<uint64_t>(start >> 64), static_cast<uint64_t>(start), 0, 0});
    }

    bool leaf_value(uint8_t type, const MMDB_entry_s& entry, unsigned prefix_length, uint32_t* value) {
        uint32_t record = kNoRecord;
        if (type == MMDB_RECORD_TYPE_DATA) {
            const auto [it, is_new] = by_offset_.try_emplace(entry.offset,
                                                             static_cast<uint32_t>(table_->records_.size()));
            if (is_new) {
                if (table_->records_.size() >= kNoRecord) return fail("more than 16M distinct records");
                MMDB_entry_s copy = entry;
                table_->records_.push_back(read_record_(&copy));
            }
            record = it->second;
        } else if (type != MMDB_RECORD_TYPE_EMPTY) {
            return fail("a record points past the data section");
        }
        *value = record | uint32_t{prefix_length} << 24;
        return true;
    }

    const MMDB_s& mmdb_;
    const RecordReader& read_record_;
    NetworkTable* table_;
    std::string* error_;
    uint64_t visits_ = 0;
    const uint64_t visit_limit_;
    uint32_t ipv4_start_ = UINT32_MAX;                  // no alias unless the IPv4 tree is a real node
    std::unordered_map<uint32_t, uint32_t> by_offset_;  // data offset → index in records_
};

bool NetworkTable::build(const MMDB_s& mmdb, const RecordReader& read_record, std::string* error) {
    v4_.clear();
    v6_.clear();
    records_.clear();
    if (!Builder(mmdb, read_record, this, error).run()) return false;
    std::vector<uint16_t> tops;
    tops.reserve(v4_.size());
    for (const Range4& r : v4_) tops.push_back(static_cast<uint16_t>(r.start >> 16));
    index(tops, &v4_directory_);
    tops.clear();
    for (const Range6& r : v6_) tops.push_back(static_cast<uint16_t>(r.high >> 48));
    index(tops, &v6_directory_);
    v4_.shrink_to_fit();
    v6_.shrink_to_fit();
    records_.shrink_to_fit();
    return true;
}

void NetworkTable::index(const std::vector<uint16_t>& tops, Directory* directory) {
    std::size_t i = 0;
    for (uint32_t top = 0; top <= 65536; ++top) {
        while (i < tops.size() && tops[i] < top) ++i;
        (*directory)[top] = static_cast<uint32_t>(i);
    }
}

NetworkTable::Hit NetworkTable::hit(uint32_t value) const noexcept {
    const uint32_t record = value & kNoRecord;
    return {record == kNoRecord ? nullptr : &records_[record], static_cast<uint8_t>(value >> 24)};
}

// The range holding an address is the last one starting at or below it. Ranges whose top 16
// bits are below the address's may hold it too, so the search begins one before the directory.
NetworkTable::Hit NetworkTable::find_v4(uint32_t address) const noexcept {
    if (v4_.empty()) return {};
    const uint32_t top = address >> 16;
    const auto first = v4_.begin() + std::max<uint32_t>(v4_directory_[top], 1) - 1;
    const auto last = v4_.begin() + v4_directory_[top + 1];
    const auto it = std::upper_bound(first, last, address, [](uint32_t a, const Range4& r) { return a < r.start; });
    return hit(std::prev(it)->value);
}

NetworkTable::Hit NetworkTable::find(const IpAddress& address) const noexcept {
    if (address.family == 4) return find_v4(load32(address.bytes.data()));
    if (address.family != 6 || v6_.empty()) return {};  // an IPv4-only database knows no IPv6
    const uint64_t high = load64(address.bytes.data());
    const uint64_t low = load64(address.bytes.data() + 8);
    const auto top = static_cast<uint32_t>(high >> 48);
    const auto first = v6_.begin() + std::max<uint32_t>(v6_directory_[top], 1) - 1;
    const auto last = v6_.begin() + v6_directory_[top + 1];
    const auto it = std::upper_bound(first, last, 0, [&](int, const Range6& r) {
        return high < r.high || (high == r.high && low < r.low);
    });
    const Range6& range = *std::prev(it);
    if (range.ipv4_at == 0) return hit(range.value);
    // An alias of the IPv4 tree: the 32 bits after the alias's prefix are the IPv4 address.
    const Bits bits = Bits{high} << 64 | low;
    const auto ipv4 = static_cast<uint32_t>((bits << range.ipv4_at) >> 96);
    Hit inner = find_v4(ipv4);
    inner.prefix_length = static_cast<uint8_t>(std::min(128, range.ipv4_at + inner.prefix_length));
    return inner;
}

}  // namespace meridian::geo

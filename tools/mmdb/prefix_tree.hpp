// The binary search tree over 128-bit addresses (spec v2.0, "Binary Search Tree Section").
// Networks are inserted as leaves; any overlap between two networks is refused. Nodes are
// numbered breadth-first from the root (node 0); an empty branch holds node_count ("no data")
// and a leaf holds node_count + 16 + its offset in the data section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "network.hpp"

namespace mmdb {

class PrefixTree {
public:
    static constexpr std::size_t kNoConflict = static_cast<std::size_t>(-1);

    PrefixTree();

    // Adds `network` as a leaf carrying `value` (an index chosen by the caller, e.g. a row
    // number). Returns kNoConflict, or the value of a network it overlaps (then nothing changes).
    std::size_t insert(const Network& network, std::uint32_t value);

    // Leaf values in address order (left before right), each leaf once per tree position.
    std::vector<std::uint32_t> leaves_in_order() const;

    // Number of nodes in the serialised tree.
    std::uint32_t node_count() const { return static_cast<std::uint32_t>(nodes_.size()); }

    // Serialises the tree. `data_offset(value)` gives the data-section offset of a leaf's record.
    // Throws std::length_error if a record value does not fit in `record_size` bits.
    std::vector<std::uint8_t> serialize(unsigned record_size,
                                        const std::function<std::uint32_t(std::uint32_t)>& data_offset) const;

private:
    enum class Kind : std::uint8_t { Empty, Node, Leaf };
    struct Child {
        Kind kind = Kind::Empty;
        std::uint32_t index = 0;  // node index (Node) or caller's value (Leaf)
    };
    struct Node {
        Child child[2];
    };

    std::uint32_t any_leaf_below(std::uint32_t node) const;

    std::vector<Node> nodes_;
};

}  // namespace mmdb

#include "prefix_tree.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace mmdb {

PrefixTree::PrefixTree() : nodes_(1) {}

std::uint32_t PrefixTree::any_leaf_below(std::uint32_t node) const {
    // Every node lies on the path of some inserted network, so a leaf is always reachable.
    while (true) {
        const Node& n = nodes_[node];
        const Child& c = n.child[0].kind != Kind::Empty ? n.child[0] : n.child[1];
        if (c.kind == Kind::Leaf) {
            return c.index;
        }
        if (c.kind == Kind::Empty) {
            throw std::logic_error("prefix tree node without leaves");
        }
        node = c.index;
    }
}

std::size_t PrefixTree::insert(const Network& network, std::uint32_t value) {
    if (network.prefix == 0) {
        // ::/0 covers the whole tree: both records of the root point at the data.
        Node& root = nodes_[0];
        if (root.child[0].kind != Kind::Empty || root.child[1].kind != Kind::Empty) {
            return any_leaf_below(0);
        }
        root.child[0] = Child{Kind::Leaf, value};
        root.child[1] = Child{Kind::Leaf, value};
        return kNoConflict;
    }
    std::uint32_t node = 0;
    for (unsigned depth = 0; depth < network.prefix; ++depth) {
        const unsigned bit = network.bit(depth);
        const Child current = nodes_[node].child[bit];
        if (current.kind == Kind::Leaf) {
            return current.index;  // a shorter (or equal) network already covers this one
        }
        if (depth + 1 == network.prefix) {
            if (current.kind == Kind::Node) {
                return any_leaf_below(current.index);  // more specific networks exist inside
            }
            nodes_[node].child[bit] = Child{Kind::Leaf, value};
            return kNoConflict;
        }
        if (current.kind == Kind::Empty) {
            const auto created = static_cast<std::uint32_t>(nodes_.size());
            nodes_.emplace_back();  // invalidates references: only indices are kept
            nodes_[node].child[bit] = Child{Kind::Node, created};
            node = created;
        } else {
            node = current.index;
        }
    }
    return kNoConflict;  // not reached: the loop returns at the last bit
}

std::vector<std::uint32_t> PrefixTree::leaves_in_order() const {
    // Depth-first, left branch first; the tree is at most 128 levels deep.
    std::vector<std::uint32_t> out;
    std::vector<std::pair<std::uint32_t, int>> stack{{0, 0}};  // node, next side to visit
    while (!stack.empty()) {
        auto& [node, side] = stack.back();
        if (side == 2) {
            stack.pop_back();
            continue;
        }
        const Child c = nodes_[node].child[side];
        ++side;
        if (c.kind == Kind::Leaf) {
            out.push_back(c.index);
        } else if (c.kind == Kind::Node) {
            stack.emplace_back(c.index, 0);  // may invalidate `node`/`side`: not used after
        }
    }
    return out;
}

std::vector<std::uint8_t> PrefixTree::serialize(unsigned record_size,
                                                const std::function<std::uint32_t(std::uint32_t)>& data_offset) const {
    if (record_size != 24 && record_size != 28 && record_size != 32) {
        throw std::invalid_argument("record size must be 24, 28 or 32");
    }
    // Breadth-first numbering: node 0 is the root.
    std::vector<std::uint32_t> order{0};
    std::vector<std::uint32_t> number(nodes_.size(), 0);
    for (std::size_t i = 0; i < order.size(); ++i) {
        number[order[i]] = static_cast<std::uint32_t>(i);
        for (const Child& c : nodes_[order[i]].child) {
            if (c.kind == Kind::Node) {
                order.push_back(c.index);
            }
        }
    }

    const std::uint64_t count = nodes_.size();
    const std::uint64_t limit = std::uint64_t{1} << record_size;
    auto record_value = [&](const Child& c) -> std::uint64_t {
        std::uint64_t v = count;  // "no data"
        if (c.kind == Kind::Node) {
            v = number[c.index];
        } else if (c.kind == Kind::Leaf) {
            v = count + 16 + data_offset(c.index);
        }
        if (v >= limit) {
            throw std::length_error("database too large for " + std::to_string(record_size) +
                                    "-bit records; use a larger --record-size");
        }
        return v;
    };

    const std::size_t node_bytes = record_size / 4;  // two records per node
    std::vector<std::uint8_t> out;
    out.reserve(order.size() * node_bytes);
    auto put = [&out](std::uint64_t v, int bytes) {
        for (int i = bytes - 1; i >= 0; --i) {
            out.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF));
        }
    };
    for (std::uint32_t index : order) {
        const std::uint64_t left = record_value(nodes_[index].child[0]);
        const std::uint64_t right = record_value(nodes_[index].child[1]);
        switch (record_size) {
        case 24:
            put(left, 3);
            put(right, 3);
            break;
        case 28:
            // Low 24 bits of each record, with their top nibbles sharing the middle byte.
            put(left & 0xFFFFFF, 3);
            out.push_back(static_cast<std::uint8_t>(((left >> 24) << 4) | (right >> 24)));
            put(right & 0xFFFFFF, 3);
            break;
        default:
            put(left, 4);
            put(right, 4);
            break;
        }
    }
    return out;
}

}  // namespace mmdb

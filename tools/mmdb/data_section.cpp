#include "data_section.hpp"

#include <limits>
#include <stdexcept>

namespace mmdb {

std::uint32_t DataSection::add(const std::vector<std::uint8_t>& encoded) {
    const auto found = offsets_.find(encoded);
    if (found != offsets_.end()) {
        return found->second;
    }
    if (bytes_.size() + encoded.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("data section larger than 4 GiB");
    }
    const auto offset = static_cast<std::uint32_t>(bytes_.size());
    bytes_.insert(bytes_.end(), encoded.begin(), encoded.end());
    offsets_.emplace(encoded, offset);
    return offset;
}

}  // namespace mmdb

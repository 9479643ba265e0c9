// The data section: encoded records appended once each (identical records are deduplicated),
// addressed by their byte offset from the start of the section.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace mmdb {

class DataSection {
public:
    // Returns the offset of `encoded`, appending it unless an identical record is present.
    std::uint32_t add(const std::vector<std::uint8_t>& encoded);

    const std::vector<std::uint8_t>& bytes() const { return bytes_; }
    std::size_t unique_records() const { return offsets_.size(); }

private:
    std::vector<std::uint8_t> bytes_;
    std::map<std::vector<std::uint8_t>, std::uint32_t> offsets_;
};

}  // namespace mmdb

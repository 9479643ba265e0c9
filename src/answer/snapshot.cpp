#include "answer/snapshot.hpp"

namespace meridian::answer {

std::vector<uint8_t> txt_rdata(const std::string& text) {
    std::vector<uint8_t> out;
    std::size_t pos = 0;
    do {
        const std::size_t n = std::min<std::size_t>(255, text.size() - pos);
        out.push_back(static_cast<uint8_t>(n));
        out.insert(out.end(), text.begin() + static_cast<std::ptrdiff_t>(pos),
                   text.begin() + static_cast<std::ptrdiff_t>(pos + n));
        pos += n;
    } while (pos < text.size());
    return out;
}

}  // namespace meridian::answer

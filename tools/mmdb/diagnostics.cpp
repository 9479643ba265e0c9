#include "diagnostics.hpp"

#include <ostream>
#include <utility>

namespace mmdb {

void Diagnostics::error(const std::string& file, std::size_t line, const std::string& message) {
    ++count_;
    if (lines_.size() >= kMaxReported) {
        return;
    }
    std::string text = file;
    if (line != 0) {
        text += ':' + std::to_string(line);
    }
    text += ": error: " + message;
    lines_.push_back(std::move(text));
}

void Diagnostics::print(std::ostream& out) const {
    for (const auto& line : lines_) {
        out << line << '\n';
    }
    if (count_ > lines_.size()) {
        out << "mmdb-build: " << (count_ - lines_.size()) << " more error(s) not shown\n";
    }
}

}  // namespace mmdb

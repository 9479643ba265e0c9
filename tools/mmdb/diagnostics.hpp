// Error collection for mmdb-build: every problem is one line, "FILE:LINE: error: MESSAGE".
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

namespace mmdb {

class Diagnostics {
public:
    static constexpr std::size_t kMaxReported = 50;

    // line == 0 means "no particular line" (the message is about the file itself).
    void error(const std::string& file, std::size_t line, const std::string& message);

    bool empty() const { return count_ == 0; }
    std::size_t count() const { return count_; }

    // Prints the collected messages (at most kMaxReported, then a summary line).
    void print(std::ostream& out) const;

private:
    std::vector<std::string> lines_;
    std::size_t count_ = 0;
};

}  // namespace mmdb

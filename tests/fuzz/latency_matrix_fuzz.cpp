// Fuzz target: the latency matrix an operator exports from real-user measurements
// (adapt::LatencyMatrix, [recommendations] latency_matrix). A refusal names at least one line; an
// accepted matrix holds only finite round-trip times in range, each found again by its key.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapt/latency_matrix.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    meridian::Diagnostics diagnostics;
    const auto matrix = meridian::adapt::LatencyMatrix::parse(text, "fuzz.csv", &diagnostics);
    if (!matrix) {
        FUZZ_CHECK(diagnostics.has_errors());
        FUZZ_CHECK(diagnostics.items().front().where.line > 0);
        return 0;
    }
    FUZZ_CHECK(!diagnostics.has_errors());
    FUZZ_CHECK(matrix->size() <= meridian::adapt::kMaxMatrixEntries);
    // Every line that parsed is found again with a value in range.
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        const std::size_t comma = line.find(',');
        if (line.size() < 5 || comma != 2 || line[0] == '#') continue;
        const std::size_t second = line.find(',', 3);
        if (second == std::string::npos || line.find(' ') != std::string::npos || line.find('\t') != std::string::npos)
            continue;
        const auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
        const auto rtt = matrix->rtt_ms({upper(line[0]), upper(line[1])}, line.substr(3, second - 3));
        if (line.substr(0, second) == "country,region") continue;  // the header
        FUZZ_CHECK(rtt.has_value());
        FUZZ_CHECK(std::isfinite(*rtt) && *rtt > 0 && *rtt <= meridian::adapt::kMaxMatrixRttMs);
    }
    return 0;
}

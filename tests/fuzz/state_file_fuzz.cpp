// Fuzz target: state files written by outside systems (probes::read_state_file), as JSON and, by
// the file name, as TOML. Errors are expected; crashes, leaks and half-filled results are not: a
// failed read leaves the output as it was, a good one gives every entry a reason and numbers in
// range.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "fuzz_check.hpp"
#include "probes/state_file.hpp"

namespace {

std::filesystem::path scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "meridian-fuzz-state-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror("state_file_fuzz: mkdtemp");
            std::abort();
        }
        return std::filesystem::path(pattern);
    }();
    return dir;
}

void check_one(const std::filesystem::path& path, const uint8_t* data, size_t size) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    std::map<std::string, meridian::probes::StateFileEntry> entries{{"marker", {}}};
    std::string error;
    if (!meridian::probes::read_state_file(path.string(), &entries, &error)) {
        FUZZ_CHECK(!error.empty());
        FUZZ_CHECK(entries.size() == 1 && entries.count("marker") == 1);
        return;
    }
    for (const auto& [region, entry] : entries) {
        FUZZ_CHECK(!entry.reason.empty());
        FUZZ_CHECK(!entry.has_load || (entry.load >= 0 && entry.load <= 100000));
        FUZZ_CHECK(!entry.has_latency || (entry.latency_ms >= 0 && entry.latency_ms <= 100000));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    check_one(scratch_dir() / "fuzz.health.json", data, size);
    check_one(scratch_dir() / "fuzz.health.toml", data, size);
    return 0;
}

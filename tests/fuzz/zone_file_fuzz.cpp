// Fuzz target: the zone file loader (config::load_zone_file) on arbitrary TOML text, written to
// one temporary file reused by every run. Errors are expected; crashes and leaks are not.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/zone_file.hpp"
#include "fuzz_check.hpp"

namespace {

// A private directory, so that relative paths in the input (state files) stay inside it.
class ScratchFile {
public:
    ScratchFile() {
        std::string pattern = (std::filesystem::temp_directory_path() / "meridian-fuzz-zone-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror("zone_file_fuzz: mkdtemp");
            std::abort();
        }
        dir_ = pattern;
        path_ = dir_ / "fuzz.example.toml";
    }
    ~ScratchFile() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path dir_;
    std::filesystem::path path_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ScratchFile scratch;
    {
        std::ofstream out(scratch.path(), std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        if (!out) {
            std::perror("zone_file_fuzz: write");
            std::abort();
        }
    }
    meridian::Diagnostics diagnostics;
    const meridian::config::LoadedZone loaded = meridian::config::load_zone_file(scratch.path(), &diagnostics);
    // A zone comes back exactly when nothing was wrong with the file.
    FUZZ_CHECK((loaded.zone != nullptr) == !diagnostics.has_errors());
    if (diagnostics.has_errors()) FUZZ_CHECK(!diagnostics.format_all().empty());
    return 0;
}

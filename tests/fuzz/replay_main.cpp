// Replays a fuzz target's corpus as an ordinary test, without libFuzzer: every file of the
// corpus directory (FUZZ_CORPUS_DIR), or the files named on the command line, is fed to
// LLVMFuzzerTestOneInput once. Fails when there is nothing to replay, so it cannot pass vacuously.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool read_file(const std::filesystem::path& path, std::vector<uint8_t>* bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::filesystem::path> inputs;
    if (argc > 1) {
        inputs.assign(argv + 1, argv + argc);
    } else {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(FUZZ_CORPUS_DIR, ec)) {
            if (entry.is_regular_file()) inputs.push_back(entry.path());
        }
        if (ec) {
            std::fprintf(stderr, "replay: cannot list %s: %s\n", FUZZ_CORPUS_DIR, ec.message().c_str());
            return 1;
        }
        std::sort(inputs.begin(), inputs.end());
    }
    if (inputs.empty()) {
        std::fprintf(stderr, "replay: no inputs in %s\n", FUZZ_CORPUS_DIR);
        return 1;
    }
    for (const auto& path : inputs) {
        std::vector<uint8_t> bytes;
        if (!read_file(path, &bytes)) {
            std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
            return 1;
        }
        // An exact-size heap copy, as libFuzzer gives, so ASan sees any read past the input.
        const std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
        std::copy(bytes.begin(), bytes.end(), copy.get());
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
        LLVMFuzzerTestOneInput(copy.get(), bytes.size());
    }
    std::printf("replay: %zu inputs, all passed\n", inputs.size());
    return 0;
}

// Helpers shared by the unit tests: wire names written by hand (independent of ldns and of the
// code under test), scratch directories for config files, and ldns packets as an oracle.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "common/ldns.hpp"

namespace meridian::test {

// "www.example.com." → "\3www\7example\3com\0". Plain labels only: no escapes, so tests that
// need odd bytes build them explicitly.
inline std::string wire(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t dot = text.find('.', pos);
        if (dot == std::string_view::npos) dot = text.size();
        if (dot > pos) {
            out += static_cast<char>(dot - pos);
            out.append(text.substr(pos, dot - pos));
        }
        pos = dot + 1;
    }
    out += '\0';
    return out;
}

inline std::vector<uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), reinterpret_cast<const uint8_t*>(s.data()) + s.size()};
}

inline const uint8_t* u8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        static std::atomic<unsigned> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("meridian-unit-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    std::filesystem::path write(const std::string& name, std::string_view content) const {
        const std::filesystem::path file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream out(file, std::ios::binary);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        return file;
    }

private:
    std::filesystem::path path_;
};

// The text form of an ldns rdf (a name keeps the case it has on the wire).
inline std::string rdf_text(const ldns_rdf* rdf) {
    char* s = ldns_rdf2str(rdf);
    std::string out = s != nullptr ? s : "";
    std::free(s);
    return out;
}

inline ldns::PacketPtr decode(const uint8_t* data, std::size_t size) {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK) return nullptr;
    return ldns::PacketPtr(pkt);
}

inline ldns::PacketPtr decode(const std::vector<uint8_t>& bytes) { return decode(bytes.data(), bytes.size()); }

}  // namespace meridian::test

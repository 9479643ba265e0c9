// Helpers for the dnssec tests: keys made by the independent tools (ldns-keygen from ldnsutils,
// dnssec-keygen and dnssec-dsfromkey from bind9-utils), and ldns records built from their files
// or from wire bytes, so ldns can judge what the signer writes.
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/ldns.hpp"
#include "dnssec/key.hpp"

namespace meridian::test {

inline std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `command` through the shell; its standard output, and the exit status in *status.
inline std::string run_command(const std::string& command, int* status) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        *status = -1;
        return out;
    }
    char chunk[512];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
    const int raw = ::pclose(pipe);
    *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// The tools are Debian packages the setup installs (tools/install-deps.sh): missing is a failure.
inline void require_tool(const char* path) {
    INFO(path << " is missing: install ldnsutils and bind9-utils (tools/install-deps.sh)");
    REQUIRE(std::filesystem::exists(path));
}

enum class Tool { ldns, bind };

// A key pair made by the tool in `dir`; returns the files' base path (without .key/.private).
// `algorithm` as the tools spell it (ECDSAP256SHA256, ED25519); `extra` more dnssec-keygen options.
inline std::string make_tool_key(Tool tool, const std::filesystem::path& dir, const std::string& algorithm, bool ksk,
                                 const std::string& zone = "example.com", const std::string& extra = "") {
    std::string command;
    if (tool == Tool::ldns) {
        require_tool("/usr/bin/ldns-keygen");
        command = "cd '" + dir.string() + "' && /usr/bin/ldns-keygen -a " + algorithm + (ksk ? " -k " : " ") + zone;
    } else {
        require_tool("/usr/bin/dnssec-keygen");
        command = "/usr/bin/dnssec-keygen -q -K '" + dir.string() + "' -a " + algorithm + (ksk ? " -f KSK " : " ") +
                  extra + " " + zone + " 2>&1";
    }
    int status = 0;
    const std::string name = run_command(command, &status);
    INFO(command << " → " << name);
    REQUIRE(status == 0);
    REQUIRE(name.rfind('K', 0) == 0);
    REQUIRE(std::filesystem::exists(dir / (name + ".key")));
    REQUIRE(std::filesystem::exists(dir / (name + ".private")));
    return (dir / name).string();
}

// The key tag in a BIND file name: K<zone>.+<alg>+<tag>.
inline int tag_in_name(const std::string& base) { return std::stoi(base.substr(base.size() - 5)); }

struct RrListDeleter {
    void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};
using RrListPtr = std::unique_ptr<ldns_rr_list, RrListDeleter>;

// The DNSKEY record of a .key file, parsed by ldns (comment lines dropped first).
inline ldns::RrPtr ldns_dnskey_from_file(const std::string& key_file) {
    std::ifstream in(key_file);
    std::string line, text;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != ';') text += line + " ";
    }
    ldns_rr* rr = nullptr;
    const ldns_status status = ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr);
    INFO(key_file << ": " << ldns_get_errorstr_by_id(status));
    REQUIRE(status == LDNS_STATUS_OK);
    return ldns::RrPtr(rr);
}

inline ldns::RrPtr ldns_rr_from_text(const std::string& text) {
    ldns_rr* rr = nullptr;
    const ldns_status status = ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr);
    INFO(text << ": " << ldns_get_errorstr_by_id(status));
    REQUIRE(status == LDNS_STATUS_OK);
    return ldns::RrPtr(rr);
}

inline std::vector<uint8_t> ldns_rdata_wire(const ldns_rr* rr) {
    const ldns::BufferPtr buffer(ldns_buffer_new(1024));
    REQUIRE(ldns_rr_rdata2buffer_wire(buffer.get(), rr) == LDNS_STATUS_OK);
    const uint8_t* begin = ldns_buffer_begin(buffer.get());
    return {begin, begin + ldns_buffer_position(buffer.get())};
}

// An ldns RRSIG record at `owner_wire` with our rdata, decoded by ldns from wire form.
inline ldns::RrPtr ldns_rrsig_from_rdata(const std::string& owner_wire, uint32_t ttl,
                                         const std::vector<uint8_t>& rdata) {
    std::vector<uint8_t> wire(owner_wire.begin(), owner_wire.end());
    const uint8_t fixed[10] = {0,
                               46,
                               0,
                               1,
                               static_cast<uint8_t>(ttl >> 24),
                               static_cast<uint8_t>(ttl >> 16),
                               static_cast<uint8_t>(ttl >> 8),
                               static_cast<uint8_t>(ttl),
                               static_cast<uint8_t>(rdata.size() >> 8),
                               static_cast<uint8_t>(rdata.size())};
    wire.insert(wire.end(), fixed, fixed + 10);
    wire.insert(wire.end(), rdata.begin(), rdata.end());
    ldns_rr* rr = nullptr;
    std::size_t pos = 0;
    REQUIRE(ldns_wire2rr(&rr, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK);
    REQUIRE(pos == wire.size());
    return ldns::RrPtr(rr);
}

}  // namespace meridian::test

// Fuzz target: DNSSEC key files (dnssec::read_key), the .key and .private pair operators copy in
// from ldns-keygen, dnssec-keygen or elsewhere. The input up to its first NUL byte is the .key
// file, the rest the .private file (no NUL: an empty .private). Errors are expected; crashes,
// leaks and half-filled results are not: a refusal is one line naming a file and leaves the key
// as it was; a key read is complete, its tag is its DNSKEY's, and it signs what it verifies.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

#include "dnssec/key.hpp"
#include "dnssec/sign.hpp"
#include "fuzz_check.hpp"

namespace {

namespace dnssec = meridian::dnssec;

const std::string& scratch_base() {
    static const std::string base = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "meridian-fuzz-key-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror("key_file_fuzz: mkdtemp");
            std::abort();
        }
        return (std::filesystem::path(pattern) / "Kexample.com.+013+00000").string();
    }();
    return base;
}

void write(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string& base = scratch_base();
    write(base + ".key", input.substr(0, nul));
    write(base + ".private", nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1));

    dnssec::Key key;
    key.tag = 4242;
    std::string error;
    if (!dnssec::read_key(base, "example.com", &key, &error)) {
        FUZZ_CHECK(!error.empty());
        FUZZ_CHECK(error.find('\n') == std::string::npos);
        FUZZ_CHECK(error.find(base + ".key") != std::string::npos ||
                   error.find(base + ".private") != std::string::npos);
        FUZZ_CHECK(key.tag == 4242 && key.private_key == nullptr);
        return 0;
    }
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(key.private_key != nullptr);
    FUZZ_CHECK(key.path == base);
    FUZZ_CHECK(key.public_key.size() == (key.algorithm == dnssec::Algorithm::ed25519 ? 32u : 64u));
    FUZZ_CHECK(key.tag == dnssec::key_tag(key.dnskey_rdata()));
    FUZZ_CHECK((key.flags & dnssec::kZoneKeyFlag) != 0);

    static constexpr uint8_t kOwner[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
    static constexpr uint8_t kRdata[] = {192, 0, 2, 1};
    const std::span<const uint8_t> rdatas[] = {kRdata};
    dnssec::RRsetToSign rrset;
    rrset.owner = kOwner;
    rrset.type = 1;
    rrset.original_ttl = 300;
    rrset.rdatas = rdatas;
    std::array<uint8_t, dnssec::kMaxRrsigRdataSize> rrsig{};
    const std::size_t signed_size = dnssec::sign(key, rrset, dnssec::WindowPolicy{}.at(1767225600), rrsig);
    FUZZ_CHECK(signed_size > 0);
    FUZZ_CHECK(dnssec::verify(key, rrset, std::span<const uint8_t>(rrsig.data(), signed_size)));
    return 0;
}

// Fuzz target: a transfer request or signed query as xfr::serve reads it — the question, the
// IXFR SOA in authority, the TSIG record (RFC 8945 §4.2) and its verification — against a zone
// that allows transfers from 127.0.0.1 with key k1. Whatever the bytes, serve must not crash and
// every message it sends must be a whole DNS message of at most 64 KiB.
#include <netinet/in.h>

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>

#include "config/server_config.hpp"
#include "config/snapshot_loader.hpp"
#include "dns/wire.hpp"
#include "xfr/transfer.hpp"
#include "xfr/tsig.hpp"

namespace {

const meridian::answer::Snapshot& snapshot() {
    static const std::unique_ptr<meridian::answer::Snapshot> loaded =
        [] {
            const auto dir = std::filesystem::temp_directory_path() / ("fuzz-transfer-" + std::to_string(getpid()));
            std::filesystem::create_directories(dir);
            std::ofstream(dir / "x.toml")
                << "origin = \"x.test.\"\nrecords = \"\"\"\n@ IN NS ns1\nns1 IN A 127.0.0.1\n\"\"\"\n"
                   "[soa]\nprimary = \"ns1.x.test.\"\ncontact = \"h@x.test\"\nserial = 5\n"
                   "[transfer]\nallow = [\"127.0.0.0/8\"]\nkey = \"k1\"\n";
            std::ofstream(dir / "meridian.toml")
                << "zones = [\"x.toml\"]\n[listen]\nudp = [\"127.0.0.1:53\"]\n"
                   "[keys.k1]\nsecret = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n";
            meridian::Diagnostics diagnostics;
            auto config = meridian::config::load_server_config((dir / "meridian.toml").string(), &diagnostics);
            auto out = config ? meridian::config::load_snapshot(*config, &diagnostics) : nullptr;
            std::filesystem::remove_all(dir);
            if (!out) std::abort();
            return out;
        }();
    return *loaded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > meridian::dns::kMaxMessageSize) return 0;
    const std::span<const uint8_t> input(data, size);
    (void)meridian::xfr::find_tsig(input);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (const bool is_tcp : {true, false}) {
        meridian::xfr::Request request;
        request.query = input;
        request.source = reinterpret_cast<const sockaddr*>(&source);
        request.is_tcp = is_tcp;
        request.core_response = input;
        request.now_seconds = 1765000000;
        const meridian::xfr::Reply reply = meridian::xfr::serve(snapshot(), request);
        for (const auto& message : reply.messages) {
            if (message.size() < meridian::dns::kHeaderSize || message.size() > meridian::dns::kMaxMessageSize)
                std::abort();
        }
    }
    return 0;
}

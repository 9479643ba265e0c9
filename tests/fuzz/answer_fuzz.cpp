// Fuzz target: the whole answer path (answer::answer_query) on arbitrary query bytes, against
// the example zone (zones/geo.example.com.toml) loaded once. The first input byte picks the
// transport and the loopback source; the rest is the query. The response's basic shape is
// checked on every answer.
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "answer/answer.hpp"
#include "config/zone_file.hpp"
#include "dns/wire.hpp"
#include "fuzz_check.hpp"
#include "geo/address.hpp"
#include "geo/database.hpp"

namespace {

using meridian::answer::Snapshot;

std::unique_ptr<Snapshot> load_example() {
    auto snapshot = std::make_unique<Snapshot>();
    meridian::Diagnostics diagnostics;
    meridian::config::LoadedZone loaded =
        meridian::config::load_zone_file(MERIDIAN_SOURCE_DIR "/zones/geo.example.com.toml", &diagnostics);
    if (!loaded.zone) {
        std::fprintf(stderr, "answer_fuzz: cannot load the example zone:\n%s\n", diagnostics.format_all().c_str());
        std::abort();
    }
    snapshot->zones.add(std::move(loaded.zone));

    // The test database (geoip/test-geo.csv) places 127.0.0.2 in London and 127.0.0.3 in San
    // Francisco, so steering reaches its geo routes; ECS in the input reaches the rest.
    std::string error;
    std::shared_ptr<const meridian::geo::Database> database = meridian::geo::Database::open(MERIDIAN_FUZZ_MMDB, {}, &error);
    if (!database) {
        std::fprintf(stderr, "answer_fuzz: %s\n", error.c_str());
        std::abort();
    }
    auto databases = std::make_shared<meridian::geo::GeoDatabases>();
    databases->add(std::move(database));
    snapshot->geo = std::move(databases);

    // Every optional answer feature switched on, so the fuzzer can reach it.
    auto& settings = snapshot->settings;
    const std::string nsid = "fuzz-node-1";
    settings.nsid.assign(nsid.begin(), nsid.end());
    settings.version_txt = meridian::answer::txt_rdata("meridian fuzz");
    settings.hostname_txt = meridian::answer::txt_rdata("fuzz.example");
    settings.id_server_txt = meridian::answer::txt_rdata("fuzz-node-1");
    for (const char* network : {"127.0.0.0/8", "::1/128"}) {
        settings.explain_acl.push_back(*meridian::geo::parse_network(network, true));
    }
    return snapshot;
}

const Snapshot& example() {
    static const std::unique_ptr<Snapshot> snapshot = load_example();
    return *snapshot;
}

sockaddr_in ipv4_source(uint8_t last) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(40000);
    address.sin_addr.s_addr = htonl(0x7F000000u | last);
    return address;
}

sockaddr_in6 ipv6_loopback() {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(40000);
    address.sin6_addr = in6addr_loopback;
    return address;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Snapshot& snapshot = example();
    static const sockaddr_in source_1 = ipv4_source(1);
    static const sockaddr_in source_2 = ipv4_source(2);  // London in the test database
    static const sockaddr_in source_3 = ipv4_source(3);  // San Francisco
    static const sockaddr_in6 source_6 = ipv6_loopback();
    // Exactly 65535 bytes on the heap, so a write past the end is an ASan report.
    static const std::unique_ptr<uint8_t[]> response_buffer(new uint8_t[meridian::dns::kMaxMessageSize]);
    if (size == 0) return 0;

    const uint8_t selector = data[0];
    const std::span<const uint8_t> query(data + 1, size - 1);
    const std::span<uint8_t> response(response_buffer.get(), meridian::dns::kMaxMessageSize);

    meridian::answer::ClientInfo client;
    client.transport = (selector & 1) != 0 ? meridian::answer::Transport::tcp : meridian::answer::Transport::udp;
    switch ((selector >> 1) & 3) {
    case 0: client.source = reinterpret_cast<const sockaddr*>(&source_1); break;
    case 1: client.source = reinterpret_cast<const sockaddr*>(&source_2); break;
    case 2: client.source = reinterpret_cast<const sockaddr*>(&source_3); break;
    default: client.source = reinterpret_cast<const sockaddr*>(&source_6); break;
    }
    meridian::answer::Outcome outcome;
    client.outcome = &outcome;

    const std::size_t written = meridian::answer::answer_query(snapshot, client, query, response);
    FUZZ_CHECK(written <= response.size());
    if (written == 0) return 0;
    FUZZ_CHECK(written >= meridian::dns::kHeaderSize);
    FUZZ_CHECK((response[2] & 0x80) != 0);  // QR
    // An answer needs a header to answer, and echoes its ID (RFC 1035 §4.1.1).
    FUZZ_CHECK(query.size() >= meridian::dns::kHeaderSize);
    FUZZ_CHECK(response[0] == query[0] && response[1] == query[1]);
    // Over UDP, never more than the configured cap (RFC 6891 §6.2.5; answer.hpp's contract).
    if (client.transport == meridian::answer::Transport::udp) {
        FUZZ_CHECK(written <= snapshot.settings.udp_max_payload);
    }
    return 0;
}

// libmaxminddb's own lookup as an oracle for geo::Database, whose queries read a table compiled
// from the file instead (geo/network_table). Shared by the main unit tests (databases built by
// mmdb-build) and geo_testdata_tests (MaxMind's test files, with their IPv4 aliases).
#pragma once

#include <catch2/catch.hpp>
#include <maxminddb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "geo/address.hpp"
#include "geo/database.hpp"

namespace meridian::test {

// Addresses that exercise a table: for every IPv4 address given, itself, its neighbours, and
// the IPv6 forms MaxMind files alias to the IPv4 tree (::a.b.c.d, ::ffff:a.b.c.d,
// 2002:aabb:ccdd::); plus `random_count` pseudo-random IPv4 and IPv6 addresses.
inline std::vector<geo::IpAddress> probe_addresses(const std::vector<uint32_t>& ipv4, unsigned random_count) {
    std::vector<geo::IpAddress> out;
    auto v4 = [](uint32_t a) {
        geo::IpAddress ip;
        ip.family = 4;
        for (int i = 0; i < 4; ++i) ip.bytes[i] = static_cast<uint8_t>(a >> (24 - 8 * i));
        return ip;
    };
    auto v6_at = [](uint32_t a, unsigned byte, uint16_t prefix, unsigned prefix_byte) {
        geo::IpAddress ip;
        ip.family = 6;
        if (prefix != 0) {
            ip.bytes[prefix_byte] = static_cast<uint8_t>(prefix >> 8);
            ip.bytes[prefix_byte + 1] = static_cast<uint8_t>(prefix);
        }
        for (unsigned i = 0; i < 4; ++i) ip.bytes[byte + i] = static_cast<uint8_t>(a >> (24 - 8 * i));
        return ip;
    };
    for (const uint32_t base : ipv4) {
        for (const uint32_t a : {base - 1, base, base + 1}) {
            out.push_back(v4(a));
            out.push_back(v6_at(a, 12, 0, 0));       // ::a.b.c.d
            out.push_back(v6_at(a, 12, 0xffff, 10)); // ::ffff:a.b.c.d
            out.push_back(v6_at(a, 2, 0x2002, 0));   // 6to4
        }
    }
    uint64_t state = 0x9E3779B97F4A7C15u;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    for (unsigned i = 0; i < random_count; ++i) {
        out.push_back(v4(static_cast<uint32_t>(next())));
        geo::IpAddress ip;
        ip.family = 6;
        const uint64_t high = next(), low = next();
        for (int b = 0; b < 8; ++b) {
            ip.bytes[b] = static_cast<uint8_t>(high >> (56 - 8 * b));
            ip.bytes[8 + b] = static_cast<uint8_t>(low >> (56 - 8 * b));
        }
        // Keep most inside 2000::/3, where real allocations and test networks live.
        if (i % 4 != 0) ip.bytes[0] = static_cast<uint8_t>(0x20 | (ip.bytes[0] & 0x1f));
        out.push_back(ip);
    }
    return out;
}

// Looks every address up in `db` and in libmaxminddb's walk of the same file; the found flag,
// the prefix length (in the address's family) and the country and ASN must agree.
inline void check_against_libmaxminddb(const geo::Database& db, const std::vector<geo::IpAddress>& addresses) {
    MMDB_s mmdb;
    REQUIRE(MMDB_open(db.path().c_str(), MMDB_MODE_MMAP, &mmdb) == MMDB_SUCCESS);
    unsigned found = 0;
    for (const geo::IpAddress& address : addresses) {
        const std::string text = geo::to_string(address);
        CAPTURE(text);
        sockaddr_storage storage;
        geo::to_sockaddr(address, &storage);
        int error = MMDB_SUCCESS;
        MMDB_lookup_result_s want = MMDB_lookup_sockaddr(&mmdb, reinterpret_cast<const sockaddr*>(&storage), &error);
        geo::Facts facts;
        const unsigned prefix = db.lookup(address, &facts);
        if (error != MMDB_SUCCESS) {  // IPv6 in an IPv4-only file
            CHECK_FALSE(facts.is_found);
            CHECK(prefix == 0);
            continue;
        }
        unsigned netmask = want.netmask;
        if (address.family == 4 && mmdb.metadata.ip_version == 6) netmask = netmask >= 96 ? netmask - 96 : 0;
        CHECK(prefix == std::min(netmask, address.width()));
        REQUIRE(facts.is_found == want.found_entry);
        if (!want.found_entry) continue;
        ++found;
        MMDB_entry_data_s data;
        std::string country;
        if ((MMDB_get_value(&want.entry, &data, "country", "iso_code", nullptr) == MMDB_SUCCESS && data.has_data) ||
            (MMDB_get_value(&want.entry, &data, "registered_country", "iso_code", nullptr) == MMDB_SUCCESS &&
             data.has_data)) {
            country.assign(data.utf8_string, data.data_size);
        }
        CHECK(facts.country.view() == country);
        uint32_t asn = 0;
        if (MMDB_get_value(&want.entry, &data, "autonomous_system_number", nullptr) == MMDB_SUCCESS && data.has_data) {
            asn = data.uint32;
        }
        CHECK(facts.asn == asn);
    }
    MMDB_close(&mmdb);
    CHECK(found > 0);  // the addresses did reach data, so the comparison meant something
}

}  // namespace meridian::test

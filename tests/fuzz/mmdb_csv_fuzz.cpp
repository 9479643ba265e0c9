// Fuzz target: mmdb-build's input (tools/mmdb/) from CSV text to a complete database, through
// the same steps as its main(): read_csv, the header, parse_geo_row, PrefixTree, DataSection,
// serialize, metadata. A database that builds must then open in libmaxminddb, and every
// network must look up to its own record.
#include <maxminddb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "data_section.hpp"
#include "diagnostics.hpp"
#include "fuzz_check.hpp"
#include "geo_record.hpp"
#include "metadata.hpp"
#include "prefix_tree.hpp"

namespace {

class ScratchDir {
public:
    ScratchDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "meridian-fuzz-mmdb-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror("mmdb_csv_fuzz: mkdtemp");
            std::abort();
        }
        dir_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    std::string file(const char* name) const { return (dir_ / name).string(); }

private:
    std::filesystem::path dir_;
};

void write_file(const std::string& path, const void* data, std::size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
        std::perror("mmdb_csv_fuzz: write");
        std::abort();
    }
}

// Looks `row` up in the database libmaxminddb opened and checks it finds the row's record.
void check_lookup(const MMDB_s& db, const mmdb::GeoRow& row) {
    int error = 0;
    MMDB_lookup_result_s result;
    if (row.network.ipv4) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        std::memcpy(&address.sin_addr, row.network.address.data() + 12, 4);
        result = MMDB_lookup_sockaddr(&db, reinterpret_cast<const sockaddr*>(&address), &error);
    } else {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        std::memcpy(&address.sin6_addr, row.network.address.data(), 16);
        result = MMDB_lookup_sockaddr(&db, reinterpret_cast<const sockaddr*>(&address), &error);
    }
    FUZZ_CHECK(error == MMDB_SUCCESS);
    FUZZ_CHECK(result.found_entry);
    // Readers report the prefix in the IPv6 tree; ::/0 has no node of its own (tools/mmdb/README.md).
    FUZZ_CHECK(result.netmask == (row.network.prefix == 0 ? 1u : row.network.prefix));

    MMDB_entry_data_list_s* list = nullptr;
    FUZZ_CHECK(MMDB_get_entry_data_list(&result.entry, &list) == MMDB_SUCCESS);
    MMDB_free_entry_data_list(list);

    MMDB_entry_data_s country;
    const int status = MMDB_get_value(&result.entry, &country, "country", "iso_code", nullptr);
    const bool has_country = status == MMDB_SUCCESS && country.has_data;
    FUZZ_CHECK(has_country == !row.record.country.empty());
    if (has_country) {
        FUZZ_CHECK(country.type == MMDB_DATA_TYPE_UTF8_STRING);
        FUZZ_CHECK(std::string(country.utf8_string, country.data_size) == row.record.country);
    }
    MMDB_entry_data_s asn;
    const int asn_status = MMDB_get_value(&result.entry, &asn, "autonomous_system_number", nullptr);
    const bool has_asn = asn_status == MMDB_SUCCESS && asn.has_data;
    FUZZ_CHECK(has_asn == row.record.asn.has_value());
    if (has_asn) {
        FUZZ_CHECK(asn.type == MMDB_DATA_TYPE_UINT32);
        FUZZ_CHECK(asn.uint32 == *row.record.asn);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ScratchDir scratch;
    static const std::string csv_path = scratch.file("input.csv");
    static const std::string mmdb_path = scratch.file("output.mmdb");
    write_file(csv_path, data, size);

    mmdb::Diagnostics diags;
    std::vector<mmdb::CsvLine> lines;
    FUZZ_CHECK(mmdb::read_csv(csv_path, lines, diags));
    std::ostringstream sink;
    diags.print(sink);

    std::size_t first = 0;
    if (lines.empty()) {
        diags.error(csv_path, 0, "no header line");
    } else if (!mmdb::is_header(lines[0])) {
        diags.error(csv_path, lines[0].line, "expected the header line");
    } else {
        first = 1;
    }
    std::vector<mmdb::GeoRow> rows;
    for (std::size_t i = first; i < lines.size(); ++i) {
        mmdb::GeoRow row;
        std::string error;
        if (!mmdb::parse_geo_row(lines[i], row, error)) {
            FUZZ_CHECK(!error.empty());
            diags.error(csv_path, lines[i].line, error);
            continue;
        }
        FUZZ_CHECK(row.network.prefix <= 128);
        rows.push_back(std::move(row));
    }
    mmdb::PrefixTree tree;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto conflict = tree.insert(rows[i].network, static_cast<uint32_t>(i));
        if (conflict != mmdb::PrefixTree::kNoConflict) {
            FUZZ_CHECK(conflict < i);
            diags.error(csv_path, rows[i].line, "overlap");
        }
    }
    if (!diags.empty()) return 0;

    mmdb::DataSection section;
    std::vector<uint32_t> offsets(rows.size(), 0);
    for (uint32_t row : tree.leaves_in_order()) {
        FUZZ_CHECK(row < rows.size());
        offsets[row] = section.add(mmdb::encode_geo_record(rows[row].record));
    }
    // The record size follows the input, so all three layouts are exercised.
    static constexpr unsigned kRecordSizes[] = {24, 28, 32};
    const unsigned record_size = kRecordSizes[size % 3];
    std::vector<uint8_t> out;
    try {
        out = tree.serialize(record_size, [&](uint32_t row) { return offsets[row]; });
    } catch (const std::length_error&) {
        return 0;  // more data than the record size can address: reported by mmdb-build
    }
    FUZZ_CHECK(out.size() == std::size_t{tree.node_count()} * record_size * 2 / 8);
    out.insert(out.end(), 16, 0);
    out.insert(out.end(), section.bytes().begin(), section.bytes().end());
    mmdb::Metadata meta;
    meta.node_count = tree.node_count();
    meta.record_size = static_cast<uint16_t>(record_size);
    meta.description = "fuzz";
    meta.build_epoch = 1704067200;
    const auto metadata = mmdb::encode_metadata(meta);
    out.insert(out.end(), metadata.begin(), metadata.end());

    write_file(mmdb_path, out.data(), out.size());
    MMDB_s db;
    const int status = MMDB_open(mmdb_path.c_str(), MMDB_MODE_MMAP, &db);
    if (status != MMDB_SUCCESS) {
        std::fprintf(stderr, "mmdb_csv_fuzz: libmaxminddb cannot open the database: %s\n", MMDB_strerror(status));
        FUZZ_CHECK(status == MMDB_SUCCESS);
    }
    for (const mmdb::GeoRow& row : rows) check_lookup(db, row);
    MMDB_close(&db);
    return 0;
}

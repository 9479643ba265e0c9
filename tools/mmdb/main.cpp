// mmdb-build: compiles a small CSV of networks into a MaxMind DB (format v2.0) file.
//
//   mmdb-build --input SOURCE.csv --output OUT.mmdb [--database-type Meridian-Geo]
//              [--description TEXT] [--record-size 24|28|32] [--build-epoch N]
//
// The output is an IPv6 tree; IPv4 networks are placed in ::/96 so readers' IPv4 lookups find
// them. Output is a pure function of the input and options, so builds are reproducible.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "csv_reader.hpp"
#include "data_section.hpp"
#include "diagnostics.hpp"
#include "geo_record.hpp"
#include "metadata.hpp"
#include "prefix_tree.hpp"

namespace {

// Used when neither --build-epoch nor SOURCE_DATE_EPOCH is given: 2024-01-01T00:00:00Z.
constexpr std::uint64_t kDefaultBuildEpoch = 1704067200;

constexpr const char* kUsage =
    "usage: mmdb-build --input SOURCE.csv --output OUT.mmdb [--database-type TYPE]\n"
    "                  [--description TEXT] [--record-size 24|28|32] [--build-epoch N]\n"
    "\n"
    "SOURCE.csv columns: network,continent,country,subdivision,asn,as_org,latitude,longitude\n"
    "(header line required; '#' comment lines and blank lines are ignored).\n"
    "--build-epoch defaults to $SOURCE_DATE_EPOCH, else 1704067200.\n";

struct Options {
    std::string input;
    std::string output;
    std::string database_type = "Meridian-Geo";
    std::string description;
    bool have_description = false;
    unsigned record_size = 28;
    std::uint64_t build_epoch = kDefaultBuildEpoch;
};

bool parse_u64(std::string_view text, std::uint64_t& out) {
    if (text.empty() || text.size() > 20) {
        return false;
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
    }
    out = value;
    return true;
}

bool fail(const std::string& message) {
    std::cerr << "mmdb-build: error: " << message << "\n";
    return false;
}

// Returns false (after printing a message) on bad usage. Sets `help` for --help.
bool parse_options(int argc, char** argv, Options& opt, bool& help) {
    bool have_epoch = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            help = true;
            return true;
        }
        std::string value;
        const auto eq = arg.find('=');
        if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (arg == "--input" || arg == "--output" || arg == "--database-type" || arg == "--description" ||
                   arg == "--record-size" || arg == "--build-epoch") {
            if (i + 1 >= argc) {
                return fail("option " + arg + " needs a value");
            }
            value = argv[++i];
        } else {
            return fail("unknown argument '" + arg + "' (see --help)");
        }

        if (arg == "--input") {
            opt.input = value;
        } else if (arg == "--output") {
            opt.output = value;
        } else if (arg == "--database-type") {
            opt.database_type = value;
        } else if (arg == "--description") {
            opt.description = value;
            opt.have_description = true;
        } else if (arg == "--record-size") {
            if (value != "24" && value != "28" && value != "32") {
                return fail("--record-size must be 24, 28 or 32, not '" + value + "'");
            }
            opt.record_size = static_cast<unsigned>(std::stoul(value));
        } else if (arg == "--build-epoch") {
            if (!parse_u64(value, opt.build_epoch)) {
                return fail("--build-epoch must be a non-negative integer, not '" + value + "'");
            }
            have_epoch = true;
        } else {
            return fail("unknown option '" + arg + "' (see --help)");
        }
    }
    if (opt.input.empty() || opt.output.empty()) {
        return fail("--input and --output are required (see --help)");
    }
    if (!have_epoch) {
        if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde != nullptr && *sde != '\0') {
            if (!parse_u64(sde, opt.build_epoch)) {
                return fail(std::string("SOURCE_DATE_EPOCH must be a non-negative integer, not '") + sde + "'");
            }
        }
    }
    std::string error;
    if (opt.database_type.empty() || opt.database_type.size() > 256 || !mmdb::valid_text(opt.database_type, error)) {
        return fail("--database-type must be 1-256 bytes of printable UTF-8 text");
    }
    if (!opt.have_description) {
        const auto slash = opt.input.find_last_of('/');
        opt.description = "Meridian geo database built by mmdb-build from " +
                          (slash == std::string::npos ? opt.input : opt.input.substr(slash + 1));
    }
    if (opt.description.size() > 4096 || !mmdb::valid_text(opt.description, error)) {
        return fail("--description must be at most 4096 bytes of printable UTF-8 text");
    }
    return true;
}

// Writes `bytes` to `path` through a temporary file and rename(), so a failed build never
// leaves a truncated database behind.
bool write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            return fail("cannot write " + tmp + ": " + std::strerror(errno));
        }
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::remove(tmp.c_str());
            return fail("cannot write " + tmp);
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        std::remove(tmp.c_str());
        return fail("cannot rename " + tmp + " to " + path + ": " + std::strerror(saved));
    }
    return true;
}

int run(int argc, char** argv) {
    Options opt;
    bool help = false;
    if (!parse_options(argc, argv, opt, help)) {
        return 1;
    }
    if (help) {
        std::cout << kUsage;
        return 0;
    }

    mmdb::Diagnostics diags;
    std::vector<mmdb::CsvLine> lines;
    if (!mmdb::read_csv(opt.input, lines, diags)) {
        diags.print(std::cerr);
        return 1;
    }

    // Header, then one network per line.
    std::string header;
    for (std::size_t i = 0; i < mmdb::kColumnCount; ++i) {
        header += (i ? "," : "") + std::string(mmdb::kColumns[i]);
    }
    std::size_t first = 0;
    if (lines.empty()) {
        diags.error(opt.input, 0, "no header line; expected '" + header + "'");
    } else if (!mmdb::is_header(lines[0])) {
        diags.error(opt.input, lines[0].line, "expected the header line '" + header + "'");
    } else {
        first = 1;
    }

    std::vector<mmdb::GeoRow> rows;
    for (std::size_t i = first; i < lines.size(); ++i) {
        mmdb::GeoRow row;
        std::string error;
        if (!mmdb::parse_geo_row(lines[i], row, error)) {
            diags.error(opt.input, lines[i].line, error);
            continue;
        }
        rows.push_back(std::move(row));
    }

    mmdb::PrefixTree tree;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto conflict = tree.insert(rows[i].network, static_cast<std::uint32_t>(i));
        if (conflict != mmdb::PrefixTree::kNoConflict) {
            const auto& other = rows[conflict];
            diags.error(opt.input, rows[i].line,
                        "network " + rows[i].network.text + " overlaps " + other.network.text + " (" + opt.input + ":" +
                            std::to_string(other.line) + ")");
        }
    }
    if (!diags.empty()) {
        diags.print(std::cerr);
        return 1;
    }

    // Data section in address order, so the file does not depend on the order of the rows.
    mmdb::DataSection data;
    std::vector<std::uint32_t> offsets(rows.size(), 0);
    for (std::uint32_t row : tree.leaves_in_order()) {
        offsets[row] = data.add(mmdb::encode_geo_record(rows[row].record));
    }

    std::vector<std::uint8_t> out;
    try {
        out = tree.serialize(opt.record_size, [&](std::uint32_t row) { return offsets[row]; });
    } catch (const std::length_error& e) {
        fail(e.what());
        return 1;
    }
    out.insert(out.end(), 16, 0);  // data section separator
    out.insert(out.end(), data.bytes().begin(), data.bytes().end());

    mmdb::Metadata meta;
    meta.node_count = tree.node_count();
    meta.record_size = static_cast<std::uint16_t>(opt.record_size);
    meta.database_type = opt.database_type;
    meta.description = opt.description;
    meta.build_epoch = opt.build_epoch;
    const auto metadata = mmdb::encode_metadata(meta);
    out.insert(out.end(), metadata.begin(), metadata.end());

    if (!write_file(opt.output, out)) {
        return 1;
    }
    std::cout << "mmdb-build: wrote " << opt.output << ": " << rows.size() << " networks, " << data.unique_records()
              << " distinct records, " << tree.node_count() << " nodes, " << opt.record_size << "-bit records, "
              << out.size() << " bytes\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "mmdb-build: error: " << e.what() << "\n";
    } catch (...) {
        std::cerr << "mmdb-build: error: unexpected failure\n";
    }
    return 1;
}

// A MaxMind DB file opened with libmaxminddb in mmap mode, read through configurable field
// paths so that GeoIP2/GeoLite2 City, Country and ASN files and other schemas all work.
// Opening compiles the file into a NetworkTable (every record decoded once); lookups only read
// that table: no MMDB walk, no allocation, no locks.
#pragma once

#include <maxminddb.h>

#include <memory>
#include <string>
#include <vector>

#include "geo/address.hpp"
#include "geo/facts.hpp"
#include "geo/network_table.hpp"

namespace meridian::geo {

// Where each fact lives in a record: one or more paths of map keys and array indexes, tried in
// order (the first with data wins). No path means the database does not carry that fact.
struct FieldPaths {
    using Paths = std::vector<std::vector<std::string>>;
    Paths continent{{"continent", "code"}};
    Paths country{{"country", "iso_code"}, {"registered_country", "iso_code"}};
    Paths subdivision{{"subdivisions", "0", "iso_code"}};
    Paths asn{{"autonomous_system_number"}};
    Paths latitude{{"location", "latitude"}};
    Paths longitude{{"location", "longitude"}};

    // "country.iso_code" → {"country", "iso_code"}; "" → {}.
    static std::vector<std::string> parse(const std::string& dotted);
};

class Database {
public:
    // Null with *error set ("path: reason") when the file cannot be opened or is not a MaxMind DB.
    static std::unique_ptr<Database> open(const std::string& path, const FieldPaths& fields, std::string* error);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Fills the facts still unknown in `facts` from this database's record for `address`.
    // Returns the prefix length of the network that holds the address (its family's width),
    // whether or not a record was found.
    uint8_t lookup(const IpAddress& address, Facts* facts) const noexcept;

    const std::string& path() const noexcept { return path_; }
    std::size_t network_count() const noexcept { return table_.network_count(); }
    std::size_t record_count() const noexcept { return table_.record_count(); }
    const char* database_type() const noexcept { return mmdb_.metadata.database_type; }
    bool is_ipv6() const noexcept { return mmdb_.metadata.ip_version == 6; }

private:
    Database() = default;

    // A field path as libmaxminddb wants it: NULL-terminated C strings.
    struct Path {
        std::vector<std::string> keys;
        std::vector<const char*> pointers;
    };
    using Paths = std::vector<Path>;
    static Paths compile(const FieldPaths::Paths& alternatives);
    // The first alternative that has data in `entry`.
    static bool read(MMDB_entry_s* entry, const Paths& paths, MMDB_entry_data_s* out) noexcept;
    // What one data record says, through the field paths.
    Facts read_record(MMDB_entry_s* entry) const;

    std::string path_;
    MMDB_s mmdb_{};
    bool is_open_ = false;
    Paths continent_, country_, subdivision_, asn_, latitude_, longitude_;
    NetworkTable table_;
};

}  // namespace meridian::geo

#include "geo/database.hpp"

#include <cstring>

#include "geo/continents.hpp"

namespace meridian::geo {

std::vector<std::string> FieldPaths::parse(const std::string& dotted) {
    std::vector<std::string> keys;
    std::size_t pos = 0;
    while (pos < dotted.size()) {
        std::size_t end = dotted.find('.', pos);
        if (end == std::string::npos) end = dotted.size();
        keys.push_back(dotted.substr(pos, end - pos));
        pos = end + 1;
    }
    return keys;
}

Database::Paths Database::compile(const FieldPaths::Paths& alternatives) {
    Paths paths(alternatives.size());
    for (std::size_t i = 0; i < alternatives.size(); ++i) {
        paths[i].keys = alternatives[i];
        // Pointers into `keys` are taken once it will no longer move.
    }
    for (Path& path : paths) {
        for (const std::string& key : path.keys) path.pointers.push_back(key.c_str());
        path.pointers.push_back(nullptr);
    }
    return paths;
}

std::unique_ptr<Database> Database::open(const std::string& path, const FieldPaths& fields, std::string* error) {
    std::unique_ptr<Database> db(new Database());
    db->path_ = path;
    const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
    if (status != MMDB_SUCCESS) {
        *error = path + ": " + MMDB_strerror(status);
        if (status == MMDB_IO_ERROR) *error += std::string(" (") + std::strerror(errno) + ")";
        return nullptr;
    }
    db->is_open_ = true;
    db->continent_ = compile(fields.continent);
    db->country_ = compile(fields.country);
    db->subdivision_ = compile(fields.subdivision);
    db->asn_ = compile(fields.asn);
    db->latitude_ = compile(fields.latitude);
    db->longitude_ = compile(fields.longitude);
    std::string table_error;
    const Database& self = *db;
    if (!db->table_.build(
            db->mmdb_, [&self](MMDB_entry_s* entry) { return self.read_record(entry); }, &table_error)) {
        *error = path + ": " + table_error;
        return nullptr;
    }
    return db;
}

Database::~Database() {
    if (is_open_) MMDB_close(&mmdb_);
}

namespace {

std::string_view as_text(const MMDB_entry_data_s& data) noexcept {
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING) return {};
    return {data.utf8_string, data.data_size};
}

bool as_double(const MMDB_entry_data_s& data, double* out) noexcept {
    switch (data.type) {
    case MMDB_DATA_TYPE_DOUBLE: *out = data.double_value; return true;
    case MMDB_DATA_TYPE_FLOAT: *out = data.float_value; return true;
    default: return false;
    }
}

bool as_uint32(const MMDB_entry_data_s& data, uint32_t* out) noexcept {
    switch (data.type) {
    case MMDB_DATA_TYPE_UINT16: *out = data.uint16; return true;
    case MMDB_DATA_TYPE_UINT32: *out = data.uint32; return true;
    case MMDB_DATA_TYPE_INT32: *out = static_cast<uint32_t>(data.int32); return true;
    case MMDB_DATA_TYPE_UINT64: *out = static_cast<uint32_t>(data.uint64); return true;
    default: return false;
    }
}

}  // namespace

bool Database::read(MMDB_entry_s* entry, const Paths& paths, MMDB_entry_data_s* out) noexcept {
    for (const Path& path : paths) {
        if (path.keys.empty()) continue;
        // libmaxminddb's signature takes non-const strings it never writes.
        if (MMDB_aget_value(entry, out, const_cast<const char* const*>(path.pointers.data())) == MMDB_SUCCESS &&
            out->has_data) {
            return true;
        }
    }
    return false;
}

Facts Database::read_record(MMDB_entry_s* entry) const {
    Facts facts;
    MMDB_entry_data_s data;
    if (read(entry, continent_, &data)) facts.continent.assign(as_text(data));
    if (read(entry, country_, &data)) facts.country.assign(as_text(data));
    if (read(entry, subdivision_, &data)) facts.subdivision.assign(as_text(data));
    if (read(entry, asn_, &data)) as_uint32(data, &facts.asn);
    double latitude = 0, longitude = 0;
    MMDB_entry_data_s lon;
    if (read(entry, latitude_, &data) && read(entry, longitude_, &lon) && as_double(data, &latitude) &&
        as_double(lon, &longitude)) {
        facts.has_location = true;
        facts.latitude = latitude;
        facts.longitude = longitude;
    }
    // Databases with only a country still route by continent (the checked-in ISO table).
    if (facts.continent.empty() && !facts.country.empty())
        facts.continent.assign(continent_of_country(facts.country.view()));
    return facts;
}

uint8_t Database::lookup(const IpAddress& address, Facts* facts) const noexcept {
    const NetworkTable::Hit hit = table_.find(address);
    if (hit.record == nullptr) return hit.prefix_length;
    // Fill only what earlier databases left unknown.
    const Facts& record = *hit.record;
    facts->is_found = true;
    if (facts->continent.empty()) facts->continent = record.continent;
    if (facts->country.empty()) facts->country = record.country;
    if (facts->subdivision.empty()) facts->subdivision = record.subdivision;
    if (facts->asn == 0) facts->asn = record.asn;
    if (!facts->has_location && record.has_location) {
        facts->has_location = true;
        facts->latitude = record.latitude;
        facts->longitude = record.longitude;
    }
    // No continent to derive here: each record already carries the one of its own country.
    return hit.prefix_length;
}

}  // namespace meridian::geo

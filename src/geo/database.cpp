#include "geo/database.hpp"

#include <sys/socket.h>

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

std::unique_ptr<Database> Database::open(const std::string& path, FieldPaths fields, std::string* error) {
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

uint8_t Database::lookup(const IpAddress& address, Facts* facts) const noexcept {
    sockaddr_storage storage;
    to_sockaddr(address, &storage);
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result =
        MMDB_lookup_sockaddr(&mmdb_, reinterpret_cast<const sockaddr*>(&storage), &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS) return 0;  // an IPv6 address in an IPv4-only database
    // In an IPv6 database IPv4 lives under ::/96, and the netmask counts those 96 bits.
    unsigned netmask = result.netmask;
    if (address.family == 4 && is_ipv6()) netmask = netmask >= 96 ? netmask - 96 : 0;
    const auto prefix = static_cast<uint8_t>(netmask > address.width() ? address.width() : netmask);
    if (!result.found_entry) return prefix;

    facts->is_found = true;
    MMDB_entry_data_s data;
    if (facts->continent.empty() && read(&result.entry, continent_, &data)) facts->continent.assign(as_text(data));
    if (facts->country.empty() && read(&result.entry, country_, &data)) facts->country.assign(as_text(data));
    if (facts->subdivision.empty() && read(&result.entry, subdivision_, &data)) facts->subdivision.assign(as_text(data));
    if (facts->asn == 0 && read(&result.entry, asn_, &data)) as_uint32(data, &facts->asn);
    if (!facts->has_location) {
        double latitude = 0, longitude = 0;
        MMDB_entry_data_s lon;
        if (read(&result.entry, latitude_, &data) && read(&result.entry, longitude_, &lon) &&
            as_double(data, &latitude) && as_double(lon, &longitude)) {
            facts->has_location = true;
            facts->latitude = latitude;
            facts->longitude = longitude;
        }
    }
    // Databases with only a country still route by continent (the checked-in ISO table).
    if (facts->continent.empty() && !facts->country.empty()) facts->continent.assign(continent_of_country(facts->country.view()));
    return prefix;
}

}  // namespace meridian::geo

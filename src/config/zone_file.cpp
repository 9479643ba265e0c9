#include "config/zone_file.hpp"

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/ldns.hpp"
#include "common/toml_text.hpp"
#include "config/policy_reader.hpp"
#include "config/record_text.hpp"
#include "config/toml_reader.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "zone/zone_builder.hpp"

namespace meridian::config {

namespace {

using ldns::RdfPtr;
using ldns::RrPtr;

std::string rdf_bytes(const ldns_rdf* rdf) {
    return {reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf)};
}

// Types that make no sense in an unsigned, non-DNAME, zone served by Meridian.
const char* unsupported_type_reason(uint16_t type) {
    switch (type) {
    case LDNS_RR_TYPE_DNAME: return "DNAME is not supported";
    case LDNS_RR_TYPE_RRSIG:
    case LDNS_RR_TYPE_NSEC:
    case LDNS_RR_TYPE_NSEC3:
    case LDNS_RR_TYPE_NSEC3PARAM:
        return "signatures and denial records are made by Meridian for a zone with [dnssec], never written";
    case LDNS_RR_TYPE_OPT:
    case LDNS_RR_TYPE_TSIG:
    case LDNS_RR_TYPE_TKEY: return "meta-types cannot be zone data";
    default: return nullptr;
    }
}

class ZoneFileReader {
public:
    ZoneFileReader(std::filesystem::path path, Diagnostics* diagnostics)
        : path_(std::move(path)), file_(path_.string()), diagnostics_(diagnostics) {}

    std::unique_ptr<zone::Zone> read();
    SourceLocation origin_where() const { return origin_where_; }
    std::optional<TransferConfig> transfer() const { return transfer_; }
    std::optional<DnssecConfig> dnssec() const { return dnssec_; }

private:
    void read_soa(TableReader& root, uint32_t default_ttl);
    void read_transfer(TableReader& root);
    void read_dnssec(TableReader& root);
    std::optional<std::string> resolve_name(const std::string& text) const;
    void read_soa_table(TableReader& root, uint32_t default_ttl);
    void read_records(const toml::node& records, uint32_t default_ttl);
    void parse_record(const std::string& text, SourceLocation where, uint32_t default_ttl);
    SourceLocation text_start(const toml::node& string_node) const;
    void error(SourceLocation where, std::string message) { diagnostics_->error(std::move(where), std::move(message)); }

    std::filesystem::path path_;
    std::string file_;
    Diagnostics* diagnostics_;
    std::string source_;
    std::vector<std::string_view> lines_;
    RdfPtr origin_;
    RdfPtr previous_owner_;
    std::unique_ptr<zone::ZoneBuilder> builder_;
    bool soa_problem_reported_ = false;
    SourceLocation origin_where_;
    std::optional<TransferConfig> transfer_;
    std::optional<DnssecConfig> dnssec_;
};

std::unique_ptr<zone::Zone> ZoneFileReader::read() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        error({file_, 0, 0}, "cannot read zone file");
        return nullptr;
    }
    std::stringstream content;
    content << in.rdbuf();
    source_ = content.str();
    for (std::size_t pos = 0; pos <= source_.size();) {
        std::size_t end = source_.find('\n', pos);
        if (end == std::string::npos) end = source_.size();
        lines_.emplace_back(source_.data() + pos, end - pos);
        pos = end + 1;
    }

    if (const auto at = non_ascii_outside_toml_strings(source_)) {
        error({file_, at->line, at->column},
              "a character outside ASCII outside a string or a comment (TOML allows them only there)");
        return nullptr;
    }
    toml::table table;
    try {
        table = toml::parse(source_, file_);
    } catch (const toml::parse_error& e) {
        error(location_of(file_, e.source()), std::string(e.description()));
        return nullptr;
    }

    TableReader root(table, "zone", file_, diagnostics_);
    const std::size_t errors_before = diagnostics_->items().size();
    constexpr const Setting& origin = zone_setting("", "origin");
    root.require(origin);
    std::string origin_text;
    const bool has_origin = root.read(origin, &origin_text);
    uint32_t default_ttl = 0;
    root.read(zone_setting("", "ttl"), &default_ttl);
    if (has_origin) {
        std::string absolute = origin_text;
        if (absolute.empty() || absolute.back() != '.') absolute += '.';
        ldns_rdf* rdf = nullptr;
        if (ldns_str2rdf_dname(&rdf, absolute.c_str()) != LDNS_STATUS_OK) {
            error(root.where(*root.node("origin")), "origin \"" + origin_text + "\" is not a valid domain name");
        } else {
            origin_.reset(rdf);
            ldns_dname2canonical(origin_.get());
            // Problems of the zone as a whole (no NS at the apex …) point at its origin.
            origin_where_ = root.where(*root.node("origin"));
            builder_ = std::make_unique<zone::ZoneBuilder>(rdf_bytes(origin_.get()), origin_where_);
        }
    }
    if (builder_) {
        read_dnssec(root);
        read_soa(root, default_ttl);
        read_transfer(root);
        if (const toml::node* records = root.node(zone_setting("", "records"))) read_records(*records, default_ttl);
        auto policy = std::make_shared<steer::Policy>();
        auto checks = std::make_shared<health::CheckPlan>();
        read_policy(
            root, [this](const std::string& text) { return resolve_name(text); }, path_.parent_path().string(),
            policy.get(), checks.get());
        builder_->set_policy(std::move(policy));
        builder_->set_checks(std::move(checks));
    } else {
        // Without an origin nothing below can be read; its keys are still known ones.
        for (const Setting& row : kSchema) {
            if (row.document == Document::zone_file && row.table.empty()) root.node(row);
        }
    }
    root.finish();
    if (!builder_) return nullptr;
    // Build even after errors, so that one run reports the zone's semantic problems too.
    auto zone = builder_->build(diagnostics_, /*check_soa=*/!soa_problem_reported_);
    if (diagnostics_->items().size() != errors_before) return nullptr;
    return zone;
}

std::optional<std::string> ZoneFileReader::resolve_name(const std::string& text) const {
    if (text == "@") return rdf_bytes(origin_.get());
    ldns_rdf* raw = nullptr;
    if (text.empty() || ldns_str2rdf_dname(&raw, text.c_str()) != LDNS_STATUS_OK) return std::nullopt;
    RdfPtr name(raw);
    if (text.back() != '.') {
        // Relative: below the origin.
        if (ldns_dname_cat(name.get(), origin_.get()) != LDNS_STATUS_OK) return std::nullopt;
    }
    ldns_dname2canonical(name.get());
    return rdf_bytes(name.get());
}

void ZoneFileReader::read_transfer(TableReader& root) {
    const toml::table* table = root.table("transfer");
    if (table == nullptr) {
        if (const toml::node* n = root.node("transfer")) root.error(*n, "transfer must be a table: [transfer]");
        return;
    }
    TableReader reader(*table, "[transfer]", file_, diagnostics_);
    TransferConfig t;
    for (const auto& [text, where] : reader.string_list(zone_setting("[transfer]", "allow"))) {
        const auto network = geo::parse_network(text, /*is_strict=*/true);
        if (!network) error(where, "\"" + text + "\" is not a network (ADDRESS/LENGTH)");
        else t.allow.push_back(*network);
    }
    constexpr const Setting& key_row = zone_setting("[transfer]", "key");
    if (reader.read(key_row, &t.key)) t.key_where = reader.where(*reader.node(key_row));
    t.notify = reader.string_list(zone_setting("[transfer]", "notify"));
    reader.finish();
    transfer_ = std::move(t);
}

void ZoneFileReader::read_dnssec(TableReader& root) {
    const toml::table* table = root.table("dnssec");
    if (table == nullptr) {
        if (const toml::node* n = root.node("dnssec")) root.error(*n, "dnssec must be a table: [dnssec]");
        return;
    }
    TableReader reader(*table, "[dnssec]", file_, diagnostics_);
    DnssecConfig d;
    d.where = reader.where();
    std::string keys;
    reader.read(zone_setting("[dnssec]", "keys"), &keys);
    d.keys = path_.parent_path() / keys;  // an absolute path stays as it is
    reader.read(zone_setting("[dnssec]", "generate"), &d.generate);
    reader.read(zone_setting("[dnssec]", "algorithm"), &d.algorithm);
    reader.read(zone_setting("[dnssec]", "validity"), &d.validity_ms);
    reader.read(zone_setting("[dnssec]", "refresh"), &d.refresh_ms);
    reader.read(zone_setting("[dnssec]", "dnskey_ttl"), &d.dnskey_ttl);
    reader.read(zone_setting("[dnssec]", "cds"), &d.publishes_cds);
    if (d.refresh_ms >= d.validity_ms) {
        reader.error(
            *table,
            "[dnssec] refresh must be shorter than validity, so that signatures are renewed before they expire");
    }
    reader.finish();
    dnssec_ = std::move(d);
}

void ZoneFileReader::read_soa(TableReader& root, uint32_t default_ttl) {
    const std::size_t errors_before = diagnostics_->items().size();
    read_soa_table(root, default_ttl);
    soa_problem_reported_ = diagnostics_->items().size() != errors_before;
}

void ZoneFileReader::read_soa_table(TableReader& root, uint32_t default_ttl) {
    const toml::table* soa = root.table("soa");
    if (soa == nullptr) {
        if (root.node("soa") == nullptr) error(root.where(), "missing [soa] table");
        return;
    }
    TableReader reader(*soa, "[soa]", file_, diagnostics_);
    constexpr const Setting& primary_row = zone_setting("[soa]", "primary");
    constexpr const Setting& contact_row = zone_setting("[soa]", "contact");
    constexpr const Setting& serial_row = zone_setting("[soa]", "serial");
    reader.require(primary_row);
    reader.require(contact_row);
    reader.require(serial_row);
    std::string primary;
    std::string contact;
    uint32_t serial = 0;
    uint32_t refresh = 0;
    uint32_t retry = 0;
    uint32_t expire = 0;
    uint32_t minimum = 0;
    uint32_t ttl = 0;
    const bool has_primary = reader.read(primary_row, &primary);
    const bool has_contact = reader.read(contact_row, &contact);
    const bool has_serial = reader.read(serial_row, &serial);
    reader.read(zone_setting("[soa]", "refresh"), &refresh);
    reader.read(zone_setting("[soa]", "retry"), &retry);
    reader.read(zone_setting("[soa]", "expire"), &expire);
    reader.read(zone_setting("[soa]", "negative_ttl"), &minimum);
    if (!reader.read(zone_setting("[soa]", "ttl"), &ttl)) ttl = default_ttl;
    reader.finish();
    if (!has_primary || !has_contact || !has_serial) return;
    // "hostmaster@example.com" is accepted for the mailbox and written the DNS way.
    if (const auto at = contact.find('@'); at != std::string::npos) {
        contact[at] = '.';
        if (contact.back() != '.') contact += '.';
    }
    const std::string text = "@ " + std::to_string(ttl) + " IN SOA " + primary + " " + contact + " " +
                             std::to_string(serial) + " " + std::to_string(refresh) + " " + std::to_string(retry) +
                             " " + std::to_string(expire) + " " + std::to_string(minimum);
    parse_record(text, reader.where(), default_ttl);
}

// Where the characters of a string value begin in the file. For a multi-line string the newline
// right after the opening delimiter is not part of the value (TOML spec), so text starts on the
// next line. Escapes in basic strings shift columns; literal strings ('''…''') are exact.
SourceLocation ZoneFileReader::text_start(const toml::node& string_node) const {
    const auto begin = string_node.source().begin;
    SourceLocation where{file_, begin.line, begin.column};
    if (begin.line == 0 || begin.line > lines_.size()) return where;
    const std::string_view line = lines_[begin.line - 1];
    const std::size_t at = begin.column - 1;
    const bool is_multiline = line.substr(at, 3) == "\"\"\"" || line.substr(at, 3) == "'''";
    if (!is_multiline) {
        where.column += 1;
        return where;
    }
    const std::string_view rest = line.substr(std::min(line.size(), at + 3));
    if (rest.find_first_not_of(" \t\r") == std::string_view::npos) return {file_, begin.line + 1, 1};
    where.column += 3;
    return where;
}

void ZoneFileReader::read_records(const toml::node& records, uint32_t default_ttl) {
    auto split_and_parse = [&](const toml::node& string_node, const std::string& value, bool is_block) {
        const SourceLocation start = text_start(string_node);
        std::vector<RecordTextError> errors;
        const auto entries = split_records(value, start.line, start.column, is_block, &errors);
        for (const auto& e : errors) error({file_, e.line, e.column}, e.message);
        for (const auto& entry : entries) parse_record(entry.text, {file_, entry.line, entry.column}, default_ttl);
    };
    if (const auto* text = records.as_string()) {
        split_and_parse(records, text->get(), /*is_block=*/true);
    } else if (const auto* array = records.as_array()) {
        for (const toml::node& element : *array) {
            if (const auto* s = element.as_string()) split_and_parse(element, s->get(), /*is_block=*/false);
            else error(location_of(file_, element.source()), "\"records\" must hold only strings");
        }
    } else {
        error(location_of(file_, records.source()), "\"records\" must be a string or an array of strings");
    }
}

// ldns reads "12x" as a TTL of 12; a number-led token before the type must be a whole TTL:
// digits, optionally with BIND's unit letters ("1h30m").
const char* bad_ttl_token(const std::string& text) {
    std::size_t pos = 0;
    const bool has_owner = !text.empty() && text[0] != ' ';
    for (int token = 0; token < 3; ++token) {
        pos = text.find_first_not_of(' ', pos);
        if (pos == std::string::npos) return nullptr;
        const std::size_t end = std::min(text.find(' ', pos), text.size());
        const bool is_ttl_position = has_owner ? token >= 1 : token <= 1;
        if (is_ttl_position && std::isdigit(static_cast<unsigned char>(text[pos]))) {
            bool ok = true;
            for (std::size_t i = pos; i < end; ++i) {
                const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
                const bool is_unit = c == 's' || c == 'm' || c == 'h' || c == 'd' || c == 'w';
                if (!std::isdigit(static_cast<unsigned char>(c)) &&
                    !(is_unit && std::isdigit(static_cast<unsigned char>(text[i - 1]))))
                    ok = false;
            }
            if (!ok) return text.c_str() + pos;
        }
        pos = end;
    }
    return nullptr;
}

void ZoneFileReader::parse_record(const std::string& text, SourceLocation where, uint32_t default_ttl) {
    if (const char* bad = bad_ttl_token(text)) {
        const std::string token(bad, std::strcspn(bad, " "));
        error(where, "cannot parse record: \"" + token + "\" is not a TTL");
        return;
    }
    ldns_rr* raw = nullptr;
    ldns_rdf* previous = previous_owner_ ? ldns_rdf_clone(previous_owner_.get()) : nullptr;
    const ldns_status status = ldns_rr_new_frm_str(&raw, text.c_str(), default_ttl, origin_.get(), &previous);
    if (previous != nullptr) previous_owner_.reset(previous);
    if (status != LDNS_STATUS_OK) {
        error(where, std::string("cannot parse record: ") + ldns_get_errorstr_by_id(status));
        return;
    }
    RrPtr rr(raw);
    const uint16_t type = ldns_rr_get_type(rr.get());
    if (const char* reason = unsupported_type_reason(type)) {
        error(where, std::string("cannot parse record: ") + reason);
        return;
    }
    if (dnssec_ && (type == LDNS_RR_TYPE_DNSKEY || type == LDNS_RR_TYPE_CDS || type == LDNS_RR_TYPE_CDNSKEY)) {
        error(where,
              "cannot parse record: a signed zone's DNSKEY, CDS and CDNSKEY are made from its keys ([dnssec] keys)");
        return;
    }
    // A signed zone serves the names inside rdata in their canonical (lower-case) form, the form
    // they are signed in (RFC 4034 §6.2).
    if (dnssec_) ldns_rr2canonical(rr.get());
    if (ldns_rr_rd_count(rr.get()) == 0 && type != LDNS_RR_TYPE_NULL) {
        error(where, "cannot parse record: no rdata");
        return;
    }
    ldns::BufferPtr buffer(ldns_buffer_new(512));
    if (ldns_rr_rdata2buffer_wire(buffer.get(), rr.get()) != LDNS_STATUS_OK) {
        error(where, "cannot parse record: rdata cannot be encoded");
        return;
    }
    zone::RecordSource record;
    record.owner = rdf_bytes(ldns_rr_owner(rr.get()));
    dns::lowercase_name(reinterpret_cast<uint8_t*>(record.owner.data()), record.owner.size());
    record.type = type;
    record.rrclass = static_cast<uint16_t>(ldns_rr_get_class(rr.get()));
    record.ttl = ldns_rr_ttl(rr.get());
    record.rdata.assign(reinterpret_cast<const char*>(ldns_buffer_begin(buffer.get())),
                        ldns_buffer_position(buffer.get()));
    record.where = std::move(where);
    builder_->add(std::move(record));
}

}  // namespace

LoadedZone load_zone_file(const std::filesystem::path& path, Diagnostics* diagnostics) {
    ZoneFileReader reader(path, diagnostics);
    auto zone = reader.read();
    return {std::move(zone), reader.origin_where(), reader.transfer(), reader.dnssec()};
}

}  // namespace meridian::config

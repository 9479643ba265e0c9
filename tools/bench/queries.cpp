#include "queries.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

namespace bench {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) parts.push_back(part);
    return parts;
}

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos) return "";
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

std::string absolute(const std::string& zone) { return !zone.empty() && zone.back() == '.' ? zone : zone + "."; }

}  // namespace

bool GeoTable::load(const std::string& path, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return false;
    }
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        if (header) {  // network,continent,...
            header = false;
            if (line.rfind("network", 0) == 0) continue;
        }
        const auto comma = line.find(',');
        if (comma == std::string::npos) continue;
        std::string subnet_error;
        const auto net = parse_subnet(line.substr(0, comma), &subnet_error);
        if (!net || net->family != AF_INET) continue;  // IPv4 only: the bench speaks IPv4 ECS
        const auto rest = line.substr(comma + 1);
        rows_.push_back({net->v4(), net->prefix, rest.substr(0, rest.find(','))});
    }
    if (rows_.empty()) {
        *error = path + ": no IPv4 networks";
        return false;
    }
    return true;
}

std::string GeoTable::continent_of(uint32_t address) const {
    const Row* best = nullptr;
    for (const Row& r : rows_) {
        const uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
        if ((address & mask) == r.network && (best == nullptr || r.prefix > best->prefix)) best = &r;
    }
    return best == nullptr ? "" : best->continent;
}

bool SteerMap::parse(const std::string& text, std::string* error) {
    by_continent.clear();
    fallback = 0;
    for (const auto& item : split(text, ',')) {
        const auto eq = item.find('=');
        const auto address = eq == std::string::npos ? std::nullopt : parse_v4(item.substr(eq + 1));
        if (!address) {
            *error = "steer map entry \"" + item + "\" is not CONTINENT=IPv4";
            return false;
        }
        const auto key = item.substr(0, eq);
        if (key == "*") {
            fallback = *address;
        } else {
            by_continent.emplace_back(key, *address);
        }
    }
    if (fallback == 0) {
        *error = "steer map needs a default: *=ADDRESS";
        return false;
    }
    return true;
}

uint32_t SteerMap::pick(const std::string& continent) const {
    for (const auto& [key, address] : by_continent) {
        if (key == continent) return address;
    }
    return fallback;
}

bool QuerySet::add(const QuerySpec& spec, Expectation expect, std::string* error) {
    auto bytes = build_query(spec, error);
    if (bytes.empty()) return false;
    Template t;
    t.offset = static_cast<uint32_t>(pool_.size());
    t.size = static_cast<uint16_t>(bytes.size());
    t.question_end = static_cast<uint16_t>(question_end(bytes));
    t.rcode = static_cast<int8_t>(expect.rcode);
    t.dnssec = spec.dnssec_ok;
    t.text = spec.name + " " + qtype_text(spec.qtype) + (spec.ecs ? " " + format_subnet(*spec.ecs) : "") +
             (spec.dnssec_ok ? " do" : "");
    // Identical expectations are stored once (the NXDOMAIN set has 100,000 queries).
    bool found = false;
    for (std::size_t i = expectations_.size(); i-- > 0 && expectations_.size() - i <= 4;) {
        if (expectations_[i] == expect) {
            t.expectation = static_cast<uint32_t>(i);
            found = true;
            break;
        }
    }
    if (!found) {
        t.expectation = static_cast<uint32_t>(expectations_.size());
        expectations_.push_back(std::move(expect));
    }
    pool_.insert(pool_.end(), bytes.begin(), bytes.end());
    max_size_ = std::max(max_size_, bytes.size());
    items_.push_back(std::move(t));
    return true;
}

bool generate_queries(const std::string& kind, const GenOptions& o, QuerySet* out, std::string* error) {
    const std::string zone = absolute(o.zone);
    for (auto part : split(kind, '+')) {
        // signed-X: X's queries with DO set, answers that must carry signatures.
        const bool dnssec = part.rfind("signed-", 0) == 0;
        if (dnssec) part = part.substr(7);
        auto add = [&](const std::string& name, bool edns, std::optional<Subnet> ecs, Expectation e) {
            e.signed_answer = dnssec;
            if (dnssec && e.rcode == 3) {  // denials: NXDOMAIN, or NOERROR with no answer (RFC 9824, RFC 7129)
                e.rcode = -1;
                e.no_a = true;
            }
            return out->add({name, 1, edns, ecs, dnssec}, e, error);
        };
        if (part == "static") {
            if (!add("www." + zone, o.edns, std::nullopt, {0, false, {o.static_a}})) return false;
        } else if (part == "noecs") {
            if (!add("app." + zone, o.edns, std::nullopt, {0, true, {}})) return false;
        } else if (part == "ecs") {
            if (o.geo == nullptr) {
                *error = "the ecs workload needs the geo CSV (--geo-csv)";
                return false;
            }
            // Every IPv4 network of the CSV but loopback: the network itself when it is a /24
            // or longer, else up to N /24s spread across it. Then a few networks it lacks.
            std::vector<Subnet> subnets;
            auto add_subnet = [&](uint32_t network, unsigned prefix) {
                Subnet s;
                s.family = AF_INET;
                s.prefix = static_cast<uint8_t>(prefix);
                for (int i = 0; i < 4; ++i)
                    s.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(network >> (24 - 8 * i));
                subnets.push_back(s);
            };
            for (const auto& row : o.geo->rows()) {
                if ((row.network >> 24) == 127) continue;
                if (row.prefix >= 24) {
                    add_subnet(row.network, row.prefix);
                    continue;
                }
                const uint64_t count24 = uint64_t{1} << (24 - row.prefix);
                const uint64_t n = std::min<uint64_t>(count24, o.subnets_per_network);
                for (uint64_t i = 0; i < n; ++i) {
                    add_subnet(row.network + static_cast<uint32_t>((i * count24 / n) << 8), 24);
                }
            }
            for (const uint32_t unmapped :
                 {0x64400000u, 0x64410000u, 0xac100000u, 0xc6120000u}) {  // 100.64/10, 172.16/12, 198.18/15
                if (o.geo->continent_of(unmapped).empty()) add_subnet(unmapped, 24);
            }
            for (const Subnet& s : subnets) {
                if (!add("app." + zone, true, s, {0, false, {o.steer.pick(o.geo->continent_of(s.v4()))}})) return false;
            }
        } else if (part == "nxdomain") {
            std::mt19937_64 rng(o.seed);
            static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
            for (unsigned i = 0; i < o.nx_names; ++i) {
                std::string label = "nx-";
                for (int k = 0; k < 12; ++k) label.push_back(kAlphabet[rng() % 36]);
                if (!add(label + "." + zone, o.edns, std::nullopt, {3, false, {}})) return false;
            }
        } else {
            *error = "unknown workload \"" + part + "\" (static, ecs, noecs, nxdomain; signed- before any)";
            return false;
        }
    }
    return true;
}

bool load_query_file(const std::string& path, const SteerMap& steer, bool edns, QuerySet* out, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return false;
    }
    std::string line;
    unsigned number = 0;
    while (std::getline(in, line)) {
        ++number;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string name, type, word;
        words >> name >> type;
        const auto where = path + ":" + std::to_string(number) + ": ";
        QuerySpec spec{name, qtype_from_text(type), edns, std::nullopt};
        if (spec.qtype == 0) {
            *error = where + "unknown type \"" + type + "\"";
            return false;
        }
        Expectation e;
        while (words >> word) {
            if (word == "noedns") {
                spec.edns = false;
            } else if (word == "do") {
                spec.dnssec_ok = true;
                e.signed_answer = true;
            } else if (word.rfind("rcode=", 0) == 0) {
                e.rcode = rcode_from_text(word.substr(6));
                if (e.rcode < 0) {
                    *error = where + "unknown rcode in \"" + word + "\"";
                    return false;
                }
            } else if (word == "a=@source") {
                e.by_source = true;
                if (steer.fallback == 0) {
                    *error = where + "a=@source needs a steer map";
                    return false;
                }
            } else if (word.rfind("a=", 0) == 0) {
                for (const auto& a : split(word.substr(2), ',')) {
                    const auto address = parse_v4(a);
                    if (!address) {
                        *error = where + "\"" + a + "\" is not an IPv4 address";
                        return false;
                    }
                    e.a_any_of.push_back(*address);
                }
            } else {
                std::string subnet_error;
                spec.ecs = parse_subnet(word, &subnet_error);
                if (!spec.ecs) {
                    *error = where + subnet_error;
                    return false;
                }
            }
        }
        if ((e.by_source || !e.a_any_of.empty()) && e.rcode < 0) e.rcode = 0;
        if (!out->add(spec, e, error)) {
            *error = where + *error;
            return false;
        }
    }
    if (out->size() == 0) {
        *error = path + ": no queries";
        return false;
    }
    return true;
}

}  // namespace bench

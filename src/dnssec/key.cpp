#include "dnssec/key.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "dns/name.hpp"
#include "dnssec/private_key.hpp"

namespace meridian::dnssec {

namespace {

constexpr std::size_t kPrivateSize = 32;        // the P-256 scalar, or the Ed25519 seed
constexpr std::size_t kMaxKeyFileSize = 65536;  // far above anything either tool writes

std::size_t public_key_size(Algorithm algorithm) { return algorithm == Algorithm::ecdsap256sha256 ? 64 : 32; }

bool equal_nocase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return dns::to_lower_ascii(static_cast<uint8_t>(x)) == dns::to_lower_ascii(static_cast<uint8_t>(y));
           });
}

// --- base64 (RFC 4648 §4), strict: whole quanta, padding only at the end -------------------------

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool base64_decode(std::string_view text, std::vector<uint8_t>* out) {
    out->clear();
    if (text.empty() || text.size() % 4 != 0) return false;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int values[4];
        int padding = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + k];
            if (c == '=' && last && k >= 2) {
                ++padding;
                values[k] = 0;
                continue;
            }
            if (padding > 0) return false;  // a data character after '='
            values[k] = base64_value(c);
            if (values[k] < 0) return false;
        }
        const uint32_t quantum = (static_cast<uint32_t>(values[0]) << 18) | (static_cast<uint32_t>(values[1]) << 12) |
                                 (static_cast<uint32_t>(values[2]) << 6) | static_cast<uint32_t>(values[3]);
        out->push_back(static_cast<uint8_t>(quantum >> 16));
        if (padding < 2) out->push_back(static_cast<uint8_t>(quantum >> 8));
        if (padding < 1) out->push_back(static_cast<uint8_t>(quantum));
    }
    return true;
}

std::string base64_encode(std::span<const uint8_t> bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        uint32_t quantum = uint32_t{bytes[i]} << 16;
        if (n > 1) quantum |= uint32_t{bytes[i + 1]} << 8;
        if (n > 2) quantum |= bytes[i + 2];
        out += kAlphabet[(quantum >> 18) & 63];
        out += kAlphabet[(quantum >> 12) & 63];
        out += n > 1 ? kAlphabet[(quantum >> 6) & 63] : '=';
        out += n > 2 ? kAlphabet[quantum & 63] : '=';
    }
    return out;
}

// --- BIND timestamps: YYYYMMDDHHMMSS, UTC ---------------------------------------------------------

// Days from 1970-01-01 to the given civil date (proleptic Gregorian; H. Hinnant's algorithm).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

bool parse_timestamp(std::string_view text, int64_t* out) {
    if (text.size() != 14 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    auto number = [&](std::size_t at, std::size_t length) {
        unsigned value = 0;
        for (std::size_t i = at; i < at + length; ++i) value = value * 10 + static_cast<unsigned>(text[i] - '0');
        return value;
    };
    const unsigned year = number(0, 4), month = number(4, 2), day = number(6, 2);
    const unsigned hour = number(8, 2), minute = number(10, 2), second = number(12, 2);
    static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || hour > 23 || minute > 59 || second > 60)
        return false;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap) return false;
    *out = days_from_civil(year, month, day) * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second;
    return true;
}

std::string format_timestamp(int64_t t) {
    const auto seconds = static_cast<time_t>(t);
    std::tm tm{};
    if (::gmtime_r(&seconds, &tm) == nullptr) return "19700101000000";
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%d%H%M%S", &tm);
    return text;
}

// "(Mon Dec  7 03:30:00 2026)": the human form BIND adds in the .key comments.
std::string format_human_time(int64_t t) {
    const auto seconds = static_cast<time_t>(t);
    std::tm tm{};
    if (::gmtime_r(&seconds, &tm) == nullptr) return "";
    char text[64];
    std::strftime(text, sizeof text, "%a %b %e %H:%M:%S %Y", &tm);
    return text;
}

// --- OpenSSL --------------------------------------------------------------------------------------

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct BnFree {
    void operator()(BIGNUM* p) const { BN_clear_free(p); }
};

// The private key from the 32 bytes of a .private file. For P-256 the scalar goes into a DER
// ECPrivateKey (RFC 5915) without the public point, which OpenSSL's decoder then computes.
PkeyPtr private_from_bytes(Algorithm algorithm, std::span<const uint8_t> bytes) {
    if (bytes.size() != kPrivateSize) return nullptr;
    if (algorithm == Algorithm::ed25519) {
        return PkeyPtr(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes.data(), bytes.size()));
    }
    // SEQUENCE { INTEGER 1, OCTET STRING scalar, [0] { OID prime256v1 (1.2.840.10045.3.1.7) } }
    static constexpr uint8_t kHead[] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
    static constexpr uint8_t kTail[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    std::array<uint8_t, sizeof kHead + kPrivateSize + sizeof kTail> der{};
    std::copy(std::begin(kHead), std::end(kHead), der.begin());
    std::copy(bytes.begin(), bytes.end(), der.begin() + sizeof kHead);
    std::copy(std::begin(kTail), std::end(kTail), der.begin() + sizeof kHead + kPrivateSize);
    const uint8_t* p = der.data();
    PkeyPtr key(d2i_PrivateKey(EVP_PKEY_EC, nullptr, &p, static_cast<long>(der.size())));
    OPENSSL_cleanse(der.data(), der.size());
    return key;
}

// The DNSKEY public-key field of a key pair: x‖y for P-256 (RFC 6605 §4), the raw key for
// Ed25519 (RFC 8080 §3). Empty on failure.
std::vector<uint8_t> public_field(Algorithm algorithm, EVP_PKEY* key) {
    if (algorithm == Algorithm::ed25519) {
        std::vector<uint8_t> out(32);
        std::size_t size = out.size();
        if (EVP_PKEY_get_raw_public_key(key, out.data(), &size) != 1 || size != 32) return {};
        return out;
    }
    uint8_t point[128];
    std::size_t size = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &size) != 1) return {};
    if (size != 65 || point[0] != 0x04) return {};  // uncompressed point: 04 ‖ x ‖ y
    return {point + 1, point + 65};
}

bool private_bytes(Algorithm algorithm, EVP_PKEY* key, std::array<uint8_t, kPrivateSize>* out) {
    if (algorithm == Algorithm::ed25519) {
        std::size_t size = out->size();
        return EVP_PKEY_get_raw_private_key(key, out->data(), &size) == 1 && size == kPrivateSize;
    }
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return false;
    const std::unique_ptr<BIGNUM, BnFree> scalar(raw);
    return BN_bn2binpad(scalar.get(), out->data(), static_cast<int>(out->size())) == static_cast<int>(kPrivateSize);
}

// --- the .key file: one DNSKEY record in presentation form ---------------------------------------

struct Token {
    std::string text;
    int line;
};

// The record's fields, comments dropped and parentheses joined (RFC 1035 §5.1). A line that
// starts with blanks continues no record here (there is no previous owner), so it is refused.
bool read_dnskey_tokens(const std::string& file, std::string_view text, std::vector<Token>* tokens,
                        std::string* error) {
    int line = 1;
    int depth = 0;
    bool record_done = false;
    std::size_t i = 0;
    bool line_start = true;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            ++i;
            line_start = true;
            if (depth == 0 && !tokens->empty()) record_done = true;
            continue;
        }
        if (c == ';') {
            while (i < text.size() && text[i] != '\n') ++i;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            if (line_start && depth == 0 && !record_done && tokens->empty()) {
                // Blank-led line before any record: fine only if it holds nothing but a comment.
                std::size_t j = i;
                while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
                if (j < text.size() && text[j] != '\n' && text[j] != ';') {
                    *error = file + ":" + std::to_string(line) + ": a record line starting with blanks (no owner)";
                    return false;
                }
            }
            line_start = false;
            ++i;
            continue;
        }
        if (record_done) {
            *error = file + ":" + std::to_string(line) + ": more than one record (a .key file holds one DNSKEY)";
            return false;
        }
        line_start = false;
        if (c == '(') {
            ++depth;
            ++i;
            continue;
        }
        if (c == ')') {
            if (--depth < 0) {
                *error = file + ":" + std::to_string(line) + ": unbalanced ')'";
                return false;
            }
            ++i;
            continue;
        }
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '"') {
            *error = file + ":" + std::to_string(line) + ": unexpected character";
            return false;
        }
        std::size_t end = i;
        while (end < text.size() && std::strchr(" \t\r\n;()", text[end]) == nullptr) {
            const auto b = static_cast<unsigned char>(text[end]);
            if (b < 0x20 || b >= 0x7f || b == '"') break;
            ++end;
        }
        tokens->push_back({std::string(text.substr(i, end - i)), line});
        i = end;
    }
    if (depth != 0) {
        *error = file + ":" + std::to_string(line) + ": unbalanced '(' (the file ends inside the record)";
        return false;
    }
    if (tokens->empty()) {
        *error = file + ": no DNSKEY record";
        return false;
    }
    return true;
}

bool parse_number(std::string_view text, uint64_t limit, uint64_t* out) {
    if (text.empty() || text.size() > 10) return false;
    uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    if (value > limit) return false;
    *out = value;
    return true;
}

bool parse_dnskey(const std::string& file, std::string_view text, std::string_view zone, Key* key, std::string* error) {
    std::vector<Token> tokens;
    if (!read_dnskey_tokens(file, text, &tokens, error)) return false;
    auto fail = [&](const Token& at, const std::string& what) {
        *error = file + ":" + std::to_string(at.line) + ": " + what;
        return false;
    };
    if (tokens[0].text.front() == '$') return fail(tokens[0], "directive " + tokens[0].text + " in a key file");
    const auto owner = dns::lower_wire_from_text(tokens[0].text);
    if (!owner || tokens[0].text == "@") return fail(tokens[0], "bad owner name \"" + tokens[0].text + "\"");
    const auto wanted = dns::lower_wire_from_text(zone);
    if (!wanted) {
        *error = file + ": bad zone name \"" + std::string(zone) + "\"";
        return false;
    }
    if (*owner != *wanted) {
        return fail(tokens[0], "the key's owner " + tokens[0].text + " is not the zone " + std::string(zone));
    }
    // [TTL] [class] or [class] [TTL], then the type.
    std::size_t at = 1;
    bool seen_ttl = false, seen_class = false;
    while (at < tokens.size() && !equal_nocase(tokens[at].text, "DNSKEY")) {
        uint64_t ttl = 0;
        if (!seen_ttl && parse_number(tokens[at].text, 0x7fffffff, &ttl)) {
            seen_ttl = true;
        } else if (!seen_class && equal_nocase(tokens[at].text, "IN")) {
            seen_class = true;
        } else {
            return fail(tokens[at], "expected DNSKEY, found \"" + tokens[at].text + "\"");
        }
        ++at;
    }
    if (at >= tokens.size()) return fail(tokens.back(), "no DNSKEY type in the record");
    ++at;
    if (tokens.size() < at + 4) return fail(tokens.back(), "the DNSKEY record is truncated");
    uint64_t flags = 0, protocol = 0;
    if (!parse_number(tokens[at].text, 0xffff, &flags))
        return fail(tokens[at], "bad flags \"" + tokens[at].text + "\"");
    if ((flags & kZoneKeyFlag) == 0) return fail(tokens[at], "flags " + tokens[at].text + " lack the zone-key bit");
    ++at;
    if (!parse_number(tokens[at].text, 255, &protocol) || protocol != kDnskeyProtocol)
        return fail(tokens[at], "protocol must be 3, not \"" + tokens[at].text + "\"");
    ++at;
    const auto algorithm = algorithm_from_text(tokens[at].text);
    if (!algorithm) {
        return fail(tokens[at], "algorithm " + tokens[at].text + " is not supported (13 ECDSAP256SHA256, 15 ED25519)");
    }
    ++at;
    std::string encoded;
    for (std::size_t k = at; k < tokens.size(); ++k) encoded += tokens[k].text;
    std::vector<uint8_t> public_key;
    if (!base64_decode(encoded, &public_key)) return fail(tokens[at], "bad base64 in the public key");
    if (public_key.size() != public_key_size(*algorithm)) {
        return fail(tokens[at], "public key of " + std::to_string(public_key.size()) + " bytes, " +
                                    std::string(algorithm_name(*algorithm)) + " has " +
                                    std::to_string(public_key_size(*algorithm)));
    }
    key->owner.assign(owner->begin(), owner->end());
    key->flags = static_cast<uint16_t>(flags);
    key->algorithm = *algorithm;
    key->public_key = std::move(public_key);
    return true;
}

// --- the .private file ----------------------------------------------------------------------------

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool parse_private(const std::string& file, std::string_view text, Algorithm algorithm, KeyTiming* timing,
                   std::vector<uint8_t>* secret, std::string* error) {
    bool seen_format = false, seen_algorithm = false, seen_key = false;
    int line_number = 0;
    std::size_t pos = 0;
    auto fail = [&](const std::string& what) {
        *error = file + ":" + std::to_string(line_number) + ": " + what;
        return false;
    };
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line_number;
        if (line.empty()) continue;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return fail("expected \"Field: value\"");
        const std::string_view field = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (!std::all_of(line.begin(), line.end(), [](char c) {
                return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
            }))
            return fail("unexpected character");
        if (field == "Private-key-format") {
            if (seen_format) return fail("Private-key-format given twice");
            uint64_t minor = 0;
            if (value.substr(0, 3) != "v1." || !parse_number(value.substr(3), 255, &minor)) {
                return fail("unsupported Private-key-format \"" + std::string(value) + "\" (v1.2 and v1.3 are)");
            }
            seen_format = true;
        } else if (field == "Algorithm") {
            if (seen_algorithm) return fail("Algorithm given twice");
            const std::string_view number = value.substr(0, value.find(' '));
            const auto found = algorithm_from_text(number);
            if (!found) return fail("algorithm \"" + std::string(value) + "\" is not supported");
            if (*found != algorithm) {
                return fail("algorithm " + std::string(number) + " differs from the .key file's " +
                            std::to_string(static_cast<int>(algorithm)));
            }
            seen_algorithm = true;
        } else if (field == "PrivateKey") {
            if (seen_key) return fail("PrivateKey given twice");
            if (!base64_decode(value, secret)) return fail("bad base64 in PrivateKey");
            if (secret->size() != kPrivateSize) {
                return fail("PrivateKey of " + std::to_string(secret->size()) + " bytes, expected " +
                            std::to_string(kPrivateSize));
            }
            seen_key = true;
        } else {
            std::optional<int64_t>* slot = nullptr;
            if (field == "Created") slot = &timing->created;
            else if (field == "Publish") slot = &timing->publish;
            else if (field == "Activate") slot = &timing->activate;
            else if (field == "Inactive") slot = &timing->inactive;
            else if (field == "Delete") slot = &timing->remove;
            if (slot != nullptr) {
                int64_t t = 0;
                if (!parse_timestamp(value, &t)) {
                    return fail("bad " + std::string(field) + " time \"" + std::string(value) + "\" (YYYYMMDDHHMMSS)");
                }
                *slot = t;
            }
            // Other fields (Revoke, SyncPublish, DSPublish, Successor, …) do not concern us.
        }
    }
    if (!seen_format) {
        *error = file + ": no Private-key-format line";
        return false;
    }
    if (!seen_algorithm) {
        *error = file + ": no Algorithm line";
        return false;
    }
    if (!seen_key) {
        *error = file + ": no PrivateKey line";
        return false;
    }
    return true;
}

bool read_small_file(const std::string& path, std::string* text, std::string* error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *error = path + ": cannot open: " + std::strerror(errno);
        return false;
    }
    text->clear();
    char chunk[4096];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text->append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text->size() > kMaxKeyFileSize) {
            *error = path + ": larger than " + std::to_string(kMaxKeyFileSize) + " bytes, not a key file";
            return false;
        }
    }
    if (in.bad()) {
        *error = path + ": cannot read";
        return false;
    }
    if (text->find('\0') != std::string::npos) {
        *error = path + ": contains a NUL byte, not a key file";
        return false;
    }
    return true;
}

bool read_key_unguarded(const std::string& base, std::string_view zone, Key* key, std::string* error) {
    const std::string key_file = base + ".key";
    const std::string private_file = base + ".private";
    std::string text;
    Key out;
    out.path = base;
    if (!read_small_file(key_file, &text, error)) return false;
    if (!parse_dnskey(key_file, text, zone, &out, error)) return false;
    if (!read_small_file(private_file, &text, error)) return false;
    std::vector<uint8_t> secret;
    const bool parsed = parse_private(private_file, text, out.algorithm, &out.timing, &secret, error);
    OPENSSL_cleanse(text.data(), text.size());
    if (!parsed) {
        OPENSSL_cleanse(secret.data(), secret.size());
        return false;
    }
    PkeyPtr pkey = private_from_bytes(out.algorithm, secret);
    OPENSSL_cleanse(secret.data(), secret.size());
    if (!pkey) {
        *error = private_file + ": PrivateKey is not a valid " + std::string(algorithm_name(out.algorithm)) + " key";
        return false;
    }
    if (public_field(out.algorithm, pkey.get()) != out.public_key) {
        *error = private_file + ": the private key does not match the public key in " + key_file;
        return false;
    }
    out.private_key = std::make_shared<const PrivateKey>(pkey.release());
    out.tag = key_tag(out.dnskey_rdata());
    *key = std::move(out);
    return true;
}

// --- writing --------------------------------------------------------------------------------------

// Writes `text` to a fresh temporary file (mode 0600) beside `path`, then links it to `path`,
// which fails if `path` exists: the file appears whole or not at all, and nothing is replaced.
bool create_file_atomically(const std::string& path, std::string_view text, std::string* error) {
    std::string temporary = path + ".tmp.XXXXXX";
    const int fd = ::mkstemp(temporary.data());  // creates with mode 0600
    if (fd < 0) {
        *error = "cannot create a temporary file for " + path + ": " + std::strerror(errno);
        return false;
    }
    bool ok = ::fchmod(fd, 0600) == 0;
    std::size_t written = 0;
    while (ok && written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ok = false;
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    const int saved = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        *error = "cannot write " + temporary + ": " + std::strerror(saved != 0 ? saved : errno);
        ::unlink(temporary.c_str());
        return false;
    }
    if (::link(temporary.c_str(), path.c_str()) != 0) {
        *error = errno == EEXIST ? path + " exists; key files are never overwritten"
                                 : "cannot create " + path + ": " + std::strerror(errno);
        ::unlink(temporary.c_str());
        return false;
    }
    ::unlink(temporary.c_str());
    return true;
}

bool write_key_unguarded(const std::string& directory, Key* key, std::string* error) {
    if (!key->private_key) {
        *error = "the key has no private half to write";
        return false;
    }
    if (key->owner.empty() || key->public_key.size() != public_key_size(key->algorithm)) {
        *error = "the key is incomplete (owner or public key)";
        return false;
    }
    std::array<uint8_t, kPrivateSize> secret{};
    if (!private_bytes(key->algorithm, key->private_key->get(), &secret)) {
        *error = "cannot export the private key from OpenSSL";
        return false;
    }
    key->tag = key_tag(key->dnskey_rdata());
    const std::string owner = dns::name_to_text(
        std::string_view(reinterpret_cast<const char*>(key->owner.data()), key->owner.size()));
    char numbers[32];
    std::snprintf(numbers, sizeof numbers, "+%03d+%05u", static_cast<int>(key->algorithm), unsigned{key->tag});
    const std::string base = (std::filesystem::path(directory) / ("K" + owner + numbers)).string();
    const std::string key_file = base + ".key";
    const std::string private_file = base + ".private";
    std::error_code ec;
    if (std::filesystem::exists(key_file, ec) || std::filesystem::exists(private_file, ec)) {
        *error = base + ".{key,private} exists; key files are never overwritten";
        OPENSSL_cleanse(secret.data(), secret.size());
        return false;
    }

    const char* const algorithm_text = key->algorithm == Algorithm::ecdsap256sha256 ? "13 (ECDSAP256SHA256)"
                                                                                    : "15 (ED25519)";
    const std::pair<const char*, const std::optional<int64_t>*> times[] = {
        {"Created", &key->timing.created},   {"Publish", &key->timing.publish}, {"Activate", &key->timing.activate},
        {"Inactive", &key->timing.inactive}, {"Delete", &key->timing.remove},
    };

    std::string public_text = std::string("; This is a ") + (key->is_sep() ? "key-signing" : "zone-signing") +
                              " key, keyid " + std::to_string(key->tag) + ", for " + owner + "\n";
    for (const auto& [name, value] : times) {
        if (value->has_value()) {
            public_text += std::string("; ") + name + ": " + format_timestamp(**value) + " (" +
                           format_human_time(**value) + ")\n";
        }
    }
    const std::string encoded = base64_encode(key->public_key);
    public_text += owner + " IN DNSKEY " + std::to_string(key->flags) + " 3 " +
                   std::to_string(static_cast<int>(key->algorithm));
    for (std::size_t i = 0; i < encoded.size(); i += 56) public_text += " " + encoded.substr(i, 56);
    public_text += "\n";

    std::string private_text = "Private-key-format: v1.3\nAlgorithm: " + std::string(algorithm_text) +
                               "\nPrivateKey: " + base64_encode(secret) + "\n";
    OPENSSL_cleanse(secret.data(), secret.size());
    for (const auto& [name, value] : times) {
        if (value->has_value()) private_text += std::string(name) + ": " + format_timestamp(**value) + "\n";
    }

    // The .private first: whoever lists .key files never finds one without its private half.
    const bool wrote_private = create_file_atomically(private_file, private_text, error);
    OPENSSL_cleanse(private_text.data(), private_text.size());
    if (!wrote_private) return false;
    if (!create_file_atomically(key_file, public_text, error)) {
        ::unlink(private_file.c_str());
        return false;
    }
    key->path = base;
    return true;
}

}  // namespace

std::optional<Algorithm> algorithm_from_text(std::string_view text) noexcept {
    if (text == "13" || equal_nocase(text, "ecdsap256sha256")) return Algorithm::ecdsap256sha256;
    if (text == "15" || equal_nocase(text, "ed25519")) return Algorithm::ed25519;
    return std::nullopt;
}

std::string_view algorithm_name(Algorithm algorithm) noexcept {
    return algorithm == Algorithm::ecdsap256sha256 ? "ECDSAP256SHA256" : "ED25519";
}

bool KeyTiming::is_published(int64_t now) const noexcept {
    return (!publish || now >= *publish) && (!remove || now < *remove);
}

bool KeyTiming::is_active(int64_t now) const noexcept {
    return (!activate || now >= *activate) && (!inactive || now < *inactive);
}

std::optional<int64_t> KeyTiming::next_event(int64_t now) const noexcept {
    std::optional<int64_t> next;
    for (const auto& event : {publish, activate, inactive, remove}) {
        if (event && *event > now && (!next || *event < *next)) next = *event;
    }
    return next;
}

std::vector<uint8_t> Key::dnskey_rdata() const {
    std::vector<uint8_t> out;
    out.reserve(4 + public_key.size());
    out.push_back(static_cast<uint8_t>(flags >> 8));
    out.push_back(static_cast<uint8_t>(flags));
    out.push_back(kDnskeyProtocol);
    out.push_back(static_cast<uint8_t>(algorithm));
    out.insert(out.end(), public_key.begin(), public_key.end());
    return out;
}

bool read_key(const std::string& base, std::string_view zone, Key* key, std::string* error) {
    try {
        return read_key_unguarded(base, zone, key, error);
    } catch (const std::exception& e) {
        *error = base + ".key: " + e.what();
    } catch (...) {
        *error = base + ".key: unexpected failure";
    }
    return false;
}

std::vector<std::string> key_files_in(const std::string& directory, std::string_view zone) {
    if (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
    // BIND names the root zone's keys "K.+…": the zone text plus its trailing dot.
    const std::string prefix = "K" + std::string(zone) + ".+";
    std::vector<std::string> bases;
    std::error_code ec;
    std::filesystem::directory_iterator it(directory, ec);
    if (ec) return bases;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        // K<zone>.+NNN+NNNNN.key
        if (name.size() != prefix.size() + 3 + 1 + 5 + 4) continue;
        if (!equal_nocase(std::string_view(name).substr(0, prefix.size()), prefix)) continue;
        const std::string_view rest = std::string_view(name).substr(prefix.size());
        auto digits = [](std::string_view s) {
            return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
        };
        if (!digits(rest.substr(0, 3)) || rest[3] != '+' || !digits(rest.substr(4, 5)) || rest.substr(9) != ".key")
            continue;
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec)) continue;
        bases.push_back((std::filesystem::path(directory) / name.substr(0, name.size() - 4)).string());
    }
    std::sort(bases.begin(), bases.end());
    return bases;
}

Key generate_key(std::string_view zone, Algorithm algorithm, bool is_sep, int64_t now, std::string* error) {
    Key key;
    const auto owner = dns::lower_wire_from_text(zone);
    if (!owner) {
        *error = "bad zone name \"" + std::string(zone) + "\"";
        return key;
    }
    PkeyPtr pkey(algorithm == Algorithm::ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!pkey) {
        *error = "OpenSSL could not generate a " + std::string(algorithm_name(algorithm)) + " key";
        return key;
    }
    std::vector<uint8_t> public_key = public_field(algorithm, pkey.get());
    if (public_key.empty()) {
        *error = "cannot read the public half of a new " + std::string(algorithm_name(algorithm)) + " key";
        return key;
    }
    key.owner.assign(owner->begin(), owner->end());
    key.flags = is_sep ? (kZoneKeyFlag | kSepFlag) : kZoneKeyFlag;
    key.algorithm = algorithm;
    key.public_key = std::move(public_key);
    key.tag = key_tag(key.dnskey_rdata());
    key.timing.created = key.timing.publish = key.timing.activate = now;
    key.private_key = std::make_shared<const PrivateKey>(pkey.release());
    return key;
}

bool write_key(const std::string& directory, Key* key, std::string* error) {
    try {
        return write_key_unguarded(directory, key, error);
    } catch (const std::exception& e) {
        *error = "cannot write the key files into " + directory + ": " + e.what();
    } catch (...) {
        *error = "cannot write the key files into " + directory;
    }
    return false;
}

uint16_t key_tag(std::span<const uint8_t> dnskey_rdata) noexcept {
    // RFC 4034 Appendix B (not for algorithm 1, which neither of ours is).
    uint32_t sum = 0;
    for (std::size_t i = 0; i < dnskey_rdata.size(); ++i) {
        sum += (i & 1) != 0 ? uint32_t{dnskey_rdata[i]} : uint32_t{dnskey_rdata[i]} << 8;
    }
    sum += (sum >> 16) & 0xffff;
    return static_cast<uint16_t>(sum & 0xffff);
}

std::vector<uint8_t> ds_rdata(std::span<const uint8_t> owner_wire, std::span<const uint8_t> dnskey_rdata,
                              uint8_t digest_type) {
    const EVP_MD* md = digest_type == 2 ? EVP_sha256() : digest_type == 4 ? EVP_sha384() : nullptr;
    if (md == nullptr || dnskey_rdata.size() < 4) return {};
    std::vector<uint8_t> input(owner_wire.begin(), owner_wire.end());
    dns::lowercase_name(input.data(), input.size());
    input.insert(input.end(), dnskey_rdata.begin(), dnskey_rdata.end());
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned digest_size = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digest_size, md, nullptr) != 1) return {};
    const uint16_t tag = key_tag(dnskey_rdata);
    std::vector<uint8_t> out = {static_cast<uint8_t>(tag >> 8), static_cast<uint8_t>(tag), dnskey_rdata[3],
                                digest_type};
    out.insert(out.end(), digest, digest + digest_size);
    return out;
}

std::string ds_text(const Key& key, uint32_t ttl, uint8_t digest_type) {
    const std::vector<uint8_t> rdata = ds_rdata(key.owner, key.dnskey_rdata(), digest_type);
    if (rdata.size() < 4) return {};
    std::string out = dns::name_to_text(
        std::string_view(reinterpret_cast<const char*>(key.owner.data()), key.owner.size()));
    out += " " + std::to_string(ttl) + " IN DS " + std::to_string((rdata[0] << 8) | rdata[1]) + " " +
           std::to_string(rdata[2]) + " " + std::to_string(rdata[3]) + " ";
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (std::size_t i = 4; i < rdata.size(); ++i) {
        out += kHex[rdata[i] >> 4];
        out += kHex[rdata[i] & 15];
    }
    return out;
}

}  // namespace meridian::dnssec

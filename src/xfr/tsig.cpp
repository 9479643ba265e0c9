#include "xfr/tsig.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dns/name.hpp"
#include "dns/wire.hpp"

namespace meridian::xfr {

namespace {

void put_u16(std::vector<uint8_t>* out, uint16_t v) {
    out->push_back(static_cast<uint8_t>(v >> 8));
    out->push_back(static_cast<uint8_t>(v));
}
void put_u48(std::vector<uint8_t>* out, uint64_t v) {
    for (int shift = 40; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}
void put_bytes(std::vector<uint8_t>* out, std::string_view bytes) {
    out->insert(out->end(), bytes.begin(), bytes.end());
}
void put_bytes(std::vector<uint8_t>* out, std::span<const uint8_t> bytes) {
    out->insert(out->end(), bytes.begin(), bytes.end());
}

// The TSIG variables of RFC 8945 §4.3.3: name and algorithm in canonical (lower-case,
// uncompressed) form, class ANY, TTL 0, the timers, the error and the other data.
void put_variables(std::vector<uint8_t>* out, std::string_view key_name, uint64_t time_signed, uint16_t fudge,
                   uint16_t error, std::span<const uint8_t> other) {
    put_bytes(out, key_name);
    put_u16(out, dns::rrclass::ANY);
    put_u16(out, 0);
    put_u16(out, 0);
    put_bytes(out, kHmacSha256);
    put_u48(out, time_signed);
    put_u16(out, fudge);
    put_u16(out, error);
    put_u16(out, static_cast<uint16_t>(other.size()));
    put_bytes(out, other);
}

// The TSIG record itself (RFC 8945 §4.2), appended and counted in ARCOUNT.
void append_record(std::vector<uint8_t>* message, std::string_view key_name, uint64_t time_signed, uint16_t fudge,
                   std::span<const uint8_t> mac, uint16_t original_id, uint16_t error, std::span<const uint8_t> other) {
    put_bytes(message, key_name);
    put_u16(message, dns::rrtype::TSIG);
    put_u16(message, dns::rrclass::ANY);
    put_u16(message, 0);
    put_u16(message, 0);
    const std::size_t rdlength_at = message->size();
    put_u16(message, 0);
    put_bytes(message, kHmacSha256);
    put_u48(message, time_signed);
    put_u16(message, fudge);
    put_u16(message, static_cast<uint16_t>(mac.size()));
    put_bytes(message, mac);
    put_u16(message, original_id);
    put_u16(message, error);
    put_u16(message, static_cast<uint16_t>(other.size()));
    put_bytes(message, other);
    dns::write_u16(message->data() + rdlength_at, static_cast<uint16_t>(message->size() - rdlength_at - 2));
    uint8_t* arcount = message->data() + 10;
    dns::write_u16(arcount, static_cast<uint16_t>(dns::read_u16(arcount) + 1));
}

bool read_lower_name(std::span<const uint8_t> message, std::size_t* pos, std::string* out) {
    dns::NameBuffer name;
    if (dns::read_name(message.data(), message.size(), pos, &name) != dns::NameError::none) return false;
    dns::lowercase_name(name.bytes.data(), name.length);
    out->assign(reinterpret_cast<const char*>(name.bytes.data()), name.length);
    return true;
}

}  // namespace

std::vector<uint8_t> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
    std::vector<uint8_t> mac(EVP_MAX_MD_SIZE);
    unsigned size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), mac.data(), &size);
    mac.resize(size);
    return mac;
}

std::optional<TsigRecord> read_tsig(std::span<const uint8_t> message, std::size_t offset) {
    TsigRecord r;
    r.offset = offset;
    std::size_t pos = offset;
    if (!read_lower_name(message, &pos, &r.key_name)) return std::nullopt;
    if (message.size() - pos < 10) return std::nullopt;
    const uint8_t* p = message.data() + pos;
    if (dns::read_u16(p) != dns::rrtype::TSIG || dns::read_u16(p + 2) != dns::rrclass::ANY || dns::read_u32(p + 4) != 0)
        return std::nullopt;
    const std::size_t rdlength = dns::read_u16(p + 8);
    pos += 10;
    if (message.size() - pos != rdlength) return std::nullopt;  // the last record, exactly
    if (!read_lower_name(message, &pos, &r.algorithm)) return std::nullopt;
    if (message.size() - pos < 10) return std::nullopt;
    p = message.data() + pos;
    for (int i = 0; i < 6; ++i) r.time_signed = (r.time_signed << 8) | p[i];
    r.fudge = dns::read_u16(p + 6);
    const std::size_t mac_size = dns::read_u16(p + 8);
    pos += 10;
    if (message.size() - pos < mac_size + 6) return std::nullopt;
    r.mac.assign(message.begin() + static_cast<std::ptrdiff_t>(pos),
                 message.begin() + static_cast<std::ptrdiff_t>(pos + mac_size));
    pos += mac_size;
    p = message.data() + pos;
    r.original_id = dns::read_u16(p);
    r.error = dns::read_u16(p + 2);
    const std::size_t other_size = dns::read_u16(p + 4);
    pos += 6;
    if (message.size() - pos != other_size) return std::nullopt;
    r.other.assign(message.begin() + static_cast<std::ptrdiff_t>(pos), message.end());
    return r;
}

std::optional<TsigRecord> find_tsig(std::span<const uint8_t> message) {
    if (message.size() < dns::kHeaderSize) return std::nullopt;
    const uint8_t* h = message.data();
    const unsigned questions = dns::read_u16(h + 4);
    const unsigned records = unsigned{dns::read_u16(h + 6)} + dns::read_u16(h + 8) + dns::read_u16(h + 10);
    if (dns::read_u16(h + 10) == 0) return std::nullopt;
    std::size_t pos = dns::kHeaderSize;
    for (unsigned i = 0; i < questions; ++i) {
        if (dns::skip_name(message.data(), message.size(), &pos) != dns::NameError::none) return std::nullopt;
        if (message.size() - pos < 4) return std::nullopt;
        pos += 4;
    }
    std::size_t last = 0;
    for (unsigned i = 0; i < records; ++i) {
        last = pos;
        if (dns::skip_name(message.data(), message.size(), &pos) != dns::NameError::none) return std::nullopt;
        if (message.size() - pos < 10) return std::nullopt;
        const std::size_t rdlength = dns::read_u16(message.data() + pos + 8);
        pos += 10;
        if (message.size() - pos < rdlength) return std::nullopt;
        pos += rdlength;
    }
    if (pos != message.size()) return std::nullopt;
    std::size_t type_at = last;
    if (dns::skip_name(message.data(), message.size(), &type_at) != dns::NameError::none) return std::nullopt;
    if (dns::read_u16(message.data() + type_at) != dns::rrtype::TSIG) return std::nullopt;
    return read_tsig(message, last);
}

Verified verify_request(std::span<const uint8_t> message, std::size_t tsig_offset,
                        std::span<const answer::TsigKey> keys, uint64_t now_seconds) {
    Verified v;
    auto record = read_tsig(message, tsig_offset);
    if (!record || tsig_offset < dns::kHeaderSize) return v;
    v.record = std::move(*record);
    const TsigRecord& r = v.record;
    // Key and algorithm first, then the MAC, then the time (RFC 8945 §5.2).
    for (const answer::TsigKey& key : keys) {
        if (key.name == r.key_name) v.key = &key;
    }
    if (v.key == nullptr || r.algorithm != kHmacSha256) {
        v.status = TsigStatus::badkey;
        return v;
    }
    // The digest covers the message as it was before signing: the original ID, ARCOUNT without
    // the TSIG, and the TSIG variables (RFC 8945 §4.3.1, §4.3.3).
    std::vector<uint8_t> digest(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(tsig_offset));
    dns::write_u16(digest.data(), r.original_id);
    dns::write_u16(digest.data() + 10, static_cast<uint16_t>(dns::read_u16(digest.data() + 10) - 1));
    put_variables(&digest, r.key_name, r.time_signed, r.fudge, r.error, r.other);
    const std::vector<uint8_t> expected = hmac_sha256(v.key->secret, digest);
    if (r.mac.size() != expected.size() || CRYPTO_memcmp(r.mac.data(), expected.data(), expected.size()) != 0) {
        v.status = TsigStatus::badsig;
        return v;
    }
    const uint64_t skew = now_seconds > r.time_signed ? now_seconds - r.time_signed : r.time_signed - now_seconds;
    v.status = skew > r.fudge ? TsigStatus::badtime : TsigStatus::ok;
    return v;
}

void TsigSigner::append(std::vector<uint8_t>* message, bool is_first, bool with_prior, uint16_t error,
                        std::span<const uint8_t> other) {
    std::vector<uint8_t> digest;
    digest.reserve(message->size() + 128);
    if (with_prior) {
        put_u16(&digest, static_cast<uint16_t>(prior_mac_.size()));
        put_bytes(&digest, prior_mac_);
    }
    put_bytes(&digest, std::span<const uint8_t>(*message));
    if (is_first) {
        put_variables(&digest, key_.name, now_seconds_, kFudgeSeconds, error, other);
    } else {
        // Later messages of a transfer: the timers only (RFC 8945 §5.3.1).
        put_u48(&digest, now_seconds_);
        put_u16(&digest, kFudgeSeconds);
    }
    prior_mac_ = hmac_sha256(key_.secret, digest);
    append_record(message, key_.name, now_seconds_, kFudgeSeconds, prior_mac_, dns::read_u16(message->data()), error,
                  other);
}

void TsigSigner::sign(std::vector<uint8_t>* message, uint16_t error, std::span<const uint8_t> other) {
    append(message, is_first_, /*with_prior=*/true, error, other);
    is_first_ = false;
}

void TsigSigner::sign_request(std::vector<uint8_t>* message) {
    append(message, /*is_first=*/true, /*with_prior=*/false, tsig_error::NOERROR, {});
    is_first_ = false;
}

void append_unsigned_tsig(std::vector<uint8_t>* message, const TsigRecord& request, uint16_t error) {
    append_record(message, request.key_name, request.time_signed, request.fudge, {}, dns::read_u16(message->data()),
                  error, {});
}

}  // namespace meridian::xfr

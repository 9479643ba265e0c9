#include "dnssec/sign.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <memory>
#include <new>
#include <vector>

#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "dnssec/private_key.hpp"

namespace meridian::dnssec {

namespace {

constexpr std::size_t kRrsigFixedSize = 18;  // type covered … key tag (RFC 4034 §3.1)
// The signed data of typical RRsets fits here, so signing them allocates nothing of ours.
constexpr std::size_t kStackDataSize = 4096;
constexpr std::size_t kStackSortSize = 128;  // RRsets up to this many records sort on the stack

struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};

// The length of a well-formed uncompressed wire name at the start of `name` and its label count
// (the root excluded, a leading "*" excluded: the RRSIG labels field, RFC 4034 §3.1.3); 0 when
// `name` is not exactly one such name.
std::size_t name_size(std::span<const uint8_t> name, uint8_t* labels) noexcept {
    std::size_t pos = 0;
    unsigned count = 0;
    bool wildcard = false;
    while (pos < name.size()) {
        const uint8_t length = name[pos];
        if (length == 0) {
            if (pos + 1 != name.size() || pos + 1 > dns::kMaxNameLength) return 0;
            if (labels != nullptr) *labels = static_cast<uint8_t>(count - (wildcard ? 1 : 0));
            return pos + 1;
        }
        if (length > dns::kMaxLabelLength || pos + 1 + length >= name.size()) return 0;
        if (count == 0 && length == 1 && name[pos + 1] == '*') wildcard = true;
        ++count;
        pos += 1 + std::size_t{length};
    }
    return 0;
}

bool equal_names_nocase(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](uint8_t x, uint8_t y) {
               return dns::to_lower_ascii(x) == dns::to_lower_ascii(y);
           });
}

// RFC 4034 §6.3: RDATA compared as left-justified unsigned octet sequences.
bool rdata_less(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}
bool rdata_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// Writes the data a signature covers (RFC 4034 §3.1.8.1): `prefix` (the RRSIG rdata without the
// signature) then each distinct RR in canonical form and order, with `ttl` (the original TTL).
// Uses `stack` when it fits, else `heap`; returns the bytes, or an empty span on failure.
std::span<const uint8_t> signed_data(std::span<const uint8_t> prefix, const RRsetToSign& rrset, uint32_t ttl,
                                     std::span<uint8_t> stack, std::vector<uint8_t>* heap) noexcept {
    const std::size_t n = rrset.rdatas.size();
    if (n == 0) return {};
    std::size_t total = prefix.size();
    for (const auto& rdata : rrset.rdatas) {
        if (rdata.size() > 0xffff) return {};
        total += rrset.owner.size() + 10 + rdata.size();
    }
    // The order: indices sorted by rdata, on the stack for the usual RRset sizes.
    std::array<uint32_t, kStackSortSize> stack_order{};
    std::vector<uint32_t> heap_order;
    std::span<uint32_t> order;
    try {
        if (n <= stack_order.size()) {
            order = std::span<uint32_t>(stack_order.data(), n);
        } else {
            heap_order.resize(n);
            order = heap_order;
        }
        if (total > stack.size()) heap->resize(total);
    } catch (const std::bad_alloc&) {
        return {};
    }
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return rdata_less(rrset.rdatas[a], rrset.rdatas[b]); });

    uint8_t* const start = total > stack.size() ? heap->data() : stack.data();
    uint8_t* out = std::copy(prefix.begin(), prefix.end(), start);
    for (std::size_t k = 0; k < n; ++k) {
        const auto& rdata = rrset.rdatas[order[k]];
        if (k > 0 && rdata_equal(rdata, rrset.rdatas[order[k - 1]])) continue;  // duplicates count once
        out = std::copy(rrset.owner.begin(), rrset.owner.end(), out);
        dns::lowercase_name(out - rrset.owner.size(), rrset.owner.size());  // cheap insurance
        dns::write_u16(out, rrset.type);
        dns::write_u16(out + 2, rrset.rrclass);
        dns::write_u32(out + 4, ttl);
        dns::write_u16(out + 8, static_cast<uint16_t>(rdata.size()));
        out = std::copy(rdata.begin(), rdata.end(), out + 10);
    }
    return {start, static_cast<std::size_t>(out - start)};
}

// The RRSIG rdata up to the signer's name included; returns its size (0: bad owner or signer).
std::size_t write_prefix(const Key& key, const RRsetToSign& rrset, uint32_t ttl, Window window,
                         std::span<uint8_t> out) noexcept {
    uint8_t labels = 0;
    if (name_size(rrset.owner, &labels) == 0 || name_size(key.owner, nullptr) == 0) return 0;
    const std::size_t size = kRrsigFixedSize + key.owner.size();
    if (out.size() < size) return 0;
    uint8_t* p = out.data();
    dns::write_u16(p, rrset.type);
    p[2] = static_cast<uint8_t>(key.algorithm);
    p[3] = labels;
    dns::write_u32(p + 4, ttl);
    dns::write_u32(p + 8, window.expiration);
    dns::write_u32(p + 12, window.inception);
    dns::write_u16(p + 16, key.tag);
    std::copy(key.owner.begin(), key.owner.end(), p + kRrsigFixedSize);
    dns::lowercase_name(p + kRrsigFixedSize, key.owner.size());
    return size;
}

// ECDSA signatures: OpenSSL speaks DER (SEQUENCE { INTEGER r, INTEGER s }), DNSSEC r‖s with
// each integer left-padded to 32 bytes (RFC 6605 §4).
bool der_to_raw(const uint8_t* der, std::size_t size, uint8_t raw[64]) noexcept {
    if (size < 8 || der[0] != 0x30 || der[1] != size - 2) return false;
    std::size_t pos = 2;
    for (std::size_t half = 0; half < 2; ++half) {
        if (pos + 2 > size || der[pos] != 0x02) return false;
        std::size_t length = der[pos + 1];
        pos += 2;
        if (length == 0 || pos + length > size) return false;
        const uint8_t* value = der + pos;
        pos += length;
        while (length > 0 && *value == 0) {
            ++value;
            --length;
        }
        if (length > 32) return false;
        uint8_t* target = raw + half * 32;
        std::fill(target, target + 32 - length, 0);
        std::copy(value, value + length, target + 32 - length);
    }
    return pos == size;
}

std::size_t raw_to_der(const uint8_t raw[64], uint8_t der[72]) noexcept {
    std::size_t pos = 2;
    for (std::size_t half = 0; half < 2; ++half) {
        const uint8_t* value = raw + half * 32;
        std::size_t length = 32;
        while (length > 1 && *value == 0) {
            ++value;
            --length;
        }
        const bool pad = (*value & 0x80) != 0;  // a positive INTEGER whose top bit is set
        der[pos] = 0x02;
        der[pos + 1] = static_cast<uint8_t>(length + (pad ? 1 : 0));
        pos += 2;
        if (pad) der[pos++] = 0;
        std::copy(value, value + length, der + pos);
        pos += length;
    }
    der[0] = 0x30;
    der[1] = static_cast<uint8_t>(pos - 2);
    return pos;
}

const EVP_MD* digest_of(Algorithm algorithm) noexcept {
    return algorithm == Algorithm::ecdsap256sha256 ? EVP_sha256() : nullptr;  // Ed25519: none (one-shot)
}

// The public half of `key` as an EVP_PKEY, from the DNSKEY field.
PkeyPtr public_pkey(const Key& key) noexcept {
    if (key.algorithm == Algorithm::ed25519) {
        if (key.public_key.size() != 32) return nullptr;
        return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.public_key.data(), 32));
    }
    if (key.public_key.size() != 64) return nullptr;
    uint8_t point[65];
    point[0] = 0x04;
    std::copy(key.public_key.begin(), key.public_key.end(), point + 1);
    char group[] = "prime256v1";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
        return nullptr;
    }
    return PkeyPtr(pkey);
}

}  // namespace

Window WindowPolicy::at(int64_t now) const noexcept {
    const int64_t period = refresh > 0 ? refresh : 1;
    int64_t start = now / period * period;
    if (start > now) start -= period;  // floor, not truncation, before the epoch
    return Window{static_cast<uint32_t>(static_cast<uint64_t>(start - backdate)),
                  static_cast<uint32_t>(static_cast<uint64_t>(start + validity))};
}

int64_t WindowPolicy::next_refresh(int64_t now) const noexcept {
    const int64_t period = refresh > 0 ? refresh : 1;
    int64_t start = now / period * period;
    if (start > now) start -= period;
    return start + period;
}

// One EVP_MD_CTX per call, freed on return. A thread_local context would save one small
// allocation, but EVP_DigestSignInit allocates the EVP_PKEY_CTX inside it afresh every time
// anyway, and a context living until thread exit could outlive OpenSSL's own cleanup at process
// exit. Signing runs only on a signature-cache miss, so the simple form wins.
std::size_t sign(const Key& key, const RRsetToSign& rrset, Window window, std::span<uint8_t> out) noexcept {
    if (!key.private_key) return 0;
    const std::size_t prefix_size = write_prefix(key, rrset, rrset.original_ttl, window, out);
    if (prefix_size == 0 || out.size() < prefix_size + kMaxSignatureSize) return 0;

    std::array<uint8_t, kStackDataSize> stack{};
    std::vector<uint8_t> heap;
    const std::span<const uint8_t> data = signed_data(std::span<const uint8_t>(out.data(), prefix_size), rrset,
                                                      rrset.original_ttl, stack, &heap);
    if (data.empty()) return 0;

    const MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_of(key.algorithm), nullptr, key.private_key->get()) != 1)
        return 0;
    uint8_t* const signature = out.data() + prefix_size;
    if (key.algorithm == Algorithm::ed25519) {
        std::size_t size = kMaxSignatureSize;
        if (EVP_DigestSign(ctx.get(), signature, &size, data.data(), data.size()) != 1 || size != 64) return 0;
        return prefix_size + size;
    }
    uint8_t der[80];
    std::size_t der_size = sizeof der;
    if (EVP_DigestSign(ctx.get(), der, &der_size, data.data(), data.size()) != 1) return 0;
    if (!der_to_raw(der, der_size, signature)) return 0;
    return prefix_size + 64;
}

bool verify(const Key& key, const RRsetToSign& rrset, std::span<const uint8_t> rrsig_rdata) noexcept {
    if (rrsig_rdata.size() < kRrsigFixedSize + 1) return false;
    const uint8_t* p = rrsig_rdata.data();
    uint8_t labels = 0;
    if (name_size(rrset.owner, &labels) == 0) return false;
    if (dns::read_u16(p) != rrset.type || p[2] != static_cast<uint8_t>(key.algorithm) || p[3] != labels ||
        dns::read_u16(p + 16) != key.tag) {
        return false;
    }
    // The signer's name: it must be the key's owner, and is signed in lower case.
    const auto after_fixed = rrsig_rdata.subspan(kRrsigFixedSize);
    std::size_t signer_size = 0;
    while (signer_size < after_fixed.size() && after_fixed[signer_size] != 0)
        signer_size += after_fixed[signer_size] + 1u;
    if (signer_size >= after_fixed.size()) return false;
    ++signer_size;
    if (!equal_names_nocase(after_fixed.first(signer_size), key.owner)) return false;
    const std::span<const uint8_t> signature = after_fixed.subspan(signer_size);
    if (signature.size() != 64) return false;

    const Window window{dns::read_u32(p + 12), dns::read_u32(p + 8)};
    uint8_t prefix[kRrsigFixedSize + dns::kMaxNameLength];
    const std::size_t prefix_size = write_prefix(key, rrset, dns::read_u32(p + 4), window, prefix);
    if (prefix_size == 0) return false;

    std::array<uint8_t, kStackDataSize> stack{};
    std::vector<uint8_t> heap;
    const std::span<const uint8_t> data = signed_data(std::span<const uint8_t>(prefix, prefix_size), rrset,
                                                      dns::read_u32(p + 4), stack, &heap);
    if (data.empty()) return false;

    const PkeyPtr pkey = public_pkey(key);
    const MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!pkey || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_of(key.algorithm), nullptr, pkey.get()) != 1)
        return false;
    if (key.algorithm == Algorithm::ed25519) {
        return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(), data.size()) == 1;
    }
    uint8_t der[72];
    const std::size_t der_size = raw_to_der(signature.data(), der);
    return EVP_DigestVerify(ctx.get(), der, der_size, data.data(), data.size()) == 1;
}

}  // namespace meridian::dnssec

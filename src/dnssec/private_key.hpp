// The private half of a DNSSEC key: an OpenSSL EVP_PKEY, owned (RAII). Internal to the dnssec
// layer (key.cpp makes these, sign.cpp signs with them); nothing outside src/dnssec/ includes it.
#pragma once

#include <openssl/evp.h>

namespace meridian::dnssec {

class PrivateKey {
public:
    explicit PrivateKey(EVP_PKEY* pkey) noexcept : pkey_(pkey) {}
    ~PrivateKey() { EVP_PKEY_free(pkey_); }
    PrivateKey(const PrivateKey&) = delete;
    PrivateKey& operator=(const PrivateKey&) = delete;
    PrivateKey(PrivateKey&&) = delete;
    PrivateKey& operator=(PrivateKey&&) = delete;

    // Never null. Used read-only once made, so one key may sign on several threads at once.
    EVP_PKEY* get() const noexcept { return pkey_; }

private:
    EVP_PKEY* pkey_;
};

}  // namespace meridian::dnssec

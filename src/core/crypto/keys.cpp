#include "core/crypto/keys.hpp"

#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/common/hex.hpp"
#include "core/crypto/hash.hpp"
#include "core/crypto/openssl_errors.hpp"

namespace ef::crypto {

namespace {

std::shared_ptr<EVP_PKEY> wrap(EVP_PKEY* key) {
  return {key, EVP_PKEY_free};
}

Result<std::shared_ptr<EVP_PKEY>> read_pem_public(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    return make_error(Errc::crypto,
                      "public key is not a PEM SubjectPublicKeyInfo: " + openssl_errors());
  }
  return wrap(key);
}

Result<std::string> spki_fingerprint(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return make_error(Errc::crypto, "cannot encode public key: " + openssl_errors());
  std::string digest =
      sha256_hex(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  return digest;
}

}  // namespace

std::string_view scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::ed25519:
      return "ed25519";
    case Scheme::ecdsa_sha2_nistp256:
      return "ecdsa-sha2-nistp256";
    case Scheme::rsassa_pss_sha256:
      return "rsassa-pss-sha256";
    case Scheme::rsa_pkcs1v15_sha256:
      return "rsa-pkcs1v15-sha256";
  }
  return "unknown";
}

Result<PublicKey> PublicKey::from_tuf(std::string_view keytype, std::string_view scheme,
                                      std::string_view public_value) {
  PublicKey out;
  if (keytype == "ed25519" && scheme == "ed25519") {
    if (!is_lower_hex(public_value, 64)) {
      return make_error(Errc::crypto, "ed25519 public key must be 64 lower-case hex characters");
    }
    const auto raw = *from_hex(public_value);
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
    if (key == nullptr)
      return make_error(Errc::crypto, "invalid ed25519 public key: " + openssl_errors());
    out.key_ = wrap(key);
    out.scheme_ = Scheme::ed25519;
  } else if ((keytype == "ecdsa" || keytype == "ecdsa-sha2-nistp256") &&
             scheme == "ecdsa-sha2-nistp256") {
    EF_TRY(out.key_, read_pem_public(public_value));
    char group[64] = {};
    if (EVP_PKEY_get_base_id(out.key_.get()) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(out.key_.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof group, nullptr) != 1 ||
        std::string_view(group) != "prime256v1") {
      return make_error(Errc::crypto, "ecdsa-sha2-nistp256 key is not a P-256 EC key");
    }
    out.scheme_ = Scheme::ecdsa_sha2_nistp256;
  } else if (keytype == "rsa" &&
             (scheme == "rsassa-pss-sha256" || scheme == "rsa-pkcs1v15-sha256")) {
    EF_TRY(out.key_, read_pem_public(public_value));
    if (EVP_PKEY_get_base_id(out.key_.get()) != EVP_PKEY_RSA ||
        EVP_PKEY_get_bits(out.key_.get()) < 2048) {
      return make_error(Errc::crypto, "rsa key is not an RSA key of at least 2048 bits");
    }
    out.scheme_ =
        scheme == "rsassa-pss-sha256" ? Scheme::rsassa_pss_sha256 : Scheme::rsa_pkcs1v15_sha256;
  } else {
    return make_error(Errc::unsupported, "unsupported key type/scheme \"" +
                                             std::string(keytype.substr(0, 32)) + "/" +
                                             std::string(scheme.substr(0, 32)) + "\"");
  }
  EF_TRY(out.fingerprint_, spki_fingerprint(out.key_.get()));
  return out;
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (!key_ || signature.empty()) return false;
  if (scheme_ == Scheme::ed25519 && signature.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = scheme_ == Scheme::ed25519 ? nullptr : EVP_sha256();
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key_.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  if (scheme_ == Scheme::rsassa_pss_sha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
      ERR_clear_error();
      return false;
    }
  } else if (scheme_ == Scheme::rsa_pkcs1v15_sha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      ERR_clear_error();
      return false;
    }
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  return ok == 1;
}

Result<PrivateKey> PrivateKey::generate_ed25519() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr)
    return make_error(Errc::crypto, "cannot generate an ed25519 key: " + openssl_errors());
  PrivateKey out;
  out.key_ = wrap(key);
  return out;
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return make_error(Errc::crypto, "not a PEM private key: " + openssl_errors());
  PrivateKey out;
  out.key_ = wrap(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
    return make_error(Errc::crypto, "private key is not an ed25519 key");
  }
  return out;
}

std::string PrivateKey::to_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string PrivateKey::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    // Signing with a loaded Ed25519 key fails only if memory runs out.
    throw std::bad_alloc();
  }
  return std::string(reinterpret_cast<char*>(sig), sig_len);
}

std::string PrivateKey::public_hex() const {
  unsigned char raw[32];
  size_t len = sizeof raw;
  EVP_PKEY_get_raw_public_key(key_.get(), raw, &len);
  return to_hex(std::string_view(reinterpret_cast<char*>(raw), len));
}

PublicKey PrivateKey::public_key() const {
  // from_tuf cannot fail for the public half of a valid ed25519 key.
  return *PublicKey::from_tuf("ed25519", "ed25519", public_hex());
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return out;
}

}  // namespace ef::crypto

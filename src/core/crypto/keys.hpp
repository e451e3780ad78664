// Public-key signatures for signed metadata, through OpenSSL 3.
//
// edgefleet signs with Ed25519. To read standard TUF repositories it also verifies the other
// schemes the TUF specification names: ECDSA P-256, RSASSA-PSS and RSA PKCS#1 v1.5 with SHA-256.
// A PublicKey is immutable and cheap to copy; verification is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

struct evp_pkey_st;

namespace ef::crypto {

enum class Scheme { ed25519, ecdsa_sha2_nistp256, rsassa_pss_sha256, rsa_pkcs1v15_sha256 };

std::string_view scheme_name(Scheme scheme);

class PublicKey {
 public:
  // Builds a key from TUF's key fields: keytype "ed25519" with a hex public value, or "ecdsa" /
  // "rsa" with a PEM SubjectPublicKeyInfo. Refuses a key whose type does not match its scheme.
  static Result<PublicKey> from_tuf(std::string_view keytype, std::string_view scheme,
                                    std::string_view public_value);

  // True only for a valid signature of message by this key under its scheme.
  bool verify(std::string_view message, std::string_view signature) const;

  Scheme scheme() const { return scheme_; }

  // SHA-256 of the DER SubjectPublicKeyInfo: equal for the same key material under any key id,
  // so a threshold can count each key once.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  std::shared_ptr<evp_pkey_st> key_;
  Scheme scheme_ = Scheme::ed25519;
  std::string fingerprint_;
  friend class PrivateKey;
};

// An Ed25519 private key: the only kind edgefleet creates.
class PrivateKey {
 public:
  static Result<PrivateKey> generate_ed25519();
  // Reads a PKCS#8 PEM private key (as written by to_pem); refuses anything but Ed25519.
  static Result<PrivateKey> from_pem(std::string_view pem);

  std::string to_pem() const;
  std::string sign(std::string_view message) const;
  // The raw 32-byte public key in hex: TUF's keyval.public for ed25519.
  std::string public_hex() const;
  PublicKey public_key() const;

 private:
  std::shared_ptr<evp_pkey_st> key_;
};

// Random bytes from OpenSSL's CSPRNG.
std::string random_bytes(std::size_t n);

}  // namespace ef::crypto

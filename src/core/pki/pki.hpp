// The fleet's X.509 certificates, on OpenSSL 3: the fleet CA that signs device certificates, the
// server's TLS certificate, and certificate signing requests (CSRs) from devices.
//
// Contract:
// - A device certificate is built by the CA from scratch: only the CSR's public key is used.
//   Subject CN = the device id, CA:FALSE, keyUsage digitalSignature, extendedKeyUsage clientAuth,
//   a random 128-bit serial, and a short validity. Requested extensions and extra names are never
//   copied; a CSR that asks to be a CA is refused outright (Errc::invalid_argument), as is one
//   whose signature does not verify (Errc::bad_signature) or whose key is weak.
// - Keys the CA accepts in CSRs: EC P-256/P-384, Ed25519, RSA of 2048 bits or more. The CA's own
//   key and the server key are EC P-256 (signatures with SHA-256).
// - Objects are immutable after creation and safe to use from several threads.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/common/time.hpp"

struct evp_pkey_st;
struct x509_st;

namespace ef::pki {

// Device ids: 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit. They become
// certificate names, URL parts and file names, so nothing else is allowed.
Status check_device_id(std::string_view id);

// A private key (PEM, PKCS#8).
struct KeyPair {
  std::string private_key_pem;
  std::string public_key_pem;
};
// An EC P-256 key: what devices and the server generate.
Result<KeyPair> generate_ec_key();

// A CSR for subject CN = common_name, signed with private_key_pem (for devices and tests).
Result<std::string> make_csr(std::string_view private_key_pem, std::string_view common_name);

// A parsed and checked CSR.
struct CertificateRequest {
  std::string subject_cn;       // "" when the CSR has no CN
  std::string public_key_pem;   // SubjectPublicKeyInfo
  std::string key_description;  // "EC P-256", "Ed25519", "RSA 3072"
};
// Parses a PEM CSR (at most 64 KiB), verifies its self-signature and checks its key and requested
// extensions as described above.
Result<CertificateRequest> parse_csr(std::string_view pem);

struct CertificateInfo {
  std::string subject_cn;
  std::string serial_hex;  // upper-case hex, as OpenSSL prints it
  std::string sha256_hex;  // of the DER encoding
  UtcTime not_before;
  UtcTime not_after;
};
// Reads the first certificate of a PEM.
Result<CertificateInfo> inspect_certificate(std::string_view pem);

struct IssuedCertificate {
  std::string certificate_pem;
  CertificateInfo info;
};

struct ServerIdentity {
  std::string private_key_pem;
  std::string certificate_pem;  // the server certificate followed by the CA certificate
  CertificateInfo info;
};

class CertificateAuthority {
 public:
  // A new self-signed CA (EC P-256, CA:TRUE, pathlen 0) valid for `validity` from now.
  static Result<CertificateAuthority> create(std::string_view common_name,
                                             std::chrono::seconds validity);
  // A CA from its PEM certificate and key; refuses a key that does not match.
  static Result<CertificateAuthority> load(std::string_view certificate_pem,
                                           std::string_view private_key_pem);
  // Loads DIR/ca.crt + DIR/ca.key, or creates them (key mode 0600) when neither exists.
  static Result<CertificateAuthority> load_or_create(const std::filesystem::path& dir,
                                                     std::string_view common_name);

  const std::string& certificate_pem() const { return certificate_pem_; }
  const CertificateInfo& info() const { return info_; }

  // Signs a device certificate for device_id (checked) with the CSR's public key, valid from
  // not_before to not_after.
  Result<IssuedCertificate> issue_device(const CertificateRequest& request,
                                         std::string_view device_id, UtcTime not_before,
                                         UtcTime not_after) const;

  // A fresh server key and certificate (serverAuth) for these DNS names and IP addresses.
  Result<ServerIdentity> issue_server(const std::vector<std::string>& dns_names,
                                      const std::vector<std::string>& ip_addresses,
                                      std::chrono::seconds validity) const;

 private:
  std::shared_ptr<evp_pkey_st> key_;
  std::shared_ptr<x509_st> certificate_;
  std::string certificate_pem_;
  CertificateInfo info_;
};

}  // namespace ef::pki

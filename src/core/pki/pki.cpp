#include "core/pki/pki.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "core/common/fs.hpp"
#include "core/common/hex.hpp"
#include "core/common/path.hpp"
#include "core/crypto/openssl_errors.hpp"

namespace ef::pki {

namespace {

constexpr std::size_t kMaxPemBytes = 64 * 1024;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

Error crypto_error(std::string_view what) {
  return make_error(Errc::crypto, std::string(what) + ": " + crypto::openssl_errors());
}

BioPtr memory_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<KeyPtr> read_private_key(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return make_error(Errc::too_large, "private key PEM too large");
  ERR_clear_error();
  auto bio = memory_bio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return crypto_error("cannot read the private key");
  return key;
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

std::string public_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  return bio_string(bio.get());
}

std::string cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_string(bio.get());
}

Result<X509Ptr> read_certificate(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return make_error(Errc::too_large, "certificate PEM too large");
  ERR_clear_error();
  auto bio = memory_bio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return crypto_error("cannot read the certificate");
  return cert;
}

Result<KeyPtr> new_ec_key() {
  ERR_clear_error();
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return crypto_error("cannot generate an EC P-256 key");
  return key;
}

UtcTime from_asn1(const ASN1_TIME* time) {
  struct tm parts {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return {};
  return UtcTime(std::chrono::seconds(timegm(&parts)));
}

CertificateInfo describe(X509* cert) {
  CertificateInfo out;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (n >= 0) {
      out.subject_cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
      OPENSSL_free(utf8);
    }
  }
  if (BnPtr serial{ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)}) {
    if (char* hex = BN_bn2hex(serial.get())) {
      out.serial_hex = hex;
      OPENSSL_free(hex);
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) {
    out.sha256_hex = to_hex(std::string_view(reinterpret_cast<char*>(digest), length));
  }
  out.not_before = from_asn1(X509_get0_notBefore(cert));
  out.not_after = from_asn1(X509_get0_notAfter(cert));
  return out;
}

// Adds one extension in OpenSSL's config syntax ("critical,CA:FALSE").
Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return crypto_error(std::string("cannot add extension ") + OBJ_nid2sn(nid));
  }
  return {};
}

Status set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return crypto_error("no random bytes for a serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and never shorter than 16 bytes
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
    return crypto_error("cannot set the serial number");
  }
  return {};
}

Status set_validity(X509* cert, UtcTime not_before, UtcTime not_after) {
  if (not_after <= not_before)
    return make_error(Errc::invalid_argument, "validity ends before it starts");
  if (!ASN1_TIME_set(X509_getm_notBefore(cert),
                     static_cast<time_t>(not_before.time_since_epoch().count())) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert),
                     static_cast<time_t>(not_after.time_since_epoch().count()))) {
    return crypto_error("cannot set the validity");
  }
  return {};
}

Status set_subject_cn(X509_NAME* name, std::string_view cn) {
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(std::string(cn).c_str()),
                                 -1, -1, 0) != 1) {
    return crypto_error("cannot set the subject name");
  }
  return {};
}

Status sign(X509* cert, EVP_PKEY* key) {
  const EVP_MD* md = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert, key, md) <= 0) return crypto_error("cannot sign the certificate");
  return {};
}

// Why a CSR key is unacceptable, or "" with a description in *description.
std::string judge_key(EVP_PKEY* key, std::string* description) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t length = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &length) != 1) {
        return "the EC key has no named curve";
      }
      const std::string name(group, length);
      if (name == "prime256v1" || name == "P-256") {
        *description = "EC P-256";
      } else if (name == "secp384r1" || name == "P-384") {
        *description = "EC P-384";
      } else {
        return "EC curve " + name + " is not accepted (use P-256 or P-384)";
      }
      return "";
    }
    case EVP_PKEY_ED25519:
      *description = "Ed25519";
      return "";
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < 2048)
        return "an RSA key of " + std::to_string(bits) + " bits is too weak (2048 or more)";
      *description = "RSA " + std::to_string(bits);
      return "";
    }
    default:
      return std::string("key type ") + OBJ_nid2sn(EVP_PKEY_get_base_id(key)) +
             " is not accepted (use EC P-256, Ed25519 or RSA 2048+)";
  }
}

}  // namespace

Status check_device_id(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return make_error(Errc::invalid_argument, "a device id must be 1 to 64 characters long");
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id.front())) {
    return make_error(Errc::invalid_argument,
                      "device id '" + printable(id) + "' must start with a letter or digit");
  }
  for (char c : id) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return make_error(
          Errc::invalid_argument,
          "device id '" + printable(id) + "' may only contain letters, digits, '.', '_' and '-'");
    }
  }
  return {};
}

Result<KeyPair> generate_ec_key() {
  EF_TRY(auto key, new_ec_key());
  return KeyPair{private_key_pem(key.get()), public_key_pem(key.get())};
}

Result<std::string> make_csr(std::string_view key_pem, std::string_view common_name) {
  EF_TRY(auto key, read_private_key(key_pem));
  ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  EF_CHECK(set_subject_cn(X509_REQ_get_subject_name(req.get()), common_name));
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) return crypto_error("cannot set the CSR key");
  const EVP_MD* md = EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_REQ_sign(req.get(), key.get(), md) <= 0) return crypto_error("cannot sign the CSR");
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return bio_string(bio.get());
}

namespace {

// Whether the request's extensions ask for a CA certificate (CA:TRUE, or keyCertSign/cRLSign).
bool asks_for_ca(X509_REQ* req) {
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  if (exts == nullptr) return false;
  bool wants_ca = false;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_basic_constraints) {
      if (auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext))) {
        wants_ca = wants_ca || bc->ca != 0;
        BASIC_CONSTRAINTS_free(bc);
      }
    } else if (nid == NID_key_usage) {
      if (auto* usage = static_cast<ASN1_BIT_STRING*>(X509V3_EXT_d2i(ext))) {
        wants_ca =
            wants_ca || ASN1_BIT_STRING_get_bit(usage, 5) || ASN1_BIT_STRING_get_bit(usage, 6);
        ASN1_BIT_STRING_free(usage);
      }
    }
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return wants_ca;
}

// The subject's common name as UTF-8, or "" when it has none.
std::string subject_common_name(X509_REQ* req) {
  X509_NAME* subject = X509_REQ_get_subject_name(req);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  unsigned char* utf8 = nullptr;
  const int n =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (n < 0) return "";
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

Result<CertificateRequest> parse_csr(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) {
    return make_error(Errc::too_large,
                      "the CSR is larger than " + std::to_string(kMaxPemBytes) + " bytes");
  }
  ERR_clear_error();
  auto bio = memory_bio(pem);
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return make_error(Errc::malformed, "the CSR is not a PEM certificate signing request");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return make_error(Errc::malformed, "the CSR has no readable public key");
  CertificateRequest out;
  if (auto problem = judge_key(key, &out.key_description); !problem.empty()) {
    return make_error(Errc::invalid_argument, "the CSR's key: " + problem);
  }
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return make_error(Errc::bad_signature,
                      "the CSR's signature does not verify with its own key (was it altered?)");
  }
  if (asks_for_ca(req.get())) {
    return make_error(Errc::invalid_argument,
                      "the CSR asks for a CA certificate (CA:TRUE or certificate signing); devices "
                      "only get end-entity client certificates");
  }
  out.subject_cn = subject_common_name(req.get());
  out.public_key_pem = public_key_pem(key);
  return out;
}

Result<CertificateInfo> inspect_certificate(std::string_view pem) {
  EF_TRY(auto cert, read_certificate(pem));
  return describe(cert.get());
}

Result<CertificateAuthority> CertificateAuthority::create(std::string_view common_name,
                                                          std::chrono::seconds validity) {
  EF_TRY(auto key, new_ec_key());
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  EF_CHECK(set_random_serial(cert.get()));
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  EF_CHECK(set_validity(cert.get(), now - std::chrono::minutes(5), now + validity));
  EF_CHECK(set_subject_cn(X509_get_subject_name(cert.get()), common_name));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  EF_CHECK(
      add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  EF_CHECK(add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  EF_CHECK(add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  EF_CHECK(sign(cert.get(), key.get()));
  return load(cert_to_pem(cert.get()), private_key_pem(key.get()));
}

Result<CertificateAuthority> CertificateAuthority::load(std::string_view cert_pem,
                                                        std::string_view key_pem) {
  EF_TRY(auto cert, read_certificate(cert_pem));
  EF_TRY(auto key, read_private_key(key_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return make_error(Errc::mismatch, "the CA key does not match the CA certificate");
  }
  if (X509_check_ca(cert.get()) == 0) {
    return make_error(Errc::invalid_argument, "the CA certificate is not a CA (no CA:TRUE)");
  }
  CertificateAuthority ca;
  ca.info_ = describe(cert.get());
  ca.certificate_pem_ = cert_to_pem(cert.get());
  ca.certificate_ = std::shared_ptr<X509>(cert.release(), X509_free);
  ca.key_ = std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::load_or_create(const std::filesystem::path& dir,
                                                                  std::string_view common_name) {
  const auto cert_path = dir / "ca.crt";
  const auto key_path = dir / "ca.key";
  std::error_code ec;
  const bool have_cert = std::filesystem::exists(cert_path, ec);
  const bool have_key = std::filesystem::exists(key_path, ec);
  if (have_cert != have_key) {
    return make_error(Errc::mismatch, "found only one of " + cert_path.string() + " and " +
                                          key_path.string() + "; restore the other from backup");
  }
  if (have_cert) {
    EF_TRY(auto cert_pem, read_file(cert_path, kMaxPemBytes));
    EF_TRY(auto key_pem, read_file(key_path, kMaxPemBytes));
    auto ca = load(cert_pem, key_pem);
    if (!ca) return std::move(ca).error().context("loading the fleet CA from " + dir.string());
    return ca;
  }
  EF_CHECK(make_dirs(dir, 0700));
  EF_TRY(auto ca, create(common_name, std::chrono::hours(24 * 365 * 20)));
  EF_CHECK(write_file_atomic(key_path, private_key_pem(ca.key_.get()), 0600));
  EF_CHECK(write_file_atomic(cert_path, ca.certificate_pem_, 0644));
  return ca;
}

Result<IssuedCertificate> CertificateAuthority::issue_device(const CertificateRequest& request,
                                                             std::string_view device_id,
                                                             UtcTime not_before,
                                                             UtcTime not_after) const {
  EF_CHECK(check_device_id(device_id));
  ERR_clear_error();
  auto bio = memory_bio(request.public_key_pem);
  KeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return crypto_error("cannot read the CSR's public key");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  EF_CHECK(set_random_serial(cert.get()));
  EF_CHECK(set_validity(cert.get(), not_before, not_after));
  EF_CHECK(set_subject_cn(X509_get_subject_name(cert.get()), device_id));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(certificate_.get()));
  X509_set_pubkey(cert.get(), key.get());
  EF_CHECK(
      add_extension(cert.get(), certificate_.get(), NID_basic_constraints, "critical,CA:FALSE"));
  EF_CHECK(
      add_extension(cert.get(), certificate_.get(), NID_key_usage, "critical,digitalSignature"));
  EF_CHECK(add_extension(cert.get(), certificate_.get(), NID_ext_key_usage, "clientAuth"));
  EF_CHECK(
      add_extension(cert.get(), certificate_.get(), NID_authority_key_identifier, "keyid:always"));
  EF_CHECK(sign(cert.get(), key_.get()));
  return IssuedCertificate{cert_to_pem(cert.get()), describe(cert.get())};
}

Result<ServerIdentity> CertificateAuthority::issue_server(
    const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses,
    std::chrono::seconds validity) const {
  EF_TRY(auto key, new_ec_key());
  std::string names;
  for (const auto& n : dns_names)
    names += (names.empty() ? "DNS:" : ",DNS:") + n;
  for (const auto& a : ip_addresses)
    names += (names.empty() ? "IP:" : ",IP:") + a;
  if (names.empty()) return make_error(Errc::invalid_argument, "a server certificate needs a name");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  EF_CHECK(set_random_serial(cert.get()));
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  EF_CHECK(set_validity(cert.get(), now - std::chrono::minutes(5), now + validity));
  EF_CHECK(set_subject_cn(X509_get_subject_name(cert.get()),
                          dns_names.empty() ? ip_addresses.front() : dns_names.front()));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(certificate_.get()));
  X509_set_pubkey(cert.get(), key.get());
  EF_CHECK(
      add_extension(cert.get(), certificate_.get(), NID_basic_constraints, "critical,CA:FALSE"));
  EF_CHECK(
      add_extension(cert.get(), certificate_.get(), NID_key_usage, "critical,digitalSignature"));
  EF_CHECK(add_extension(cert.get(), certificate_.get(), NID_ext_key_usage, "serverAuth"));
  EF_CHECK(add_extension(cert.get(), certificate_.get(), NID_subject_alt_name, names.c_str()));
  EF_CHECK(
      add_extension(cert.get(), certificate_.get(), NID_authority_key_identifier, "keyid:always"));
  EF_CHECK(sign(cert.get(), key_.get()));
  return ServerIdentity{private_key_pem(key.get()), cert_to_pem(cert.get()) + certificate_pem_,
                        describe(cert.get())};
}

}  // namespace ef::pki

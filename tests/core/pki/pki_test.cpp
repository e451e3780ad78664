#include "core/pki/pki.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace ef::pki {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

UtcTime now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

EVP_PKEY* read_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

X509* read_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

std::string req_pem(X509_REQ* req) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

// A CSR with the given extensions (OpenSSL config syntax), signed with key.
std::string hostile_csr(EVP_PKEY* key, const std::string& cn,
                        const std::vector<std::pair<int, std::string>>& extensions) {
  X509_REQ* req = X509_REQ_new();
  X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req, key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  for (const auto& [nid, value] : extensions) {
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, nid, value.c_str()));
  }
  if (!extensions.empty()) X509_REQ_add_extensions(req, exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req, key, EVP_sha256());
  std::string pem = req_pem(req);
  X509_REQ_free(req);
  return pem;
}

bool chains_to(const std::string& cert_pem, const std::string& ca_pem) {
  X509* cert = read_cert(cert_pem);
  X509* ca = read_cert(ca_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(cert);
  return ok;
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CertificateAuthority::create("test fleet CA", 24h * 365);
    ASSERT_TRUE(ca) << ca.error().message;
    ca_ = std::make_unique<CertificateAuthority>(std::move(*ca));
    auto key = generate_ec_key();
    ASSERT_TRUE(key);
    key_ = *key;
  }
  std::unique_ptr<CertificateAuthority> ca_;
  KeyPair key_;
};

TEST_F(PkiTest, IssuesAClientCertificateBoundToTheDeviceId) {
  auto csr_pem = make_csr(key_.private_key_pem, "cam-01");
  ASSERT_TRUE(csr_pem) << csr_pem.error().message;
  auto csr = parse_csr(*csr_pem);
  ASSERT_TRUE(csr) << csr.error().message;
  EXPECT_EQ(csr->subject_cn, "cam-01");
  EXPECT_EQ(csr->key_description, "EC P-256");
  auto issued = ca_->issue_device(*csr, "cam-01", now() - 1min, now() + 24h);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->info.subject_cn, "cam-01");
  EXPECT_EQ(issued->info.serial_hex.size(), 32u);
  EXPECT_TRUE(chains_to(issued->certificate_pem, ca_->certificate_pem()));
  X509* cert = read_cert(issued->certificate_pem);
  EXPECT_EQ(X509_check_ca(cert), 0);
  EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EVP_PKEY* device_key = read_key(key_.private_key_pem);
  EXPECT_EQ(X509_check_private_key(cert, device_key), 1);
  EVP_PKEY_free(device_key);
  X509_free(cert);
}

TEST_F(PkiTest, RefusesACsrAskingForACaCertificate) {
  EVP_PKEY* key = read_key(key_.private_key_pem);
  for (const auto& ext : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "keyCertSign"}}) {
    auto csr = parse_csr(hostile_csr(key, "cam-01", {ext}));
    ASSERT_FALSE(csr) << ext.second;
    EXPECT_EQ(csr.error().code, Errc::invalid_argument);
    EXPECT_NE(csr.error().message.find("CA certificate"), std::string::npos);
  }
  EVP_PKEY_free(key);
}

TEST_F(PkiTest, IgnoresRequestedNamesAndOtherExtensions) {
  EVP_PKEY* key = read_key(key_.private_key_pem);
  auto csr = parse_csr(hostile_csr(key, "cam-01",
                                   {{NID_subject_alt_name, "DNS:server.example,IP:10.0.0.1"},
                                    {NID_ext_key_usage, "serverAuth,codeSigning"}}));
  EVP_PKEY_free(key);
  ASSERT_TRUE(csr) << csr.error().message;
  auto issued = ca_->issue_device(*csr, "cam-01", now(), now() + 1h);
  ASSERT_TRUE(issued);
  X509* cert = read_cert(issued->certificate_pem);
  EXPECT_EQ(X509_get_ext_by_NID(cert, NID_subject_alt_name, -1), -1);
  EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<uint32_t>(XKU_SSL_CLIENT));
  X509_free(cert);
}

TEST_F(PkiTest, RefusesACsrWhoseSignatureDoesNotVerify) {
  auto csr_pem = make_csr(key_.private_key_pem, "cam-01");
  ASSERT_TRUE(csr_pem);
  // Swap in another public key after signing: the signature no longer matches.
  BIO* bio = BIO_new_mem_buf(csr_pem->data(), static_cast<int>(csr_pem->size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  auto other = generate_ec_key();
  EVP_PKEY* other_key = read_key(other->private_key_pem);
  X509_REQ_set_pubkey(req, other_key);
  auto csr = parse_csr(req_pem(req));
  X509_REQ_free(req);
  EVP_PKEY_free(other_key);
  ASSERT_FALSE(csr);
  EXPECT_EQ(csr.error().code, Errc::bad_signature);
}

TEST_F(PkiTest, RefusesWeakKeysAndGarbage) {
  EVP_PKEY* rsa = EVP_RSA_gen(1024);
  auto weak = parse_csr(hostile_csr(rsa, "cam-01", {}));
  EVP_PKEY_free(rsa);
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().message.find("too weak"), std::string::npos);

  EXPECT_EQ(parse_csr("not a csr").error().code, Errc::malformed);
  EXPECT_EQ(
      parse_csr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
          .error()
          .code,
      Errc::malformed);
  EXPECT_EQ(parse_csr(std::string(100000, 'A')).error().code, Errc::too_large);
}

TEST_F(PkiTest, AcceptsEd25519Csrs) {
  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_pubkey(req, ed);
  X509_REQ_sign(req, ed, nullptr);
  auto csr = parse_csr(req_pem(req));
  X509_REQ_free(req);
  EVP_PKEY_free(ed);
  ASSERT_TRUE(csr) << csr.error().message;
  EXPECT_EQ(csr->key_description, "Ed25519");
  EXPECT_EQ(csr->subject_cn, "");
  EXPECT_TRUE(ca_->issue_device(*csr, "cam-02", now(), now() + 1h));
}

TEST_F(PkiTest, DeviceIdsAreNamesNotPaths) {
  EXPECT_TRUE(check_device_id("cam-01.line_3"));
  for (const std::string& bad : std::vector<std::string>{
           "", "../x", "a/b", ".hidden", "-x", "a b", "x\n", std::string(65, 'a'), "caf\xc3\xa9"}) {
    EXPECT_FALSE(check_device_id(bad)) << bad;
  }
  auto csr = parse_csr(*make_csr(key_.private_key_pem, "x"));
  EXPECT_FALSE(ca_->issue_device(*csr, "../etc", now(), now() + 1h));
}

TEST_F(PkiTest, ServerCertificateNamesItsHostsAndCarriesTheChain) {
  auto server = ca_->issue_server({"localhost", "fleet.example"}, {"127.0.0.1"}, 24h);
  ASSERT_TRUE(server) << server.error().message;
  X509* cert = read_cert(server->certificate_pem);
  EXPECT_EQ(X509_check_host(cert, "fleet.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(cert, "other.example", 0, 0, nullptr), 0);
  X509_free(cert);
  EXPECT_NE(server->certificate_pem.find(ca_->certificate_pem()), std::string::npos);
}

TEST_F(PkiTest, LoadOrCreateKeepsTheSameCaAndAPrivateKeyFile) {
  const auto dir = fs::temp_directory_path() / ("ef-pki-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto first = CertificateAuthority::load_or_create(dir, "fleet");
  ASSERT_TRUE(first) << first.error().message;
  auto second = CertificateAuthority::load_or_create(dir, "fleet");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(first->certificate_pem(), second->certificate_pem());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  fs::remove(dir / "ca.key");
  EXPECT_EQ(CertificateAuthority::load_or_create(dir, "fleet").error().code, Errc::mismatch);
  fs::remove_all(dir);
}

TEST_F(PkiTest, LoadRefusesAKeyThatDoesNotMatch) {
  auto other = generate_ec_key();
  auto loaded = CertificateAuthority::load(ca_->certificate_pem(), other->private_key_pem);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::mismatch);
}

}  // namespace
}  // namespace ef::pki

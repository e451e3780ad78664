// The TLS listener with real certificates from src/pki and libcurl as the client.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/common/fs.hpp"
#include "core/http/server.hpp"
#include "core/http_client/http_client.hpp"
#include "core/pki/pki.hpp"
#include "raw_client.hpp"

namespace ef::http {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;

UtcTime now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto ca = pki::CertificateAuthority::create("fleet", 24h);
    ASSERT_TRUE(ca);
    ca_ = std::make_unique<pki::CertificateAuthority>(std::move(*ca));
    auto server = ca_->issue_server({"localhost"}, {"127.0.0.1"}, 24h);
    ASSERT_TRUE(server);
    ASSERT_TRUE(write_file_atomic(dir_ / "server.key", server->private_key_pem, 0600));
    ASSERT_TRUE(write_file_atomic(dir_ / "server.crt", server->certificate_pem));
    ASSERT_TRUE(write_file_atomic(dir_ / "ca.crt", ca_->certificate_pem()));

    Router router;
    router.add_sync(Verb::get, "/whoami", [](Request& r) {
      json::Json j = {{"tls", r.peer->tls}};
      if (const auto& cert = r.peer->client_certificate) {
        j["cn"] = cert->subject_cn;
        j["verified"] = cert->verified;
        j["error"] = cert->verify_error;
      }
      return Response::json(200, j);
    });
    Limits limits;
    limits.header_timeout = 500ms;
    limits.max_connections_per_source = 2;  // the tests here hold one or two at a time
    server_ = std::make_unique<Server>(context_, std::move(router), limits);
    auto tls = TlsContext::create({dir_ / "server.crt", dir_ / "server.key", dir_ / "ca.crt"});
    ASSERT_TRUE(tls) << tls.error().message;
    auto port = server_->listen_tls("127.0.0.1", 0, *tls);
    ASSERT_TRUE(port);
    port_ = *port;
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(context_);
      context_.run();
    });
  }

  void TearDown() override {
    server_->stop();
    context_.stop();
    thread_.join();
    server_.reset();
    fs::remove_all(dir_);
  }

  // Writes a client key and a certificate for cn, signed by ca, valid [from, to).
  http_client::TlsOptions client_cert(const pki::CertificateAuthority& ca, const std::string& cn,
                                      UtcTime from, UtcTime to) {
    auto key = pki::generate_ec_key();
    auto csr = pki::parse_csr(*pki::make_csr(key->private_key_pem, cn));
    auto cert = ca.issue_device(*csr, cn, from, to);
    EXPECT_TRUE(cert);
    const auto key_path = dir_ / (cn + ".key");
    const auto cert_path = dir_ / (cn + ".crt");
    EXPECT_TRUE(write_file_atomic(key_path, key->private_key_pem, 0600));
    EXPECT_TRUE(write_file_atomic(cert_path, cert->certificate_pem));
    return {(dir_ / "ca.crt").string(), cert_path.string(), key_path.string()};
  }

  json::Json whoami(const http_client::TlsOptions& tls) {
    http_client::HttpClient client;
    http_client::Options options;
    options.tls = tls;
    auto r = client.get("https://127.0.0.1:" + std::to_string(port_) + "/whoami", options);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) return {};
    EXPECT_EQ(r->status, 200);
    return json::Json::parse(r->body);
  }

  fs::path dir_;
  std::unique_ptr<pki::CertificateAuthority> ca_;
  asio::io_context context_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(TlsTest, ClientCertificateFromTheFleetCaIsVerified) {
  auto j = whoami(client_cert(*ca_, "cam-01", now() - 1h, now() + 1h));
  EXPECT_EQ(j["tls"], true);
  EXPECT_EQ(j["cn"], "cam-01");
  EXPECT_EQ(j["verified"], true);
}

TEST_F(TlsTest, NoClientCertificateStillConnects) {
  auto j = whoami({(dir_ / "ca.crt").string(), "", ""});
  EXPECT_EQ(j["tls"], true);
  EXPECT_FALSE(j.contains("cn"));
}

TEST_F(TlsTest, CertificateFromAnotherCaIsReportedUnverified) {
  auto rogue = pki::CertificateAuthority::create("rogue", 24h);
  ASSERT_TRUE(rogue);
  auto j = whoami(client_cert(*rogue, "cam-01", now() - 1h, now() + 1h));
  EXPECT_EQ(j["cn"], "cam-01");
  EXPECT_EQ(j["verified"], false);
  EXPECT_NE(j["error"].get<std::string>(), "");
}

TEST_F(TlsTest, ExpiredCertificateIsReportedUnverified) {
  auto j = whoami(client_cert(*ca_, "cam-02", now() - 48h, now() - 24h));
  EXPECT_EQ(j["verified"], false);
  EXPECT_EQ(j["error"], "certificate has expired");
}

TEST_F(TlsTest, KeepAliveOverTls) {
  http_client::HttpClient client;
  http_client::Options options;
  options.tls = client_cert(*ca_, "cam-03", now() - 1h, now() + 1h);
  const auto url = "https://127.0.0.1:" + std::to_string(port_) + "/whoami";
  for (int i = 0; i < 3; ++i) {
    auto r = client.get(url, options);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(TlsTest, SilentClientIsDroppedDuringTheHandshake) {
  auto raw = test::RawClient::tcp(port_);
  EXPECT_TRUE(raw.closed_within(3s));
  // Counted as cut at the header timeout (the refusal is counted before the socket closes).
  EXPECT_EQ(server_->refused(Refusal::header_timeout), 1u);
}

TEST_F(TlsTest, ConnectionOverThePerSourceBoundIsClosedBeforeAnyHandshake) {
  http_client::HttpClient client;  // keeps its connection open between requests
  http_client::Options options;
  options.tls = client_cert(*ca_, "cam-04", now() - 1h, now() + 1h);
  auto r = client.get("https://127.0.0.1:" + std::to_string(port_) + "/whoami", options);
  ASSERT_TRUE(r) << r.error().message;
  auto handshaking = test::RawClient::tcp(port_);  // holds the second place, mid-handshake
  for (int i = 0; i < 1000 && server_->connection_count() < 2; ++i)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(server_->connection_count(), 2u);

  const auto begin = std::chrono::steady_clock::now();
  auto extra = test::RawClient::tcp(port_);
  EXPECT_TRUE(extra.closed_within(3s));
  // At once, not at the 500 ms handshake deadline, and without a byte of TLS from the server.
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 400ms);
  EXPECT_TRUE(extra.pending().empty());
  EXPECT_EQ(server_->refused(Refusal::per_source), 1u);
  EXPECT_EQ(server_->refused(Refusal::header_timeout), 0u);

  r = client.get("https://127.0.0.1:" + std::to_string(port_) + "/whoami", options);
  ASSERT_TRUE(r) << r.error().message;  // the admitted device is still served
  EXPECT_EQ(r->status, 200);
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortIsDropped) {
  auto raw = test::RawClient::tcp(port_);
  raw.send("GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(raw.closed_within(3s));
}

TEST(TlsContextTest, RefusesAKeyThatDoesNotMatchTheCertificate) {
  const auto dir = fs::temp_directory_path() / ("ef-tlsctx-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto ca = pki::CertificateAuthority::create("fleet", 24h);
  auto server = ca->issue_server({"localhost"}, {}, 24h);
  auto other = pki::generate_ec_key();
  ASSERT_TRUE(write_file_atomic(dir / "server.crt", server->certificate_pem));
  ASSERT_TRUE(write_file_atomic(dir / "other.key", other->private_key_pem));
  auto tls = TlsContext::create({dir / "server.crt", dir / "other.key", std::nullopt});
  ASSERT_FALSE(tls);
  EXPECT_FALSE(TlsContext::create({dir / "missing.crt", dir / "other.key", std::nullopt}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ef::http

// NginxPeer: the configuration refuses what it cannot write safely, and the nginx it starts
// answers only the right device with the right ETag with 304 (and keeps the connection), refuses
// the rest as edgefleet would, and is gone when the peer goes. Certificates made with openssl.
#include "nginx_peer.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "run_command.hpp"
#include "temp_dir_test.hpp"

namespace ef::bench {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

NginxSettings settings(const fs::path& dir) {
  NginxSettings s;
  s.dir = dir / "nginx";
  s.certificate = dir / "server.crt";
  s.key = dir / "server.key";
  s.client_ca = dir / "ca.crt";
  s.workers = 2;
  s.etags = {{"dev-a", "\"e-a\""}, {"dev-b", "\"e-b\""}};
  s.cache_control = "no-store";
  return s;
}

TEST(NginxConfig, WritesTheChoicesItPromises) {
  auto config = nginx_config(settings("/tmp/x"), 4443);
  ASSERT_TRUE(config) << config.error().message;
  for (const char* line :
       {"worker_processes 2;", "listen 127.0.0.1:4443 ssl;", "ssl_verify_client on;",
        "ssl_client_certificate '/tmp/x/ca.crt';", "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_session_tickets off;", "'dev-a' '\"e-a\"';", "add_header Cache-Control 'no-store'",
        "daemon off;", "access_log off;", "return 304;",
        "worker_connections 2112;"})  // 2 x 1024 + 64: nginx drains idle ones at 15/16
    EXPECT_NE(config->find(line), std::string::npos) << line;
}

TEST(NginxConfig, RefusesWhatCannotStandInIt) {
  auto with = [](auto change) {
    auto s = settings("/tmp/x");
    change(s);
    return nginx_config(s, 4443).has_value();
  };
  EXPECT_FALSE(with([](auto& s) { s.etags["dev-c"] = "\"x';\""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags["dev-c"] = "\"$host\""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags["dev-c"] = "\"a\nb\""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags["dev-c"] = ""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags["~.*"] = "\"x\""; }));
  // map's keywords stay keywords when quoted: "include" would read a file.
  EXPECT_FALSE(with([](auto& s) { s.etags["default"] = "\"x\""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags["include"] = "\"x\""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags["a b"] = "\"x\""; }));
  EXPECT_FALSE(with([](auto& s) { s.etags[""] = "\"x\""; }));
  EXPECT_FALSE(with([](auto& s) { s.cache_control = ""; }));
  EXPECT_FALSE(with([](auto& s) { s.cache_control = "no-store' always; return 200; #"; }));
  EXPECT_FALSE(with([](auto& s) { s.dir = "/tmp/a'b"; }));
  EXPECT_FALSE(with([](auto& s) { s.workers = 0; }));
  EXPECT_FALSE(with([](auto& s) { s.status = 1000; }));
}

class NginxPeerTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (!nginx_version()) GTEST_SKIP() << nginx_version().error().message;
    certificate("ca", "/CN=test-ca", "");
    certificate("server", "/CN=localhost", "ca");
    certificate("dev-a", "/O=edgefleet/CN=dev-a", "ca");
    certificate("dev-b", "/CN=dev-b", "ca");
    certificate("other-ca", "/CN=other-ca", "");
    certificate("stranger", "/CN=dev-a", "other-ca");
  }

  // A P-256 key and certificate: self-signed without an issuer, else signed by it.
  void certificate(const std::string& name, const std::string& subject, const std::string& by) {
    const std::string d = dir_.string() + "/";
    const std::string key =
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d + name +
        ".key -subj " + subject + " -days 2";
    std::string cmd = by.empty() ? key + " -x509 -out " + d + name + ".crt"
                                 : key + " -out " + d + name + ".csr && openssl x509 -req -in " +
                                       d + name + ".csr -CA " + d + by + ".crt -CAkey " + d + by +
                                       ".key -CAcreateserial -days 2 -out " + d + name + ".crt";
    if (name == "server") {
      write("san.ext", "subjectAltName=IP:127.0.0.1\n");
      cmd += " -extfile " + d + "san.ext";
    }
    auto r = run_command(cmd);
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  }

  // Status line and headers of each answer (curl -D), over one connection when it is kept.
  std::string curl(const std::string& args, const std::string& device_path = "dev-a") {
    const std::string d = dir_.string() + "/";
    auto r = run_command("curl -sS -o /dev/null -D - --cacert " + d + "ca.crt " + args +
                         " https://127.0.0.1:" + std::to_string(peer_->port()) +
                         "/api/v1/devices/" + device_path + "/checkin?wait=0");
    return r.out + r.err;
  }
  std::string as(const std::string& device) {
    const std::string d = dir_.string() + "/";
    return "--cert " + d + device + ".crt --key " + d + device + ".key ";
  }

  std::unique_ptr<NginxPeer> peer_;
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(NginxPeerTest, AnswersTheDeviceAsEdgefleetDoesAndRefusesTheRest) {
  auto started = NginxPeer::start(settings(dir_));
  ASSERT_TRUE(started) << started.error().message;
  peer_ = std::move(*started);
  ASSERT_EQ(peer_->workers().size(), 2u);

  const std::string body = "-X POST -H 'Content-Type: application/json' --data '{\"a\":1}' ";
  const std::string unchanged = curl(as("dev-a") + body + "-H 'If-None-Match: \"e-a\"'");
  EXPECT_TRUE(has(unchanged, "HTTP/1.1 304")) << unchanged;
  EXPECT_TRUE(has(unchanged, "ETag: \"e-a\"")) << unchanged;
  EXPECT_TRUE(has(unchanged, "Cache-Control: no-store")) << unchanged;

  EXPECT_TRUE(has(curl(as("dev-a") + body), "HTTP/1.1 200")) << "no If-None-Match";
  EXPECT_TRUE(has(curl(as("dev-a") + body + "-H 'If-None-Match: \"e-b\"'"), "HTTP/1.1 200"));
  EXPECT_TRUE(has(curl(as("dev-b") + body + "-H 'If-None-Match: \"e-a\"'"), "HTTP/1.1 403"))
      << "another device's certificate";
  EXPECT_TRUE(has(curl(as("stranger") + body + "-H 'If-None-Match: \"e-a\"'"), "HTTP/1.1 400"))
      << "a certificate of another CA";
  EXPECT_TRUE(has(curl(body + "-H 'If-None-Match: \"e-a\"'"), "HTTP/1.1 400")) << "no certificate";
  EXPECT_TRUE(has(curl(as("dev-a") + "-H 'If-None-Match: \"e-a\"'"), "HTTP/1.1 405")) << "GET";
  EXPECT_TRUE(has(curl(as("dev-a") + body, "dev-z"), "HTTP/1.1 404")) << "unknown device";
}

TEST_F(NginxPeerTest, KeepsTheConnectionAfterABodyAndIsGoneWithThePeer) {
  auto started = NginxPeer::start(settings(dir_));
  ASSERT_TRUE(started) << started.error().message;
  peer_ = std::move(*started);
  const std::string url =
      "https://127.0.0.1:" + std::to_string(peer_->port()) + "/api/v1/devices/dev-a/checkin";
  const std::string d = dir_.string() + "/";
  // Three POSTs with a body on one connection: every one 304, one TLS connection in all.
  auto r = run_command("curl -sS -o /dev/null -w '%{http_code} %{num_connects}\\n' --cacert " + d +
                       "ca.crt " + as("dev-a") + "-H 'If-None-Match: \"e-a\"' --data-binary @" + d +
                       "ca.crt " + url + " " + url + " " + url);
  EXPECT_EQ(r.out, "304 1\n304 0\n304 0\n") << r.err;

  const pid_t master = peer_->master();
  const std::vector<pid_t> workers = peer_->workers();
  peer_.reset();
  EXPECT_NE(::kill(master, 0), 0);
  for (const pid_t w : workers)
    EXPECT_FALSE(fs::exists("/proc/" + std::to_string(w))) << "worker " << w;
  EXPECT_FALSE(fs::exists(dir_ / "nginx/nginx.pid"));
}

TEST_F(NginxPeerTest, SaysWhyNginxDidNotStart) {
  auto s = settings(dir_);
  s.key = dir_ / "missing.key";
  auto started = NginxPeer::start(s);
  ASSERT_FALSE(started);
  EXPECT_TRUE(has(started.error().message, "did not start")) << started.error().message;
  EXPECT_TRUE(has(started.error().message, "missing.key")) << started.error().message;
}

}  // namespace
}  // namespace ef::bench

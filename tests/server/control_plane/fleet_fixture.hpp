// A control plane running in this process on 127.0.0.1 (ephemeral port, temporary data folder),
// with helpers to act as an operator (bearer token) or as a device (enrolled over real TLS with
// its own key and CSR).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "core/common/fs.hpp"
#include "core/http_client/http_client.hpp"
#include "core/pki/pki.hpp"
#include "postgres_cluster.hpp"
#include "server/control_plane/control_plane.hpp"

namespace ef::test {

namespace fs = std::filesystem;

struct ApiResponse {
  long status = 0;
  json::Json body;
  std::string raw;
  std::map<std::string, std::string> headers;
};

class FleetFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-fleet-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.data_dir = dir_ / "data";
    // SQLite in the data folder, or (EF_TEST_DATABASE=postgresql) a fresh PostgreSQL database.
    auto database = ef::testing::test_database_url();
    ASSERT_TRUE(database) << database.error().message;
    config_.database = *database;
    config_.listen_host = "127.0.0.1";
    config_.listen_port = 0;
    config_.enrollment.max_failures = 1000;
    configure(config_);
    start();
  }

  void TearDown() override {
    stop();
    fs::remove_all(dir_);
  }

  // Tests adjust the configuration here before the server starts.
  virtual void configure(control_plane::Config&) {}

  void start() {
    context_ = std::make_unique<boost::asio::io_context>();
    auto plane = control_plane::ControlPlane::start(*context_, config_);
    ASSERT_TRUE(plane) << plane.error().message;
    plane_ = std::move(*plane);
    if (plane_->initial_admin_token()) admin_ = *plane_->initial_admin_token();
    base_ = "https://127.0.0.1:" + std::to_string(plane_->port());
    ca_file_ = (config_.data_dir / "pki" / "ca.crt").string();
    thread_ = std::thread([this] { context_->run(); });
  }

  void stop() {
    if (!plane_) return;
    std::promise<void> stopped;
    boost::asio::post(*context_, [&] {
      plane_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    thread_.join();  // run() returns once every connection has ended
    plane_.reset();
    context_.reset();
  }

  ApiResponse call(const std::string& method, const std::string& path,
                   const json::Json& body = nullptr, const std::string& token = "",
                   const http_client::TlsOptions* device = nullptr,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    return call_at(base_, method, path, body, token, device, std::move(headers));
  }

  // The same, on the server at base ("https://host:port").
  ApiResponse call_at(const std::string& base, const std::string& method, const std::string& path,
                      const json::Json& body = nullptr, const std::string& token = "",
                      const http_client::TlsOptions* device = nullptr,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http_client::HttpClient client;
    http_client::Options options;
    options.tls.ca_file = ca_file_;
    if (device) options.tls = *device;
    options.bearer_token = token;
    options.headers = std::move(headers);
    options.total_timeout = std::chrono::seconds(60);
    const std::string text = body.is_null() ? "" : body.dump();
    auto r =
        client.request(method, base + path, text, text.empty() ? "" : "application/json", options);
    EXPECT_TRUE(r) << method << " " << path << ": " << (r ? "" : r.error().message);
    ApiResponse out;
    if (!r) return out;
    out.status = r->status;
    out.raw = r->body;
    out.headers = r->headers;
    if (!r->body.empty() && r->body.front() == '{') out.body = json::Json::parse(r->body);
    return out;
  }

  ApiResponse raw_call(const std::string& method, const std::string& path, const std::string& body,
                       const std::string& content_type, const std::string& token = "") {
    http_client::HttpClient client;
    http_client::Options options;
    options.tls.ca_file = ca_file_;
    options.bearer_token = token;
    auto r = client.request(method, base_ + path, body, content_type, options);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    ApiResponse out;
    if (!r) return out;
    out.status = r->status;
    out.raw = r->body;
    if (!r->body.empty() && r->body.front() == '{') out.body = json::Json::parse(r->body);
    return out;
  }

  // Registers a device and returns its enrollment token.
  std::string add_device(const std::string& id, json::Json extra = json::Json::object()) {
    extra["id"] = id;
    auto r = call("POST", "/api/v1/devices", extra, admin_);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("enrollment_token", "");
  }

  struct DeviceKeys {
    std::string key_pem;
    std::string csr_pem;
  };
  DeviceKeys device_keys(const std::string& cn) {
    auto key = pki::generate_ec_key();
    auto csr = pki::make_csr(key->private_key_pem, cn);
    return {key->private_key_pem, *csr};
  }

  // Writes a device's key and certificate and returns TLS options that present them.
  http_client::TlsOptions write_identity(const std::string& name, const std::string& key_pem,
                                         const std::string& cert_pem) {
    const auto key = dir_ / (name + ".key");
    const auto cert = dir_ / (name + ".crt");
    EXPECT_TRUE(write_file_atomic(key, key_pem, 0600));
    EXPECT_TRUE(write_file_atomic(cert, cert_pem));
    return {ca_file_, cert.string(), key.string()};
  }

  // Registers and enrols a device; returns its TLS identity.
  http_client::TlsOptions enrolled_device(const std::string& id,
                                          json::Json extra = json::Json::object()) {
    const auto token = add_device(id, std::move(extra));
    auto keys = device_keys(id);
    auto r = call("POST", "/api/v1/enroll",
                  {{"device_id", id}, {"token", token}, {"csr", keys.csr_pem}});
    EXPECT_EQ(r.status, 200) << r.raw;
    return write_identity(id, keys.key_pem, r.body.value("certificate", ""));
  }

  // The fleet CA from the data folder (to stage certificates the server would never issue).
  pki::CertificateAuthority fleet_ca() {
    auto ca =
        pki::CertificateAuthority::load(*read_file(config_.data_dir / "pki" / "ca.crt", 1 << 20),
                                        *read_file(config_.data_dir / "pki" / "ca.key", 1 << 20));
    EXPECT_TRUE(ca);
    return std::move(*ca);
  }

  control_plane::Config config_;
  fs::path dir_;
  std::unique_ptr<boost::asio::io_context> context_;
  std::unique_ptr<control_plane::ControlPlane> plane_;
  std::thread thread_;
  std::string admin_;
  std::string base_;
  std::string ca_file_;
};

}  // namespace ef::test

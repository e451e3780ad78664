#include "server/enrollment/enrollment.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"
#include "core/crypto/hash.hpp"

namespace ef::enrollment {
namespace {

using http::Verb;

class EnrollmentTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    std::filesystem::create_directories(dir_ / "pki");
    auto ca = pki::CertificateAuthority::load_or_create(dir_ / "pki", "test CA");
    ASSERT_TRUE(ca) << ca.error().message;
    ca_.emplace(std::move(*ca));
    log_ = std::make_unique<audit::AuditLog>(*store_);
    Settings settings;
    settings.max_failures = 3;
    add_routes(router_, {*store_, *ca_, *log_, settings,
                         [this](std::string_view outcome) { outcomes_.emplace_back(outcome); }});
  }

  std::string issue_token(const std::string& device_id,
                          std::chrono::seconds ttl = std::chrono::hours(1)) {
    const std::string secret = "eet_" + device_id + "-secret";
    const auto now = utc_now();
    EXPECT_TRUE(store_->add_enrollment_token(
        {crypto::sha256_hex(secret), device_id, now, now + ttl, std::nullopt}));
    return secret;
  }

  static std::string csr_for(const std::string& cn) {
    auto key = pki::generate_ec_key();
    return *pki::make_csr(key->private_key_pem, cn);
  }

  http::Response enroll(const json::Json& body) {
    auto r = test::make_request(Verb::post, "/api/v1/enroll", body.dump());
    return test::call_route(router_, r);
  }

  std::optional<pki::CertificateAuthority> ca_;
  std::unique_ptr<audit::AuditLog> log_;
  http::Router router_;
  std::vector<std::string> outcomes_;
};

TEST_F(EnrollmentTest, AValidTokenAndCsrGiveACertificateOnce) {
  add_device("cam-01");
  const auto token = issue_token("cam-01");
  const json::Json body = {{"device_id", "cam-01"}, {"token", token}, {"csr", csr_for("cam-01")}};
  auto first = enroll(body);
  ASSERT_EQ(first.status, 200u) << first.body;
  auto info = pki::inspect_certificate(test::body_of(first)["certificate"].get<std::string>());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->subject_cn, "cam-01");
  EXPECT_EQ(store_->device("cam-01")->status, store::DeviceStatus::active);
  EXPECT_EQ(store_->audit(0, 10)->back().action, "device.enroll");

  auto again = enroll({{"device_id", "cam-01"}, {"token", token}, {"csr", csr_for("cam-01")}});
  EXPECT_EQ(again.status, 401u);
  EXPECT_EQ(test::error_code(again), "token_used");
  EXPECT_EQ(outcomes_, (std::vector<std::string>{"ok", "refused"}));
}

TEST_F(EnrollmentTest, RefusalsChangeNothing) {
  add_device("cam-01");
  add_device("cam-02");
  const auto token = issue_token("cam-01");
  // A token for another device, and a CSR naming another device.
  EXPECT_EQ(enroll({{"device_id", "cam-02"}, {"token", token}, {"csr", csr_for("cam-02")}}).status,
            403u);
  EXPECT_EQ(enroll({{"device_id", "cam-01"}, {"token", token}, {"csr", csr_for("cam-02")}}).status,
            400u);
  EXPECT_EQ(enroll({{"device_id", "cam-01"}, {"token", token}, {"csr", "not a csr"}}).status, 400u);
  EXPECT_FALSE(store_->enrollment_token(crypto::sha256_hex(token))->used_at);
  EXPECT_EQ(store_->device("cam-01")->status, store::DeviceStatus::registered);
  EXPECT_TRUE(store_->audit(0, 10)->empty());
}

TEST_F(EnrollmentTest, ExpiredTokensAndRevokedDevicesAreRefused) {
  add_device("cam-01");
  const auto expired = issue_token("cam-01", std::chrono::seconds(-1));
  auto r = enroll({{"device_id", "cam-01"}, {"token", expired}, {"csr", csr_for("cam-01")}});
  EXPECT_EQ(test::error_code(r), "token_expired");
  // Revoking voids a device's tokens; one issued afterwards (a race) still meets the check.
  add_device("cam-02");
  ASSERT_TRUE(store_->revoke_device("cam-02", utc_now()));
  const auto token = issue_token("cam-02");
  r = enroll({{"device_id", "cam-02"}, {"token", token}, {"csr", csr_for("cam-02")}});
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(test::error_code(r), "device_revoked");
}

TEST_F(EnrollmentTest, MalformedBodiesAreRefusedAndCountTowardsTheLimit) {
  auto broken = test::make_request(Verb::post, "/api/v1/enroll", "{");
  EXPECT_EQ(test::error_code(test::call_route(router_, broken)), "malformed_json");
  for (const std::string body : {R"({"device_id": 5, "token": "x"})", R"({"token": "x"})",
                                 R"({"device_id": "../etc", "token": "x"})"}) {
    auto r = test::make_request(Verb::post, "/api/v1/enroll", body);
    const auto answer = test::call_route(router_, r);
    EXPECT_EQ(answer.status, 400u) << body;
  }
  // Three refusals from this address (max_failures = 3): a fourth attempt waits.
  auto r = enroll({{"device_id", "cam-01"}, {"token", "eet_guess"}});
  EXPECT_EQ(r.status, 429u);
  EXPECT_FALSE(r.header("Retry-After").empty());
}

TEST_F(EnrollmentTest, GuessingTokensForOneDeviceIsThrottled) {
  add_device("cam-01");
  for (int i = 0; i < 3; ++i) {
    auto r = enroll({{"device_id", "cam-01"}, {"token", "eet_guess" + std::to_string(i)}});
    EXPECT_EQ(r.status, 401u);
  }
  // Even the right token now waits: the guesses used up the device's allowance.
  const auto token = issue_token("cam-01");
  auto r = enroll({{"device_id", "cam-01"}, {"token", token}, {"csr", csr_for("cam-01")}});
  EXPECT_EQ(r.status, 429u);
}

}  // namespace
}  // namespace ef::enrollment

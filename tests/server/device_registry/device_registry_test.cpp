#include "server/device_registry/device_registry.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"
#include "core/crypto/hash.hpp"

namespace ef::device_registry {
namespace {

using http::Verb;

UtcTime seconds_at(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

class DeviceRegistryTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auth_ = std::make_unique<operator_auth::OperatorAuth>(*store_);
    log_ = std::make_unique<audit::AuditLog>(*store_);
    operator_ = auth_->create_token("ops", store::Role::operator_)->secret;
    reader_ = auth_->create_token("viewer", store::Role::read_only)->secret;
    add_routes(router_, {*store_, *auth_, *log_, hub_, presence_, {}});
  }

  http::Response call(Verb method, const std::string& path, const std::string& body = "",
                      const std::string& token = "") {
    auto r = test::make_request(method, path, body, token.empty() ? operator_ : token);
    return test::call_route(router_, r);
  }

  std::unique_ptr<operator_auth::OperatorAuth> auth_;
  std::unique_ptr<audit::AuditLog> log_;
  desired_state::ChangeHub hub_;
  Presence presence_;
  http::Router router_;
  std::string operator_, reader_;
};

TEST_F(DeviceRegistryTest, RegisteringGivesAOneTimeTokenStoredAsItsHash) {
  auto r = call(Verb::post, "/api/v1/devices",
                R"({"id": "cam-01", "site": "plant-a", "labels": {"line": "3"}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto j = test::body_of(r);
  const auto token = j["enrollment_token"].get<std::string>();
  EXPECT_EQ(token.rfind("eet_", 0), 0u);
  EXPECT_EQ(token.size(), 4u + 32u);
  auto stored = store_->enrollment_token(crypto::sha256_hex(token));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->device_id, "cam-01");
  EXPECT_EQ(j["device"]["site"], "plant-a");
  EXPECT_EQ(j["device"]["connectivity"], "never seen");
  EXPECT_EQ(store_->audit(0, 10)->back().action, "device.add");
  EXPECT_EQ(call(Verb::post, "/api/v1/devices", R"({"id": "cam-01"})").status, 409u);
}

TEST_F(DeviceRegistryTest, RefusesHostileRegistrationsAndStoresNothing) {
  const std::string long_text(257, 'x');
  json::Json many_labels = json::Json::object();
  for (int i = 0; i < 65; ++i)
    many_labels["k" + std::to_string(i)] = "v";
  for (const std::string& body : {
           std::string("{\"id\": \"cam-01\""),
           std::string(R"({"id": "../cam"})"),
           std::string(R"({"id": ""})"),
           std::string(R"({"id": 7})"),
           std::string(R"({"site": "a"})"),
           std::string(R"({"id": "cam-01", "site": ")") + long_text + "\"}",
           std::string(R"({"id": "cam-01", "labels": ["a"]})"),
           std::string(R"({"id": "cam-01", "labels": {"a": 1}})"),
           json::Json{{"id", "cam-01"}, {"labels", many_labels}}.dump(),
           std::string(R"({"id": "cam-01", "token_ttl_seconds": 0})"),
           std::string(R"({"id": "cam-01", "token_ttl_seconds": 99999999})"),
       }) {
    EXPECT_EQ(call(Verb::post, "/api/v1/devices", body).status, 400u) << body;
  }
  EXPECT_TRUE(store_->devices({})->empty());
  EXPECT_TRUE(store_->audit(0, 10)->empty());
}

TEST_F(DeviceRegistryTest, ReadersMayReadButNotChange) {
  add_device("cam-01");
  EXPECT_EQ(call(Verb::get, "/api/v1/devices", "", reader_).status, 200u);
  EXPECT_EQ(call(Verb::get, "/api/v1/devices/cam-01", "", reader_).status, 200u);
  EXPECT_EQ(call(Verb::post, "/api/v1/devices/cam-01/revoke", "", reader_).status, 403u);
  EXPECT_EQ(call(Verb::patch, "/api/v1/devices/cam-01", R"({"site": "b"})", reader_).status, 403u);
  EXPECT_EQ(call(Verb::get, "/api/v1/devices", "", "eft_" + std::string(64, 'f')).status, 401u);
  EXPECT_EQ(store_->device("cam-01")->status, store::DeviceStatus::registered);
}

TEST_F(DeviceRegistryTest, UpdateChangesOnlyOperatorFields) {
  add_device("cam-01", "plant-a");
  EXPECT_EQ(call(Verb::patch, "/api/v1/devices/cam-01", R"({"status": "active"})").status, 400u);
  auto r = call(Verb::patch, "/api/v1/devices/cam-01", R"({"cell": "line-9"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto d = store_->device("cam-01");
  EXPECT_EQ(d->cell, "line-9");
  EXPECT_EQ(d->site, "plant-a");
  EXPECT_EQ(call(Verb::patch, "/api/v1/devices/ghost", R"({"cell": "x"})").status, 404u);
}

TEST_F(DeviceRegistryTest, RevokingIsFinalAndVoidsNewTokens) {
  add_device("cam-01");
  auto r = call(Verb::post, "/api/v1/devices/cam-01/revoke");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(test::body_of(r)["status"], "revoked");
  EXPECT_EQ(test::body_of(r)["connectivity"], "revoked");
  EXPECT_EQ(call(Verb::post, "/api/v1/devices/cam-01/revoke").status, 409u);
  EXPECT_EQ(call(Verb::post, "/api/v1/devices/cam-01/enrollment-token").status, 409u);
  EXPECT_EQ(call(Verb::post, "/api/v1/devices/ghost/revoke").status, 404u);
}

TEST_F(DeviceRegistryTest, ANewTokenReplacesTheUnusedOne) {
  auto first = test::body_of(call(Verb::post, "/api/v1/devices", R"({"id": "cam-01"})"));
  const auto old_token = first["enrollment_token"].get<std::string>();
  auto r =
      call(Verb::post, "/api/v1/devices/cam-01/enrollment-token", R"({"token_ttl_seconds": 60})");
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto new_token = test::body_of(r)["enrollment_token"].get<std::string>();
  EXPECT_NE(new_token, old_token);
  EXPECT_TRUE(store_->enrollment_token(crypto::sha256_hex(new_token)));
  auto old = store_->enrollment_token(crypto::sha256_hex(old_token));
  EXPECT_TRUE(!old || old->used_at || old->expires_at <= utc_now());
  EXPECT_EQ(call(Verb::post, "/api/v1/devices/cam-01/enrollment-token", "[1]").status, 400u);
}

TEST(ConnectivityTest, FollowsTheOnlineWindows) {
  store::Device d;
  d.id = "cam-01";
  const auto now = seconds_at(10000);
  const OnlineWindows windows{.checkin = std::chrono::seconds(1830),
                              .telemetry = std::chrono::seconds(300)};
  Presence presence;
  EXPECT_EQ(connectivity(d, presence, now, windows), "never seen");
  presence.seen("cam-01", seconds_at(10000 - 1830));
  EXPECT_EQ(connectivity(d, presence, now, windows), "online");
  EXPECT_EQ(connectivity(d, presence, now + std::chrono::seconds(1), windows), "offline");
  presence.pushed_telemetry("cam-01", seconds_at(10000 - 301));  // sends telemetry, now silent
  EXPECT_EQ(connectivity(d, presence, now, windows), "offline");
  d.status = store::DeviceStatus::revoked;
  EXPECT_EQ(connectivity(d, presence, now, windows), "revoked");
}

}  // namespace
}  // namespace ef::device_registry

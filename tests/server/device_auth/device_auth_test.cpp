#include "server/device_auth/device_auth.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"

namespace ef::device_auth {
namespace {

using http::Request;
using http::Response;
using http::Verb;

class DeviceAuthTest : public test::StoreTest {
 protected:
  // A request over TLS presenting a certificate for `cn`, verified or not.
  static Request from_device(const std::string& path, const std::string& cn, bool verified = true,
                             std::string verify_error = "") {
    auto r = test::make_request(Verb::post, path, "{}");
    auto peer = std::make_shared<http::Peer>(*r.peer);
    peer->tls = true;
    http::ClientCertificate cert;
    cert.verified = verified;
    cert.verify_error = std::move(verify_error);
    cert.subject_cn = cn;
    peer->client_certificate = cert;
    r.peer = std::move(peer);
    return r;
  }

  // The refusal's status and code, or (0, "") when admitted.
  std::pair<unsigned, std::string> outcome(const Request& r, const std::string& id) {
    auto result = authenticate(r, id, *store_);
    if (std::holds_alternative<store::Device>(result)) return {0, ""};
    const auto& refusal = std::get<Response>(result);
    return {refusal.status, test::error_code(refusal)};
  }
};

TEST_F(DeviceAuthTest, AdmitsARegisteredDeviceActingForItself) {
  add_device("cam-01", "plant-a");
  auto r = from_device("/d", "cam-01");
  auto result = authenticate(r, "cam-01", *store_);
  ASSERT_TRUE(std::holds_alternative<store::Device>(result));
  EXPECT_EQ(std::get<store::Device>(result).site, "plant-a");
}

TEST_F(DeviceAuthTest, RefusesRequestsWithoutAVerifiedCertificate) {
  add_device("cam-01");
  auto plain = test::make_request(Verb::post, "/d", "{}");
  EXPECT_EQ(outcome(plain, "cam-01"), std::pair(401u, std::string("client_certificate_required")));
  auto expired = from_device("/d", "cam-01", false, "certificate has expired");
  const auto [status, code] = outcome(expired, "cam-01");
  EXPECT_EQ(status, 401u);
  EXPECT_EQ(code, "client_certificate_rejected");
  auto result = authenticate(expired, "cam-01", *store_);
  EXPECT_NE(std::get<Response>(result).body.find("certificate has expired"), std::string::npos);
}

TEST_F(DeviceAuthTest, ADeviceCannotActForAnother) {
  add_device("cam-01");
  add_device("cam-02");
  auto r = from_device("/d", "cam-01");
  EXPECT_EQ(outcome(r, "cam-02"), std::pair(403u, std::string("wrong_device")));
  // A CN that only starts with the id is another device too.
  auto longer = from_device("/d", "cam-01x");
  EXPECT_EQ(outcome(longer, "cam-01").first, 403u);
}

TEST_F(DeviceAuthTest, RefusesUnknownAndRevokedDevices) {
  auto unknown = from_device("/d", "ghost");
  EXPECT_EQ(outcome(unknown, "ghost"), std::pair(403u, std::string("unknown_device")));
  add_device("cam-01");
  ASSERT_TRUE(store_->revoke_device("cam-01", utc_now()));
  auto revoked = from_device("/d", "cam-01");
  auto result = authenticate(revoked, "cam-01", *store_);
  ASSERT_TRUE(std::holds_alternative<Response>(result));
  EXPECT_EQ(std::get<Response>(result).status, 403u);
  EXPECT_EQ(test::error_code(std::get<Response>(result)), "device_revoked");
  EXPECT_TRUE(std::get<Response>(result).close);
}

TEST_F(DeviceAuthTest, DeviceRouteHandsTheAdmittedDeviceToItsHandler) {
  add_device("cam-01", "plant-a");
  add_device("cam-02");
  http::Router router;
  std::string seen;
  add_device_route(router, Verb::post, "/devices/{id}/thing", *store_,
                   [&](Request&, const store::Device& device) {
                     seen = device.id + "@" + device.site;
                     return Response::no_content();
                   });
  auto other = from_device("/devices/cam-02/thing", "cam-01");
  EXPECT_EQ(test::call_route(router, other).status, 403u);
  EXPECT_EQ(seen, "");
  auto own = from_device("/devices/cam-01/thing", "cam-01");
  EXPECT_EQ(test::call_route(router, own).status, 204u);
  EXPECT_EQ(seen, "cam-01@plant-a");
}

}  // namespace
}  // namespace ef::device_auth

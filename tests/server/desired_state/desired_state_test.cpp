#include "server/desired_state/desired_state.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"

namespace ef::desired_state {
namespace {

using http::Verb;

class DesiredStateTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auth_ = std::make_unique<operator_auth::OperatorAuth>(*store_);
    log_ = std::make_unique<audit::AuditLog>(*store_);
    admin_ = auth_->create_token("ops", store::Role::operator_)->secret;
    reader_ = auth_->create_token("viewer", store::Role::read_only)->secret;
    add_routes(router_, {*store_, hub_, *auth_, *log_, urls_});
    ASSERT_TRUE(store_->add_release({"1.0.0", 1, 0, 10, 1, utc_now(), "test"}));
  }

  http::Response assign(const std::string& body, const std::string& token) {
    auto r = test::make_request(Verb::post, "/api/v1/assignments", body, token);
    return test::call_route(router_, r);
  }

  std::unique_ptr<operator_auth::OperatorAuth> auth_;
  std::unique_ptr<audit::AuditLog> log_;
  ChangeHub hub_;
  RepositoryUrls urls_{"https://s/repo/metadata/", "https://s/repo/blobs/sha256/"};
  http::Router router_;
  std::string admin_, reader_;
};

TEST_F(DesiredStateTest, DocumentAndEtagFollowThePin) {
  add_device("cam-01");
  auto unpinned = desired_for(*store_, "cam-01", urls_);
  ASSERT_TRUE(unpinned);
  EXPECT_TRUE(unpinned->body["release"].is_null());
  EXPECT_EQ(unpinned->body["repository"]["blobs_url"], urls_.blobs_url);
  EXPECT_EQ(unpinned->etag, desired_for(*store_, "cam-01", urls_)->etag);  // stable
  ASSERT_EQ(assign(R"({"release": "1.0.0", "devices": ["cam-01"]})", admin_).status, 200u);
  auto pinned = desired_for(*store_, "cam-01", urls_);
  EXPECT_EQ(pinned->body["release"]["version"], "1.0.0");
  EXPECT_NE(pinned->etag, unpinned->etag);
  EXPECT_EQ(pinned->etag.front(), '"');
}

TEST_F(DesiredStateTest, AssigningNeedsTheOperatorRoleAndIsAudited) {
  add_device("cam-01");
  EXPECT_EQ(assign(R"({"release": "1.0.0", "devices": ["cam-01"]})", reader_).status, 403u);
  EXPECT_EQ(assign(R"({"release": "1.0.0", "devices": ["cam-01"]})", "").status, 401u);
  EXPECT_FALSE(*store_->assignment("cam-01"));
  ASSERT_EQ(assign(R"({"release": "1.0.0", "devices": ["cam-01"]})", admin_).status, 200u);
  auto entries = store_->audit(0, 10);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].action, "release.assign");
  EXPECT_NE((*entries)[0].actor.find("(ops)"), std::string::npos);
  EXPECT_EQ((*store_->assignment("cam-01"))->assigned_by, (*entries)[0].actor);
}

TEST_F(DesiredStateTest, RefusesBadSelectorsAndPinsNothing) {
  add_device("cam-01", "plant-a");
  add_device("cam-02", "plant-a");
  ASSERT_TRUE(store_->revoke_device("cam-02", utc_now()));
  for (const std::string body : {
           R"({"release": "1.0.0"})",
           R"({"release": "1.0.0", "devices": []})",
           R"({"release": "1.0.0", "devices": "cam-01"})",
           R"({"release": "1.0.0", "devices": [1]})",
           R"({"release": "1.0.0", "devices": ["cam-01"], "site": "plant-a"})",
           R"({"release": "1.0.0", "site": 3})",
           R"({"release": "1.0.0", "devices": ["cam-01", "cam-02"]})",
           R"({"release": 1, "devices": ["cam-01"]})",
           R"({"release": "1.0.0", "devices": ["cam-01"], "devices": ["cam-02"]})",
           "{\"release\": \"1.0.0\", \"devices\": [\"cam-01\"]",
       }) {
    EXPECT_EQ(assign(body, admin_).status, 400u) << body;
  }
  EXPECT_EQ(assign(R"({"release": "9.9.9", "devices": ["cam-01"]})", admin_).status, 404u);
  EXPECT_EQ(assign(R"({"release": "1.0.0", "devices": ["ghost"]})", admin_).status, 404u);
  EXPECT_FALSE(*store_->assignment("cam-01"));
  EXPECT_TRUE(store_->audit(0, 10)->empty());
}

TEST_F(DesiredStateTest, SiteSelectorSkipsRevokedDevices) {
  add_device("cam-01", "plant-a");
  add_device("cam-02", "plant-a");
  add_device("cam-03", "plant-b");
  ASSERT_TRUE(store_->revoke_device("cam-02", utc_now()));
  auto r = assign(R"({"release": "1.0.0", "site": "plant-a"})", admin_);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(test::body_of(r)["assigned"], json::Json({"cam-01"}));
}

}  // namespace
}  // namespace ef::desired_state

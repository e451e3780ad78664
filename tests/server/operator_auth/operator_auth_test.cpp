#include "server/operator_auth/operator_auth.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"
#include "core/crypto/hash.hpp"

namespace ef::operator_auth {
namespace {

using http::Request;
using http::Response;
using http::Verb;
using store::Role;

class OperatorAuthTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auth_ = std::make_unique<OperatorAuth>(*store_);
    log_ = std::make_unique<audit::AuditLog>(*store_);
  }

  std::string token(Role role, const std::string& name = "t") {
    auto created = auth_->create_token(name, role);
    EXPECT_TRUE(created) << created.error().message;
    return created ? created->secret : "";
  }

  // The status authorize() answers for this Authorization header at `minimum`.
  unsigned refused_status(const std::string& header, Role minimum) {
    auto r = test::make_request(Verb::get, "/x");
    r.headers.set("Authorization", header);
    auto result = auth_->authorize(r, minimum);
    if (std::holds_alternative<Actor>(result)) return 0;
    return std::get<Response>(result).status;
  }

  std::unique_ptr<OperatorAuth> auth_;
  std::unique_ptr<audit::AuditLog> log_;
};

TEST_F(OperatorAuthTest, TokenIsShownOnceAndStoredOnlyAsItsHash) {
  auto created = auth_->create_token("ci", Role::operator_);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->secret.rfind("eft_", 0), 0u);
  EXPECT_EQ(created->secret.size(), 4u + 64u);
  auto stored = store_->operator_tokens();
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].hash, crypto::sha256_hex(created->secret));
  EXPECT_EQ((*stored)[0].hash.find(created->secret.substr(4)), std::string::npos);
  EXPECT_NE(auth_->create_token("ci", Role::operator_)->secret, created->secret);
}

TEST_F(OperatorAuthTest, TokenNamesMustBeOneTo128Characters) {
  EXPECT_EQ(auth_->create_token("", Role::admin).error().code, Errc::invalid_argument);
  EXPECT_EQ(auth_->create_token(std::string(129, 'n'), Role::admin).error().code,
            Errc::invalid_argument);
  EXPECT_TRUE(auth_->create_token(std::string(128, 'n'), Role::admin));
}

TEST_F(OperatorAuthTest, BootstrapCreatesOneAdminOnlyOnAnEmptyStore) {
  auto first = auth_->bootstrap_admin();
  ASSERT_TRUE(first && *first);
  auto second = auth_->bootstrap_admin();
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  EXPECT_EQ(refused_status("Bearer " + **first, Role::admin), 0u);
}

TEST_F(OperatorAuthTest, AdmitsItsRoleAndAboveOnly) {
  const auto reader = token(Role::read_only, "reader");
  const auto op = token(Role::operator_);
  EXPECT_EQ(refused_status("Bearer " + reader, Role::read_only), 0u);
  EXPECT_EQ(refused_status("Bearer " + reader, Role::operator_), 403u);
  EXPECT_EQ(refused_status("Bearer " + op, Role::operator_), 0u);
  EXPECT_EQ(refused_status("Bearer " + op, Role::admin), 403u);

  auto r = test::make_request(Verb::get, "/x", "", reader);
  auto who = auth_->authorize(r, Role::read_only);
  ASSERT_TRUE(std::holds_alternative<Actor>(who));
  EXPECT_EQ(std::get<Actor>(who).name, "reader");
  EXPECT_EQ(std::get<Actor>(who).role, Role::read_only);
  EXPECT_EQ(std::get<Actor>(who).describe().rfind("token:tok_", 0), 0u);
}

TEST_F(OperatorAuthTest, RefusesHostileAndBrokenCredentialsWith401) {
  const auto good = token(Role::admin);
  auto none = test::make_request(Verb::get, "/x");
  auto missing = auth_->authorize(none, Role::read_only);
  ASSERT_TRUE(std::holds_alternative<Response>(missing));
  EXPECT_EQ(std::get<Response>(missing).status, 401u);
  EXPECT_FALSE(std::get<Response>(missing).header("WWW-Authenticate").empty());

  EXPECT_EQ(refused_status("Basic " + good, Role::read_only), 401u);
  EXPECT_EQ(refused_status("bearer " + good, Role::read_only), 401u);
  EXPECT_EQ(refused_status("Bearer " + good.substr(0, good.size() - 1), Role::read_only), 401u);
  EXPECT_EQ(refused_status("Bearer " + good + "0", Role::read_only), 401u);
  EXPECT_EQ(refused_status("Bearer xyz_" + good.substr(4), Role::read_only), 401u);
  EXPECT_EQ(refused_status("Bearer eft_" + std::string(64, '0'), Role::read_only), 401u);
  EXPECT_EQ(refused_status("Bearer ' OR 1=1 --", Role::read_only), 401u);
  EXPECT_EQ(refused_status("Bearer " + good, Role::read_only), 0u);
}

TEST_F(OperatorAuthTest, RevokedTokenStopsAtOnce) {
  const auto secret = token(Role::admin);
  auto tokens = store_->operator_tokens();
  ASSERT_TRUE(tokens);
  ASSERT_TRUE(store_->revoke_operator_token((*tokens)[0].id, utc_now()));
  EXPECT_EQ(refused_status("Bearer " + secret, Role::read_only), 401u);
}

TEST_F(OperatorAuthTest, GuardLeavesTheActorForTheHandler) {
  const auto secret = token(Role::operator_, "ci");
  http::Router router;
  std::optional<Actor> seen;
  add_operator_route(router, Verb::post, "/things", *auth_, Role::operator_,
                     [&](Request&, const Actor& actor) {
                       seen = actor;
                       return Response::no_content();
                     },
                     {.name = "things"});

  auto anonymous = test::make_request(Verb::post, "/things", "{}");
  EXPECT_EQ(test::call_route(router, anonymous).status, 401u);
  EXPECT_FALSE(seen);
  EXPECT_EQ(actor_of(anonymous), nullptr);

  auto admitted = test::make_request(Verb::post, "/things", "{}", secret);
  EXPECT_EQ(test::call_route(router, admitted).status, 204u);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->name, "ci");
  ASSERT_NE(actor_of(admitted), nullptr);
  EXPECT_EQ(actor_of(admitted)->token_id, seen->token_id);
}

TEST_F(OperatorAuthTest, TokenRoutesNeedAdminAndAuditEveryChange) {
  http::Router router;
  add_routes(router, *auth_, *store_, *log_);
  const auto admin = token(Role::admin, "root");
  const auto op = token(Role::operator_);

  auto by_operator =
      test::make_request(Verb::post, "/api/v1/tokens", R"({"name": "x", "role": "admin"})", op);
  EXPECT_EQ(test::call_route(router, by_operator).status, 403u);

  auto created = test::make_request(Verb::post, "/api/v1/tokens",
                                    R"({"name": "ci", "role": "operator"})", admin);
  auto answer = test::call_route(router, created);
  ASSERT_EQ(answer.status, 201u) << answer.body;
  const auto id = test::body_of(answer)["id"].get<std::string>();
  auto entries = store_->audit(0, 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].action, "token.create");
  EXPECT_EQ((*entries)[0].target, id);
  EXPECT_NE((*entries)[0].actor.find("(root)"), std::string::npos);

  auto revoke = test::make_request(Verb::delete_, "/api/v1/tokens/" + id, "", admin);
  EXPECT_EQ(test::call_route(router, revoke).status, 204u);
  EXPECT_EQ(store_->audit(0, 10)->size(), 2u);
}

TEST_F(OperatorAuthTest, TokenRoutesRefuseMalformedBodiesAndChangeNothing) {
  http::Router router;
  add_routes(router, *auth_, *store_, *log_);
  const auto admin = token(Role::admin);
  for (const std::string body :
       {"", "not json", "[]", R"({"name": "x"})", R"({"name": 7, "role": "admin"})",
        R"({"name": "x", "role": "root"})", R"({"name": "x", "name": "y", "role": "admin"})",
        R"({"name": "", "role": "admin"})"}) {
    auto r = test::make_request(Verb::post, "/api/v1/tokens", body, admin);
    r.headers.set("Content-Type", "application/json");
    EXPECT_EQ(test::call_route(router, r).status, 400u) << body;
  }
  EXPECT_EQ(store_->operator_tokens()->size(), 1u);
  EXPECT_TRUE(store_->audit(0, 10)->empty());
}

TEST_F(OperatorAuthTest, AnAdminCannotRevokeItsOwnToken) {
  http::Router router;
  add_routes(router, *auth_, *store_, *log_);
  const auto admin = token(Role::admin);
  const auto id = (*store_->operator_tokens())[0].id;
  auto r = test::make_request(Verb::delete_, "/api/v1/tokens/" + id, "", admin);
  EXPECT_EQ(test::call_route(router, r).status, 409u);
  EXPECT_EQ(refused_status("Bearer " + admin, Role::admin), 0u);
}

}  // namespace
}  // namespace ef::operator_auth

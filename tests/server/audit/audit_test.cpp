#include "server/audit/audit.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"

namespace ef::audit {
namespace {

using http::Verb;

class AuditTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    log_ = std::make_unique<AuditLog>(*store_);
    // Admits requests carrying "Authorization: Bearer reader", as an operator guard would.
    add_routes(router_, *store_, [](http::Request& r) -> std::optional<http::Response> {
      if (r.header("Authorization") == "Bearer reader") return std::nullopt;
      return http::Response::error(401, "unauthorized", "no");
    });
  }

  http::Response get(const std::string& target, const std::string& token = "reader") {
    auto r = test::make_request(Verb::get, "/api/v1/audit", "", token);
    r.target = target;
    const auto q = target.find('?');
    if (q != std::string::npos) {
      std::string rest = target.substr(q + 1);
      while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        r.query[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
        rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
      }
    }
    return test::call_route(router_, r);
  }

  std::unique_ptr<AuditLog> log_;
  http::Router router_;
};

TEST_F(AuditTest, RecordsWhoWhatWhenAndWhere) {
  const auto before = utc_now();
  ASSERT_TRUE(log_->record("token:tok_1 (ci)", "device.add", "cam-01", "10.0.0.1:5000",
                           {{"site", "plant-a"}}));
  auto entries = store_->audit(0, 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  const auto& e = (*entries)[0];
  EXPECT_EQ(e.actor, "token:tok_1 (ci)");
  EXPECT_EQ(e.action, "device.add");
  EXPECT_EQ(e.target, "cam-01");
  EXPECT_EQ(e.source, "10.0.0.1:5000");
  EXPECT_EQ(e.details["site"], "plant-a");
  EXPECT_GE(e.at, before - std::chrono::seconds(1));
  EXPECT_EQ(entry_json(e)["seq"], e.seq);
}

TEST_F(AuditTest, ListsOldestFirstFromAfterWithALimit) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(log_->record("a", "act" + std::to_string(i), "t", "s"));
  auto page = get("/api/v1/audit?limit=2");
  ASSERT_EQ(page.status, 200u) << page.body;
  auto j = test::body_of(page);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["action"], "act0");
  auto next = get("/api/v1/audit?after=" + std::to_string(j["next"].get<std::int64_t>()));
  auto rest = test::body_of(next)["entries"];
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0]["action"], "act2");
  // limit=0 is clamped to one entry, not an empty page that never advances.
  EXPECT_EQ(test::body_of(get("/api/v1/audit?limit=0"))["entries"].size(), 1u);
}

TEST_F(AuditTest, RefusesBadQueriesAndUnadmittedReaders) {
  for (const std::string q :
       {"after=-1", "after=abc", "limit=1x", "after=", "limit=-5", "after=99999999999999999999"}) {
    EXPECT_EQ(get("/api/v1/audit?" + q).status, 400u) << q;
  }
  EXPECT_EQ(get("/api/v1/audit", "").status, 401u);
  EXPECT_EQ(get("/api/v1/audit", "someone").status, 401u);
}

}  // namespace
}  // namespace ef::audit

// The control plane's answers are hostile input to the device: wrong types, truncated or
// oversized JSON, duplicate keys, refusals and errors with odd bytes. Each gives a clear error
// and an error code the agent can branch on (refused: stop retrying; network: back off).
#include "device/server_link/server_link.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_http_server.hpp"

namespace ef::server_link {
namespace {

using namespace std::chrono_literals;

class ServerLink : public ::testing::Test {
 protected:
  void answer(testing::Reply reply) {
    server_.route("/api/v1/", [reply](const testing::Request&) { return reply; });
  }
  Result<CheckinResult> checkin(const std::string& etag = "") {
    Client client({"http://127.0.0.1:" + std::to_string(server_.port()), "", "", ""});
    return client.checkin("cam1", json::Json{{"installed_release", nullptr}}, etag, 0s);
  }
  Result<Certificate> enroll() {
    Client client({"http://127.0.0.1:" + std::to_string(server_.port()), "", "", ""});
    return client.enroll("cam1", "eet_1", "csr");
  }
  testing::TestHttpServer server_;
};

const char* kCheckin = R"({"release": {"version": "1.2.0"},
  "repository": {"metadata_url": "https://f/m/", "blobs_url": "https://f/b/"}})";

TEST_F(ServerLink, ReadsADesiredReleaseAndItsEtag) {
  answer({.body = kCheckin, .headers = {{"ETag", "\"7\""}}});
  auto r = checkin();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->changed);
  ASSERT_TRUE(r->desired);
  EXPECT_EQ(r->desired->release, "1.2.0");
  EXPECT_EQ(r->desired->blobs_url, "https://f/b/");
  EXPECT_EQ(r->etag, "\"7\"");
}

TEST_F(ServerLink, NotModifiedAndNoReleaseAreNotErrors) {
  answer({.status = 304});
  auto same = checkin("\"7\"");
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_FALSE(same->changed);
  answer({.body = R"({"release": null})"});
  auto none = checkin();
  ASSERT_TRUE(none) << none.error().message;
  ASSERT_TRUE(none->desired);
  EXPECT_FALSE(none->desired->release);
}

TEST_F(ServerLink, HostileCheckinAnswersAreMalformedNotTrusted) {
  const std::vector<std::string> bodies = {
      "",
      "[1, 2]",
      "\"release\"",
      R"({"release": {"version": "1.2.0"})",  // truncated
      R"({"release": {"version": 120}})",
      R"({"release": {}})",
      R"({"release": {"version": "1"}, "release": {"version": "2"}})",
      R"({"release": {"version": "1"}, "repository": {"metadata_url": ["x"]}})",
      std::string(R"({"release": {"version": "1)") + '\0' + R"("}})",
      "{\"x\": \"" + std::string(2 << 20, 'a') + "\"}",
  };
  for (const auto& body : bodies) {
    answer({.body = body});
    auto r = checkin();
    EXPECT_FALSE(r) << body.substr(0, 80);
    if (r) continue;
    EXPECT_NE(r.error().code, Errc::refused) << body.substr(0, 80);
    EXPECT_NE(r.error().code, Errc::network) << body.substr(0, 80) << ": " << r.error().message;
  }
}

TEST_F(ServerLink, RefusalsAreRefusedAndOtherErrorsAreNetwork) {
  for (int status : {401, 403, 404}) {
    answer({.status = status, .body = R"({"error": {"message": "device revoked"}})"});
    auto r = checkin();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::refused) << status;
    EXPECT_NE(r.error().message.find("HTTP " + std::to_string(status) + ": device revoked"),
              std::string::npos)
        << r.error().message;
  }
  for (int status : {409, 429, 500, 503}) {
    answer({.status = status, .body = "<html>oops</html>"});
    auto r = checkin();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::network) << status;
  }
  answer({.body = "\x01\x02 garbage", .raw = true});
  EXPECT_FALSE(checkin());
}

TEST_F(ServerLink, AServerMessageIsQuotedSafely) {
  answer({.status = 403, .body = "{\"error\": {\"message\": \"bad\\u001b[31m\\nline\"}}"});
  auto r = checkin();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find('\x1b'), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
}

TEST_F(ServerLink, ACertificateAnswerIsCheckedFieldByField) {
  const std::string good_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  auto body = [&](const std::string& cert, const std::string& not_after) {
    return json::Json{{"certificate", cert},
                      {"ca_certificate", good_pem},
                      {"not_after", not_after},
                      {"renew_after", "2030-01-01T00:00:00Z"}}
        .dump();
  };
  answer({.body = body(good_pem, "2031-01-01T00:00:00Z")});
  auto ok = enroll();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(format_utc(ok->not_after), "2031-01-01T00:00:00Z");
  answer({.body = body("not a certificate", "2031-01-01T00:00:00Z")});
  EXPECT_EQ(enroll().error().code, Errc::malformed);
  answer({.body = body(good_pem, "next tuesday")});
  EXPECT_FALSE(enroll());
  answer({.body = R"({"certificate": 7})"});
  EXPECT_FALSE(enroll());
  answer({.status = 403, .body = R"({"error": {"message": "token already used"}})"});
  auto refused = enroll();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::refused);
}

}  // namespace
}  // namespace ef::server_link

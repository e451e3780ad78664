#include "core/http_client/http_client.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "connect_proxy.hpp"
#include "test_http_server.hpp"

namespace ef::http_client {
namespace {

using ef::testing::Reply;
using ef::testing::Request;
using ef::testing::TestHttpServer;

TEST(HttpClient, GetsBodyStatusAndHeaders) {
  TestHttpServer server;
  server.route("/hello", [](const Request& r) {
    return Reply{.status = 200,
                 .body = "hi " + r.headers.at("authorization"),
                 .headers = {{"ETag", "\"v1\""}}};
  });
  HttpClient client;
  auto res = client.get(server.url("/hello"), Options{.bearer_token = "tok"});
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hi Bearer tok");
  ASSERT_NE(res->header("etag"), nullptr);
  EXPECT_EQ(*res->header("etag"), "\"v1\"");
}

TEST(HttpClient, ErrorStatusIsAResponseNotAnError) {
  TestHttpServer server;
  HttpClient client;
  auto res = client.get(server.url("/missing"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST(HttpClient, PostsBody) {
  TestHttpServer server;
  server.route("/echo", [](const Request& r) {
    return Reply{.body = r.method + " " + r.headers.at("content-type") + " " + r.body};
  });
  HttpClient client;
  auto res = client.request("POST", server.url("/echo"), "{\"a\":1}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "POST application/json {\"a\":1}");
}

TEST(HttpClient, StopsEndlessDataAtTheLimit) {
  TestHttpServer server;
  server.route("/endless", [](const Request&) { return Reply{.body = "x", .endless = true}; });
  HttpClient client;
  auto res = client.get(server.url("/endless"), Options{.max_body_bytes = 100000});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::too_large);
}

TEST(HttpClient, RefusesDeclaredOversizeBody) {
  TestHttpServer server;
  server.route("/big", [](const Request&) { return Reply{.body = std::string(5000, 'b')}; });
  HttpClient client;
  auto res = client.get(server.url("/big"), Options{.max_body_bytes = 4999});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::too_large);
}

TEST(HttpClient, GivesUpOnATricklingServer) {
  TestHttpServer server;
  server.route("/slow", [](const Request&) {
    return Reply{.body = std::string(1000, 's'), .delay_per_byte = std::chrono::milliseconds(50)};
  });
  HttpClient client;
  auto res = client.get(server.url("/slow"), Options{.min_bytes_per_second = 1000,
                                                     .low_speed_window = std::chrono::seconds(1)});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::timeout);
}

TEST(HttpClient, ReportsAConnectionClosedMidBody) {
  TestHttpServer server;
  server.route("/cut", [](const Request&) {
    return Reply{.body = std::string(1000, 'c'), .close_after_bytes = 10};
  });
  HttpClient client;
  auto res = client.get(server.url("/cut"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::network);
}

TEST(HttpClient, GarbageResponseIsAnError) {
  TestHttpServer server;
  server.route("/garbage", [](const Request&) {
    return Reply{.body = "\x01\x02 nonsense\r\n\r\n", .raw = true};
  });
  HttpClient client;
  EXPECT_FALSE(client.get(server.url("/garbage")));
}

TEST(HttpClient, ResumesWithRangeIntoASink) {
  TestHttpServer server;
  server.route("/blob", [](const Request&) { return Reply{.body = "0123456789"}; });
  HttpClient client;
  std::string got;
  auto res = client.get_to(server.url("/blob"), Options{.range_from = 4}, [&](std::string_view c) {
    got.append(c);
    return Status{};
  });
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(got, "456789");
  EXPECT_TRUE(res->body.empty());
}

TEST(HttpClient, SinkErrorStopsTheTransfer) {
  TestHttpServer server;
  server.route("/blob", [](const Request&) { return Reply{.body = std::string(100000, 'z')}; });
  HttpClient client;
  auto res = client.get_to(server.url("/blob"), Options{}, [&](std::string_view) -> Status {
    return make_error(Errc::mismatch, "hash differs");
  });
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::mismatch);
}

TEST(HttpClient, ConnectionRefusedIsANetworkError) {
  int port;
  {
    TestHttpServer server;
    port = server.port();
  }
  HttpClient client;
  auto res = client.get("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::network);
}

// Sets an environment variable for one scope; the client reads proxies from the environment.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(HttpClient, AProxyRefusalIsReportedInTheProxysWords) {
  ef::testing::ConnectProxy proxy;  // refuses anything but loopback with 403
  ScopedEnv upper("HTTPS_PROXY", proxy.url()), lower("https_proxy", proxy.url());
  ScopedEnv no_upper("NO_PROXY", ""), no_lower("no_proxy", "");
  HttpClient client;
  auto res = client.get("https://control.plant.invalid:8443/healthz");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::network);
  EXPECT_NE(res.error().message.find("403"), std::string::npos) << res.error().message;
  EXPECT_TRUE(proxy.tunnels().empty());
}

TEST(UrlEncode, QuotesEverythingButUnreserved) {
  EXPECT_EQ(url_encode("a/b?c#d e..%"), "a%2Fb%3Fc%23d%20e..%25");
  EXPECT_EQ(url_encode("../delegatedrole"), "..%2Fdelegatedrole");
}

}  // namespace
}  // namespace ef::http_client

// The HTTP server over real sockets on 127.0.0.1 and a Unix socket, with hostile clients.
#include "core/http/server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/http/file_response.hpp"
#include "raw_client.hpp"

namespace ef::http {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RawClient;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-http-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    limits_.header_timeout = 400ms;
    limits_.body_timeout = 400ms;
    limits_.idle_timeout = 600ms;
    limits_.max_header_bytes = 2048;
    limits_.max_body_bytes = 1024;
    limits_.upload_dir = dir_;
    add_routes();
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) {
      context_.stop();
      thread_.join();
    }
    server_.reset();
    fs::remove_all(dir_);
  }

  void add_routes() {
    router_.add_sync(Verb::get, "/hello", [](Request&) { return Response::text(200, "hello"); });
    router_.add_sync(Verb::get, "/things/{id}", [](Request& r) {
      return Response::json(
          200, {{"id", r.param("id")}, {"q", std::string(r.query_param("q").value_or("-"))}});
    });
    router_.add_sync(Verb::get, "/things/special",
                     [](Request&) { return Response::text(200, "literal wins"); });
    router_.add_sync(Verb::post, "/echo", [this](Request& r) {
      ++handled_;
      return Response::text(200, r.body);
    });
    router_.add_sync(Verb::get, "/peer", [](Request& r) {
      json::Json j = {{"address", r.peer->address}};
      if (r.peer->unix_credentials) j["uid"] = r.peer->unix_credentials->uid;
      return Response::json(200, j);
    });
    router_.add_sync(Verb::get, "/throws",
                     [](Request&) -> Response { throw std::runtime_error("boom"); });
    RouteOptions guarded;
    guarded.guard = [](const Request& r) -> std::optional<Response> {
      if (r.header("Authorization") != "Bearer ok") {
        return Response::error(401, "unauthorized", "a bearer token is required");
      }
      return std::nullopt;
    };
    router_.add_sync(
        Verb::post, "/guarded",
        [this](Request& r) {
          ++handled_;
          return Response::text(200, std::to_string(r.body.size()));
        },
        guarded);
    RouteOptions upload;
    upload.body_to_file = true;
    upload.max_body = 8 * 1024 * 1024;
    upload.body_timeout = 10s;
    router_.add_sync(
        Verb::put, "/upload",
        [this](Request& r) {
          upload_path_ = r.body_file;
          EXPECT_TRUE(fs::exists(r.body_file));
          return Response::json(200,
                                {{"size", r.body_size}, {"on_disk", fs::file_size(r.body_file)}});
        },
        upload);
    router_.add_sync(Verb::get, "/file", [this](Request&) {
      Response r;
      r.set("Content-Type", "application/octet-stream");
      auto fd = std::make_shared<UniqueFd>(::open((dir_ / "blob").c_str(), O_RDONLY));
      r.file = FileBody{fd, 2, fs::file_size(dir_ / "blob") - 2};
      return r;
    });
    router_.add_sync(Verb::get, "/ranged", [this](Request& r) {
      return file_response(r, dir_ / "blob", "application/octet-stream");
    });
    router_.add(Verb::get, "/wait", [this](Request&) -> asio::awaitable<Response> {
      asio::steady_timer timer(context_);
      timer.expires_after(300ms);
      co_await timer.async_wait(asio::use_awaitable);
      co_return Response::text(200, "waited");
    });
  }

  std::uint16_t start() {
    server_ = std::make_unique<Server>(context_, router_, limits_);
    auto port = server_->listen_tcp("127.0.0.1", 0);
    EXPECT_TRUE(port) << port.error().message;
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(context_);
      context_.run();
    });
    return *port;
  }

  fs::path dir_;
  Limits limits_;
  Router router_;
  asio::io_context context_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<int> handled_{0};
  fs::path upload_path_;
};

TEST_F(HttpServerTest, AnswersRoutesWithParametersAndQueries) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /things/a%20b?q=x+y&z HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = json::Json::parse(r->body);
  EXPECT_EQ(j["id"], "a b");
  EXPECT_EQ(j["q"], "x y");
  EXPECT_EQ(r->headers["content-type"], "application/json");

  c.send("GET /things/special HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "literal wins");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::Json::parse(r->body)["error"]["code"], "not_found");
  c.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers["allow"], "GET");
}

TEST_F(HttpServerTest, KeepsConnectionsAliveAndAnswersPipelinedRequestsInOrder) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send(
      "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
      "GET /things/7 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto a = c.read_response();
  auto b = c.read_response();
  auto d = c.read_response();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->body, "hello");
  EXPECT_EQ(b->body, "abc");
  EXPECT_EQ(json::Json::parse(d->body)["id"], "7");
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto e = c.read_response();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(HttpServerTest, ChunkedBodiesAreAccepted) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcde");
}

TEST_F(HttpServerTest, MalformedRequestGets400AndClose) {
  const auto port = start();
  for (const std::string bad :
       {"GARBAGE\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n",
        "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET /hello HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab"}) {
    auto c = RawClient::tcp(port);
    c.send(bad);
    auto r = c.read_response();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(json::Json::parse(r->body)["error"]["code"], "malformed_request");
    EXPECT_TRUE(c.closed_within(2s));
  }
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, TraversalAndBadEscapesInThePathAre400) {
  const auto port = start();
  for (const std::string target : {"/things/..", "/things/%2e%2e", "/things/a%2fb", "/things/%zz",
                                   "/things/a%00b", "/things/x?q=%"}) {
    auto c = RawClient::tcp(port);
    c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(json::Json::parse(r->body)["error"]["code"], "bad_target") << target;
  }
}

TEST_F(HttpServerTest, OversizedHeadIs431) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_F(HttpServerTest, OversizedBodyIs413BeforeTheHandlerRuns) {
  const auto port = start();
  {
    auto c = RawClient::tcp(port);
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(json::Json::parse(r->body)["error"]["code"], "body_too_large");
  }
  {
    // Chunked: no length up front, so the limit trips while reading.
    auto c = RawClient::tcp(port);
    std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i)
      req += "200\r\n" + std::string(512, 'x') + "\r\n";
    req += "0\r\n\r\n";
    c.try_send(req);
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, TheRefusalOfABodyStillSentSurvivesTheClose) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  // Like curl, send all of the body before reading: a server closing over it unread resets the
  // connection, the send fails and the client never sees the 413.
  const std::size_t size = 768 * 1024;
  EXPECT_NO_THROW(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                         std::to_string(size) + "\r\n\r\n" + std::string(size, 'x')));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, SlowLorisHeadIsCutOffWith408) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  const auto begin = std::chrono::steady_clock::now();
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n");
  // Trickle a header byte at a time: the deadline covers the whole head, not each read.
  bool server_closed = false;
  for (int i = 0; i < 40 && !server_closed; ++i) {
    std::this_thread::sleep_for(50ms);
    server_closed = !c.try_send("X");
  }
  auto r = c.read_response(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_within(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST_F(HttpServerTest, SlowBodyIs408) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  auto r = c.read_response(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedQuietly) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_TRUE(c.pending().empty());  // no 408 for a client that sent nothing
}

TEST_F(HttpServerTest, GuardRefusesBeforeTheBodyIsRead) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send(
      "POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(c.closed_within(2s));

  auto ok = RawClient::tcp(port);
  ok.send(
      "POST /guarded HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\nContent-Length: "
      "4\r\n\r\nabcd");
  r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "4");
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, LargeUploadsStreamToATemporaryFileThatIsRemovedAfterwards) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  const std::string body(3 * 1024 * 1024 + 17, 'z');
  c.send("PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nExpect: 100-continue\r\n\r\n");
  c.send(body);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::Json::parse(r->body);
  EXPECT_EQ(j["size"], body.size());
  EXPECT_EQ(j["on_disk"], body.size());
  EXPECT_FALSE(upload_path_.empty());
  EXPECT_FALSE(fs::exists(upload_path_));
}

TEST_F(HttpServerTest, FileBodiesAndHead) {
  std::ofstream(dir_ / "blob") << "0123456789";
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /file HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "23456789");
  c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto h = c.read_head_response();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->headers["content-length"], "5");
  // The next response on the connection starts right after the head.
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpServerTest, FileResponsesHonourSingleRanges) {
  std::ofstream(dir_ / "blob") << "0123456789";
  const auto port = start();
  auto c = RawClient::tcp(port);
  auto get = [&](const std::string& range) {
    c.send("GET /ranged HTTP/1.1\r\nHost: t\r\n" +
           (range.empty() ? "" : "Range: " + range + "\r\n") + "\r\n");
    return c.read_response();
  };
  auto whole = get("");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body, "0123456789");
  EXPECT_EQ(whole->headers["accept-ranges"], "bytes");
  auto middle = get("bytes=2-4");
  EXPECT_EQ(middle->status, 206);
  EXPECT_EQ(middle->body, "234");
  EXPECT_EQ(middle->headers["content-range"], "bytes 2-4/10");
  EXPECT_EQ(get("bytes=7-")->body, "789");
  EXPECT_EQ(get("bytes=-3")->body, "789");
  EXPECT_EQ(get("bytes=8-100")->body, "89");
  auto past = get("bytes=10-");
  EXPECT_EQ(past->status, 416);
  EXPECT_EQ(past->headers["content-range"], "bytes */10");
  // Several ranges or nonsense: the whole file.
  EXPECT_EQ(get("bytes=0-1,4-5")->status, 200);
  EXPECT_EQ(get("bytes=x-y")->status, 200);
  EXPECT_EQ(get("bytes=5-2")->status, 200);
  EXPECT_EQ(get("lines=1-2")->status, 200);
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndTheServerGoesOn) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /throws HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, WaitingHandlersDoNotBlockOtherClients) {
  const auto port = start();
  auto waiting = RawClient::tcp(port);
  waiting.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n");
  auto other = RawClient::tcp(port);
  other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = other.read_response(200ms);  // well before the waiting handler finishes
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  auto w = waiting.read_response();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->body, "waited");
}

TEST_F(HttpServerTest, UnixSocketExposesPeerCredentials) {
  server_ = std::make_unique<Server>(context_, router_, limits_);
  const auto path = dir_ / "api.sock";
  ASSERT_TRUE(server_->listen_unix(path, 0600));
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(context_);
    context_.run();
  });
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto c = RawClient::unix_socket(path);
  c.send("GET /peer HTTP/1.1\r\nHost: t\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  auto j = json::Json::parse(r->body);
  EXPECT_EQ(j["address"], "unix");
  EXPECT_EQ(j["uid"], ::getuid());
}

TEST_F(HttpServerTest, UnixSocketRefusesToReplaceARegularFile) {
  server_ = std::make_unique<Server>(context_, router_, limits_);
  std::ofstream(dir_ / "not-a-socket") << "data";
  auto status = server_->listen_unix(dir_ / "not-a-socket");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Errc::exists);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  const auto port = start();
  auto c = RawClient::tcp(port);
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.read_response());
  server_->stop();
  EXPECT_TRUE(c.closed_within(2s));
}

TEST(RouterTest, DuplicateRoutesAreABug) {
  Router router;
  router.add_sync(Verb::get, "/a", [](Request&) { return Response::no_content(); });
  EXPECT_THROW(router.add_sync(Verb::get, "/a", [](Request&) { return Response::no_content(); }),
               std::logic_error);
  EXPECT_THROW(router.add_sync(Verb::get, "a", [](Request&) { return Response::no_content(); }),
               std::logic_error);
}

TEST(RouterTest, ParametersNeverMatchEmptySegments) {
  Router router;
  router.add_sync(Verb::get, "/d/{id}/x", [](Request&) { return Response::no_content(); });
  EXPECT_EQ(router.match(Verb::get, "/d//x").route, nullptr);
  EXPECT_NE(router.match(Verb::get, "/d/1/x").route, nullptr);
  EXPECT_EQ(router.match(Verb::get, "/d/1/x/").route, nullptr);
}

}  // namespace
}  // namespace ef::http

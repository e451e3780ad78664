// What the server's library tests share: a real store (SQLite in a temporary folder, or with
// EF_TEST_DATABASE=postgresql a fresh database in a throwaway PostgreSQL cluster), and calling a
// route the way the HTTP server does (match, guard on the head, then the handler), without a
// socket, so that a library's routes are tested on their own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/http/router.hpp"
#include "postgres_cluster.hpp"
#include "server/store/open/open_store.hpp"

namespace ef::test {

// A fresh store, removed afterwards: fleet.db in its own temporary folder, or a fresh PostgreSQL
// database when EF_TEST_DATABASE=postgresql (ef_test's STORE_BACKENDS runs both). dir_ exists
// either way, for what a test keeps beside the store.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ef-server-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto database = ef::testing::test_database_url();
    ASSERT_TRUE(database) << database.error().message;
    auto opened = store::open_store(*database, dir_);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A registered device (status registered unless changed).
  store::Device add_device(const std::string& id, const std::string& site = "",
                           const std::string& cell = "") {
    store::Device d;
    d.id = id;
    d.site = site;
    d.cell = cell;
    d.created_at = utc_now();
    EXPECT_TRUE(store_->add_device(d));
    return d;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

// A request as the server hands it to a route, from 127.0.0.1.
inline http::Request make_request(http::Verb method, std::string path, std::string body = "",
                                  std::string bearer = "") {
  http::Request r;
  r.method = method;
  r.target = path;
  r.path = std::move(path);
  r.body = std::move(body);
  r.body_size = r.body.size();
  if (!r.body.empty()) r.headers.set("Content-Type", "application/json");
  if (!bearer.empty()) r.headers.set("Authorization", "Bearer " + bearer);
  auto peer = std::make_shared<http::Peer>();
  peer->address = "127.0.0.1:40000";
  r.peer = std::move(peer);
  return r;
}

// Routes the request as the server does: 404/405 for no route, the guard's refusal, or the
// handler's answer.
inline http::Response call_route(const http::Router& router, http::Request& request) {
  auto match = router.match(request.method, request.path);
  if (match.route == nullptr) {
    return http::Response::error(match.allowed.empty() ? 404 : 405, "no_route", request.path);
  }
  request.params = match.params;
  if (match.route->options.guard) {
    if (auto refused = match.route->options.guard(request)) return std::move(*refused);
  }
  boost::asio::io_context context;
  std::optional<http::Response> out;
  boost::asio::co_spawn(
      context,
      [&]() -> boost::asio::awaitable<void> { out = co_await match.route->handler(request); },
      boost::asio::detached);
  context.run();
  return out ? std::move(*out) : http::Response::error(500, "not_answered", request.path);
}

inline json::Json body_of(const http::Response& r) {
  return r.body.empty() ? json::Json() : json::Json::parse(r.body);
}

inline std::string error_code(const http::Response& r) {
  auto j = body_of(r);
  return j.contains("error") ? j["error"].value("code", "") : "";
}

}  // namespace ef::test

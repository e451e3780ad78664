#include "cli/fleet_client/fleet_client.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_http_server.hpp"

namespace ef::fleet_client {
namespace {

namespace fs = std::filesystem;

// Each test starts with no EDGEFLEET_* variables and a HOME without a config file.
class FleetClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-fleet-client-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* name : {"EDGEFLEET_SERVER", "EDGEFLEET_TOKEN", "EDGEFLEET_CA",
                             "EDGEFLEET_CONFIG", "XDG_CONFIG_HOME"}) {
      ::unsetenv(name);
    }
    ::setenv("HOME", dir_.c_str(), 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_config(const std::string& text, mode_t mode) {
    const fs::path path = dir_ / "config.json";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  fs::path dir_;
};

TEST_F(FleetClientTest, FlagsBeatTheEnvironmentWhichBeatsTheConfigFile) {
  const auto config = write_config(
      R"({"server": "https://file:1", "token": "file-token", "ca_file": "/file/ca"})", 0600);
  ::setenv("EDGEFLEET_CONFIG", config.c_str(), 1);
  ::setenv("EDGEFLEET_TOKEN", "env-token", 1);
  Overrides flags;
  flags.server = "https://flag:2/";
  auto settings = resolve(flags);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->server, "https://flag:2");  // trailing '/' dropped
  EXPECT_EQ(settings->token, "env-token");
  EXPECT_EQ(settings->ca_file, "/file/ca");
}

TEST_F(FleetClientTest, TheDefaultConfigFileIsUnderHome) {
  fs::create_directories(dir_ / ".config" / "edgefleet");
  std::ofstream(dir_ / ".config" / "edgefleet" / "config.json")
      << R"({"server": "https://home:3", "token": "t"})";
  ::chmod((dir_ / ".config" / "edgefleet" / "config.json").c_str(), 0600);
  auto settings = resolve({});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->server, "https://home:3");
}

TEST_F(FleetClientTest, SaysWhatToSetWhenServerOrTokenIsMissing) {
  auto no_server = resolve({});
  ASSERT_FALSE(no_server);
  EXPECT_NE(no_server.error().message.find("EDGEFLEET_SERVER"), std::string::npos);
  Overrides flags;
  flags.server = "https://h:1";
  auto no_token = resolve(flags);
  ASSERT_FALSE(no_token);
  EXPECT_NE(no_token.error().message.find("EDGEFLEET_TOKEN"), std::string::npos);
  EXPECT_TRUE(resolve(flags, false));  // endpoints that need no token
  flags.server = "ftp://h:1";
  EXPECT_FALSE(resolve(flags, false));
}

TEST_F(FleetClientTest, RefusesATokenInAFileOthersMayRead) {
  const auto config = write_config(R"({"server": "https://h:1", "token": "secret"})", 0644);
  Overrides flags;
  flags.config_file = config.string();
  auto settings = resolve(flags);
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().code, Errc::refused);
  EXPECT_NE(settings.error().message.find("chmod 600"), std::string::npos);
  // Without a token the file may be readable by all.
  write_config(R"({"server": "https://h:1"})", 0644);
  EXPECT_TRUE(resolve(flags, false));
}

TEST_F(FleetClientTest, RefusesMalformedConfigFiles) {
  Overrides flags;
  flags.server = "https://h:1";
  flags.token = "t";
  for (const char* hostile : {"", "[1, 2]", "{\"server\": 5}", "{\"token\": null}", "{", "\"x\"",
                              "{\"server\": \"https://a\", \"server\": \"https://b\"}"}) {
    flags.config_file = write_config(hostile, 0600).string();
    EXPECT_FALSE(resolve(flags)) << "accepted: " << hostile;
  }
  flags.config_file = (dir_ / "missing.json").string();  // named explicitly, so it must exist
  EXPECT_FALSE(resolve(flags));
}

TEST_F(FleetClientTest, HttpErrorsBecomeCodesThatSayWhatHappened) {
  testing::TestHttpServer server;
  auto answer = [&](const std::string& path, int status, std::string body) {
    server.route(path, [=](const auto&) { return testing::Reply{status, body}; });
  };
  answer("/gone", 404, R"({"error": {"code": "not_found", "message": "no such device"}})");
  answer("/taken", 409, R"({"error": {"code": "exists", "message": "already there"}})");
  answer("/forbidden", 403, R"({"error": {"code": "forbidden", "message": "read_only role"}})");
  answer("/down", 503, "<html>busy</html>");
  answer("/odd", 400, R"({"error": "not an object"})");
  answer("/ok", 200, R"({"devices": []})");
  Client client(Settings{server.url(""), "t", ""});

  auto ok = client.call("GET", "/ok");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->json.contains("devices"));
  auto gone = client.call("GET", "/gone");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  EXPECT_NE(gone.error().message.find("no such device"), std::string::npos);
  EXPECT_EQ(client.call("POST", "/taken").error().code, Errc::exists);
  EXPECT_EQ(client.call("GET", "/forbidden").error().code, Errc::refused);
  EXPECT_EQ(client.call("GET", "/down").error().code, Errc::network);
  auto odd = client.call("GET", "/odd");
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().message, "HTTP 400");
  EXPECT_TRUE(client.send("GET", "/gone", "", "", true));  // a 404 the caller accepts
}

}  // namespace
}  // namespace ef::fleet_client

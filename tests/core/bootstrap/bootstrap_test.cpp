// The bootstrap folder (device.json, server-ca.pem, enrollment-token, network.json): complete
// folders are read, truncated or damaged ones refused with the file named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/bootstrap/bootstrap.hpp"
#include "temp_dir_test.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Dir = testing::TempDirTest;

const char* kCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

using Bootstrap = Dir;

TEST_F(Bootstrap, ReadsACompleteFolder) {
  write("b/device.json",
        R"({"device_id": "line3-cam07", "server_url": "https://fleet.plant:8443/"})");
  write("b/server-ca.pem", kCa);
  write("b/enrollment-token", "eet_0123\n");
  write("b/network.json", R"({"dhcp": true})");
  auto b = bootstrap::load(dir_ / "b", true);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->device_id, "line3-cam07");
  EXPECT_EQ(b->server_urls, std::vector<std::string>{"https://fleet.plant:8443"});
  EXPECT_EQ(b->enrollment_token, "eet_0123");
  EXPECT_TRUE(b->network.has_value());
}

TEST_F(Bootstrap, RefusesTruncatedOrDamagedFolders) {
  struct Case {
    const char* what;
    std::function<void(Bootstrap*)> damage;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"no folder", [](Bootstrap* t) { fs::remove_all(t->dir_ / "b"); }, "does not exist"},
      {"no device.json", [](Bootstrap* t) { fs::remove(t->dir_ / "b/device.json"); },
       "device.json"},
      {"truncated device.json",
       [](Bootstrap* t) { t->write("b/device.json", R"({"device_id": "x", "server_u)"); },
       "device.json"},
      {"bad id",
       [](Bootstrap* t) {
         t->write("b/device.json", R"({"device_id": "../x", "server_url": "https://a"})");
       },
       "device id"},
      {"plain http",
       [](Bootstrap* t) {
         t->write("b/device.json", R"({"device_id": "a", "server_url": "http://a"})");
       },
       "https://"},
      {"url with path",
       [](Bootstrap* t) {
         t->write("b/device.json", R"({"device_id": "a", "server_url": "https://a/x?y"})");
       },
       "only a host and port"},
      {"truncated CA",
       [](Bootstrap* t) { t->write("b/server-ca.pem", "-----BEGIN CERTIFICATE-----\nMII"); },
       "server-ca.pem"},
      {"no token", [](Bootstrap* t) { fs::remove(t->dir_ / "b/enrollment-token"); },
       "no enrollment-token"},
      {"binary token",
       [](Bootstrap* t) { t->write("b/enrollment-token", std::string("eet\x01\x02", 5)); },
       "non-printable"},
      {"bad network", [](Bootstrap* t) { t->write("b/network.json", "[1,2"); }, "network.json"},
  };
  for (const auto& c : cases) {
    SetUp();
    write("b/device.json", R"({"device_id": "cam", "server_url": "https://fleet:8443"})");
    write("b/server-ca.pem", kCa);
    write("b/enrollment-token", "eet_1");
    c.damage(this);
    auto b = bootstrap::load(dir_ / "b", true);
    ASSERT_FALSE(b) << c.what;
    EXPECT_NE(b.error().message.find(c.words), std::string::npos)
        << c.what << ": " << b.error().message;
  }
}

// server_urls: the replicas a device may use. The older single server_url still reads.
TEST_F(Bootstrap, ReadsAListOfServersAndTheOlderSingleField) {
  write("b/server-ca.pem", kCa);
  write("b/device.json",
        R"({"device_id": "cam", "server_urls": ["https://a:8443/", "https://b:8443"]})");
  auto b = bootstrap::load(dir_ / "b", false);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->server_urls, (std::vector<std::string>{"https://a:8443", "https://b:8443"}));
  // Beside the list, server_url (what older agents read) may name any listed server.
  write("b/device.json", R"({"device_id": "cam", "server_urls": ["https://a", "https://b"],
                             "server_url": "https://b/"})");
  b = bootstrap::load(dir_ / "b", false);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->server_urls, (std::vector<std::string>{"https://a", "https://b"}));
  // Sixteen is the most, and allowed.
  json::Json sixteen{{"device_id", "cam"}, {"server_urls", json::Json::array()}};
  for (int i = 0; i < 16; ++i)
    sixteen["server_urls"].push_back("https://r" + std::to_string(i) + ":8443");
  write("b/device.json", sixteen.dump());
  b = bootstrap::load(dir_ / "b", false);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->server_urls.size(), 16u);
}

TEST_F(Bootstrap, WritesBothFieldsSoOlderAgentsStillFindAServer) {
  json::Json device{{"device_id", "cam"}};
  bootstrap::write_server_urls(device, {"https://a:8443", "https://b:8443"});
  EXPECT_EQ(device["server_url"], "https://a:8443");
  EXPECT_EQ(device["server_urls"], (json::Json{"https://a:8443", "https://b:8443"}));
  auto back = bootstrap::read_server_urls(device);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, (std::vector<std::string>{"https://a:8443", "https://b:8443"}));
  // An older reader's view: the single field alone.
  auto old = json::get_string(device, "server_url");
  ASSERT_TRUE(old);
  EXPECT_EQ(*old, "https://a:8443");
}

TEST_F(Bootstrap, RefusesHostileServerLists) {
  const std::string many = [] {
    std::string list;
    for (int i = 0; i < 17; ++i)
      list += std::string(i ? "," : "") + "\"https://r" + std::to_string(i) + "\"";
    return "[" + list + "]";
  }();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("server_urls": [])", "empty"},
      {R"("server_urls": "https://a")", "array"},
      {R"("server_urls": {"0": "https://a"})", "array"},
      {R"("server_urls": ["https://a", 7])", "not only strings"},
      {R"("server_urls": [null])", "not only strings"},
      {R"("server_urls": [["https://a"]])", "not only strings"},
      {R"("server_urls": ["https://a", ""])", "server_urls[1]"},
      {R"("server_urls": ["https://a", "http://b"])", "server_urls[1] \"http://b\""},
      {R"("server_urls": ["https://a/api"])", "only a host and port"},
      {R"("server_urls": ["https://a:1@evil"])", "only a host and port"},
      {R"("server_urls": ["https://a", "https://A/"])", "twice"},
      {R"("server_urls": )" + many, "17 servers, at most 16"},
      {R"("server_urls": ["https://a"], "server_url": "https://c")", "not one of server_urls"},
      {R"("server_urls": ["https://a"], "server_url": 5)", "server_url"},
      {R"("server_url": ["https://a"])", "server_url"},
      {R"("serverurl": "https://a")", "server_url"},
  };
  for (const auto& [fields, words] : cases) {
    SetUp();
    write("b/server-ca.pem", kCa);
    write("b/device.json", R"({"device_id": "cam", )" + fields + "}");
    auto b = bootstrap::load(dir_ / "b", false);
    ASSERT_FALSE(b) << fields;
    EXPECT_NE(b.error().message.find(words), std::string::npos)
        << fields << ": " << b.error().message;
    EXPECT_NE(b.error().message.find("device.json"), std::string::npos) << b.error().message;
  }
}

// The check the CLI runs before it asks the server for a token.
TEST_F(Bootstrap, ChecksAListGivenDirectly) {
  std::vector<std::string> urls{"https://a:8443/", "https://b:8443"};
  ASSERT_TRUE(bootstrap::check_server_urls(urls));
  EXPECT_EQ(urls[0], "https://a:8443");
  std::vector<std::string> none;
  EXPECT_FALSE(bootstrap::check_server_urls(none));
  std::vector<std::string> twice{"https://a:8443", "https://a:8443/"};
  EXPECT_FALSE(bootstrap::check_server_urls(twice));
  // identity.json holds what the device enrolled with: only its shape is checked there.
  json::Json identity{{"server_urls", {"http://127.0.0.1:1"}}};
  EXPECT_TRUE(bootstrap::read_server_urls(identity, false));
  EXPECT_FALSE(bootstrap::read_server_urls(identity, true));
  identity["server_urls"] = json::Json::array();
  EXPECT_FALSE(bootstrap::read_server_urls(identity, false));
}

}  // namespace
}  // namespace ef

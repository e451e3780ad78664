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
  EXPECT_EQ(b->server_url, "https://fleet.plant:8443");
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

}  // namespace
}  // namespace ef

// The agent's own parts: the bootstrap folder as the agent reads it and the launch spec. Each
// device library has its own tests under tests/device/<library>/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/bootstrap/bootstrap.hpp"
#include "device/agent/launch.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Dir : public ::testing::Test {
 public:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-agent-parts-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& content) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << content;
  }
  fs::path dir_;
};

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

TEST(Launch, ParsesAndFillsPlaceholders) {
  auto l = agent::parse_launch(
      R"({"command": ["code/run", "--socket", "{control_socket}", "--r={release}"],
                                    "health_deadline_seconds": 5, "model_hot_swap": false})");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->health_deadline, 5s);
  EXPECT_FALSE(l->model_hot_swap);
  auto spec = agent::launch_spec(*l, "/data/releases/1.0.0",
                                 {{"control_socket", "/run/s"}, {"release", "1.0.0"}}, "/log");
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"/data/releases/1.0.0/code/run", "--socket",
                                                 "/run/s", "--r=1.0.0"}));
  EXPECT_EQ(spec.env.at("EDGEFLEET_RELEASE"), "1.0.0");
}

TEST(Launch, RefusesProgramsOutsideTheRelease) {
  for (const char* bad :
       {R"({"command": ["/bin/sh", "-c", "x"]})", R"({"command": ["../../bin/sh"]})",
        R"({"command": []})", R"({"command": ["code/run"], "health_deadline_seconds": 0})",
        R"({"command": "code/run"})", R"({"command": ["code/run"], "command": ["x"]})"}) {
    EXPECT_FALSE(agent::parse_launch(bad)) << bad;
  }
}

}  // namespace
}  // namespace ef

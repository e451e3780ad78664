// The agent's own parts: the launch spec. Each device library has its own tests under
// tests/device/<library>/; the bootstrap format's are in tests/core/bootstrap/.
#include <gtest/gtest.h>

#include <functional>

#include "device/agent/launch.hpp"

namespace ef {
namespace {

using namespace std::chrono_literals;

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

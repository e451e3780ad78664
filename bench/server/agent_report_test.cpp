// The report both server benchmarks send, pinned to the bytes they sent before it was shared.
#include "agent_report.hpp"

#include <gtest/gtest.h>

#include "core/json/json.hpp"

namespace ef::bench {
namespace {

// The runtime's figures are floats, which parse_strict refuses by default (as the server does not).
const json::Limits kFloats{.allow_floats = true};

const std::string kHardware =
    R"("hardware":{"cpu":"x86_64","disk_bytes":68719476736,"disk_free_bytes":34359738368,)"
    R"("make":"bench","memory_bytes":8589934592,"model":"sim","serial":"0"})";

TEST(AgentReport, ScaleBenchStartingAgentHasNoReleaseAndNoRuntime) {
  EXPECT_EQ(full_report({.model_version = "2.4.1"}),
            R"({"agent_version":"0.1.0",)" + kHardware +
                R"(,"installed_release":null,"model_version":"2.4.1","trial_release":null,)"
                R"("update":null})");
}

TEST(AgentReport, ServerBenchRunningAgentReportsItsRuntime) {
  EXPECT_EQ(
      full_report({.installed_release = "1.0.0", .model_version = "ae-1", .frames_processed = 7}),
      R"({"agent_version":"0.1.0",)" + kHardware +
          R"(,"installed_release":"1.0.0","model_version":"ae-1","runtime":{"frames_dropped":0,)"
          R"("frames_per_second":29.97,"frames_processed":7.0,"latency_p99_seconds":0.0055,)"
          R"("restarts":0,"uptime_seconds":3600},"trial_release":null,"update":null})");
}

// server_bench's two loads: the "unchanged" one resends the same bytes (the server answers 304
// from memory), the "changed" one must differ on every check-in (the server stores each).
TEST(AgentReport, SameStateSameBytesAnotherFrameCountAnotherReport) {
  const AgentState at0{
      .installed_release = "1.0.0", .model_version = "ae-1", .frames_processed = 0};
  AgentState at1 = at0;
  at1.frames_processed = 1;
  EXPECT_EQ(full_report(at0), full_report(at0));
  EXPECT_NE(full_report(at0), full_report(at1));
  auto parsed = json::parse_strict(full_report(at1), kFloats);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["runtime"]["frames_processed"].get<double>(), 1.0);
}

TEST(AgentReport, HostileStringsStayStringsInTheDocument) {
  const std::string hostile = "1.0.0\",\"update\":{\"x\":1}\n\x01";
  auto parsed =
      json::parse_strict(full_report({.installed_release = hostile, .model_version = "\""}));
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["installed_release"].get<std::string>(), hostile);
  EXPECT_EQ((*parsed)["model_version"].get<std::string>(), "\"");
  EXPECT_TRUE((*parsed)["update"].is_null());
  EXPECT_FALSE(parsed->contains("runtime"));
}

}  // namespace
}  // namespace ef::bench

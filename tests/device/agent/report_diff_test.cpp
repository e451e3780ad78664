#include "device/agent/report_diff.hpp"

#include <gtest/gtest.h>

namespace ef::agent {
namespace {

using namespace std::chrono_literals;
using Clock = ReportDiff::Clock;

json::Json report(const std::string& committed, double uptime) {
  return json::Json{{"committed_release", committed},
                    {"update", nullptr},
                    {"agent_version", "0.1.0"},
                    {"hardware", {{"disk_free_bytes", 1000 + uptime}}},
                    {"runtime", {{"uptime_seconds", uptime}, {"frames_per_second", 30.0}}}};
}

TEST(ReportDiff, FirstReportIsFullThenAnIdenticalOneIsEmpty) {
  ReportDiff d;
  const auto t0 = Clock::now();
  EXPECT_EQ(d.next(report("r1", 1), t0), report("r1", 1));
  d.acknowledged();
  EXPECT_EQ(d.next(report("r1", 1), t0 + 1s), json::Json::object());
}

TEST(ReportDiff, LiveFiguresAloneAreHeldBackUntilDue) {
  ReportDiff d;
  const auto t0 = Clock::now();
  d.next(report("r1", 1), t0);
  d.acknowledged();
  EXPECT_EQ(d.next(report("r1", 60), t0 + 60s), json::Json::object());
  d.acknowledged();
  EXPECT_EQ(d.next(report("r1", 3599), t0 + 3599s), json::Json::object());
  d.acknowledged();
  const auto due = d.next(report("r1", 3600), t0 + 3600s);  // an hour by default
  EXPECT_EQ(due.size(), 2u);
  EXPECT_EQ(due["runtime"]["uptime_seconds"], 3600);
  EXPECT_TRUE(due.contains("hardware"));
  d.acknowledged();
  EXPECT_EQ(d.next(report("r1", 3700), t0 + 3700s), json::Json::object());
}

TEST(ReportDiff, AChangeCarriesOnlyItselfAndFreshFigures) {
  ReportDiff d;
  const auto t0 = Clock::now();
  d.next(report("r1", 1), t0);
  d.acknowledged();
  auto full = report("r2", 5);
  full["update"] = json::Json{{"phase", "downloading"}, {"progress", 10}};
  const auto body = d.next(full, t0 + 5s);
  EXPECT_EQ(body["committed_release"], "r2");
  EXPECT_EQ(body["update"]["progress"], 10);
  EXPECT_EQ(body["runtime"]["uptime_seconds"], 5);
  EXPECT_FALSE(body.contains("agent_version"));
  d.acknowledged();
  // Going back to null is a change too (the server keeps an omitted field's last value).
  EXPECT_EQ(d.next(report("r2", 6), t0 + 6s)["update"], nullptr);
}

TEST(ReportDiff, AfterAFailedCheckInTheFullReportGoes) {
  ReportDiff d;
  const auto t0 = Clock::now();
  d.next(report("r1", 1), t0);
  d.acknowledged();
  EXPECT_EQ(d.next(report("r2", 2), t0 + 2s).size(), 3u);
  d.lost();
  EXPECT_EQ(d.next(report("r2", 3), t0 + 3s), report("r2", 3));
}

TEST(ReportDiff, AnUnacknowledgedBodyIsSentAgain) {
  ReportDiff d;
  const auto t0 = Clock::now();
  d.next(report("r1", 1), t0);
  d.acknowledged();
  EXPECT_EQ(d.next(report("r2", 2), t0 + 2s)["committed_release"], "r2");
  // No answer yet (e.g. a progress report that was skipped): still news next time.
  EXPECT_EQ(d.next(report("r2", 2), t0 + 3s)["committed_release"], "r2");
}

TEST(ReportDiff, TheRuntimeStoppingIsNewsAtOnce) {
  ReportDiff d;
  const auto t0 = Clock::now();
  d.next(report("r1", 1), t0);
  d.acknowledged();
  auto stopped = report("r1", 2);
  stopped["runtime"] = nullptr;
  EXPECT_EQ(d.next(stopped, t0 + 2s)["runtime"], nullptr);
  EXPECT_TRUE(d.next(stopped, t0 + 2s).contains("runtime"));
  d.acknowledged();
  EXPECT_EQ(d.next(stopped, t0 + 3s), json::Json::object());
}

}  // namespace
}  // namespace ef::agent

// from_runtime_exposition: the runtime's /metrics text to series, with hostile input.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "device/telemetry/collectors.hpp"

namespace ef::device_telemetry {
namespace {

constexpr std::int64_t kNow = 1'764'756'000'000;

TEST(RuntimeSeries, KeepsRuntimeFamiliesWithSortedLabelsAndTimestamps) {
  const std::string text =
      "# HELP edgefleet_runtime_frames_per_second Frames per second.\n"
      "# TYPE edgefleet_runtime_frames_per_second gauge\n"
      "edgefleet_runtime_frames_per_second 29.5\n"
      "# TYPE edgefleet_runtime_decisions_total counter\n"
      "edgefleet_runtime_decisions_total{model_version=\"7\",decision=\"pass\"} 1200\n"
      "edgefleet_runtime_decisions_total{model_version=\"7\",decision=\"reject\"} 3 1764755999000\n"
      "edgefleet_runtime_inference_duration_seconds_bucket{model_version=\"7\",le=\"+Inf\"} 1203\n"
      "process_resident_memory_bytes 1.2e+08\n"
      "go_goroutines 12\n"
      "edgefleet_agent_spool_bytes 5\n";
  auto r = from_runtime_exposition(text, kNow);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->series.size(), 4u);
  EXPECT_EQ(r->over_limit + r->refused + r->duplicates, 0u);
  EXPECT_EQ(r->series[0].name, "edgefleet_runtime_frames_per_second");
  EXPECT_TRUE(r->series[0].labels.empty());
  EXPECT_EQ(r->series[0].points, (std::vector<telemetry::Point>{{kNow, 29.5}}));
  const metrics::Labels sorted = {{"decision", "pass"}, {"model_version", "7"}};
  EXPECT_EQ(r->series[1].labels, sorted);
  EXPECT_EQ(r->series[2].points, (std::vector<telemetry::Point>{{1764755999000, 3}}));
  EXPECT_EQ(r->series[3].labels.back(),
            (std::pair<std::string, std::string>{"model_version", "7"}));
  EXPECT_EQ(r->series[3].points[0].value, 1203);
}

TEST(RuntimeSeries, RefusesSamplesWithForgedIdentityLabels) {
  const std::string text =
      "edgefleet_runtime_healthy{device=\"someone-else\"} 1\n"
      "edgefleet_runtime_healthy{site=\"plant-2\"} 1\n"
      "edgefleet_runtime_healthy{cell=\"c9\",model_version=\"7\"} 1\n"
      "edgefleet_runtime_model_info{model_version=\"7\",release=\"r-forged\"} 1\n"
      "edgefleet_runtime_healthy{devices=\"not an identity label\"} 1\n"
      "edgefleet_runtime_camera_connected 1\n";
  auto r = from_runtime_exposition(text, kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->refused, 4u);
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].labels, (metrics::Labels{{"devices", "not an identity label"}}));
  EXPECT_EQ(r->series[1].name, "edgefleet_runtime_camera_connected");
  for (const auto& s : r->series) {
    for (const auto& [name, value] : s.labels) {
      EXPECT_NE(name, "device");
      EXPECT_NE(name, "release");
    }
  }
}

TEST(RuntimeSeries, AReservedLabelRefusesTheWholeText) {
  // The parser refuses "__" label names: a runtime cannot rename its series into the server's.
  EXPECT_FALSE(from_runtime_exposition(
      "edgefleet_runtime_healthy{__name__=\"edgefleet_server_device_online\"} 1\n", kNow));
}

TEST(RuntimeSeries, CapsTheSeriesAndCountsWhatItDrops) {
  std::string text = "edgefleet_runtime_frames_per_second 30\n";
  for (int i = 0; i < 50; ++i)
    text += "edgefleet_runtime_frames_invalid_total{reason=\"r" + std::to_string(i) + "\"} 1\n";
  auto r = from_runtime_exposition(text, kNow, 10);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->series.size(), 10u);
  EXPECT_EQ(r->over_limit, 41u);
  EXPECT_EQ(r->series.front().name, "edgefleet_runtime_frames_per_second");

  // Non-runtime families do not use up the budget.
  std::string mixed;
  for (int i = 0; i < 50; ++i)
    mixed += "other_family{i=\"" + std::to_string(i) + "\"} 1\n";
  mixed += "edgefleet_runtime_healthy 1\n";
  r = from_runtime_exposition(mixed, kNow, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->over_limit, 0u);
  r = from_runtime_exposition(mixed, kNow, 0);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->series.empty());
  EXPECT_EQ(r->over_limit, 1u);
}

TEST(RuntimeSeries, ASeriesRepeatedIsTakenOnce) {
  const std::string text =
      "edgefleet_runtime_healthy 1\n"
      "edgefleet_runtime_healthy 0\n"
      "edgefleet_runtime_decisions_total{decision=\"pass\",model_version=\"7\"} 5\n"
      "edgefleet_runtime_decisions_total{model_version=\"7\",decision=\"pass\"} 6\n"
      "edgefleet_runtime_decisions_total{model_version=\"7\",decision=\"pass\",x=\"\"} 7\n";
  auto r = from_runtime_exposition(text, kNow);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->duplicates, 3u);
  EXPECT_EQ(r->series[0].points[0].value, 1);
  EXPECT_EQ(r->series[1].points[0].value, 5);
}

TEST(RuntimeSeries, AMalformedOrOversizedExpositionIsAnError) {
  EXPECT_FALSE(from_runtime_exposition("edgefleet_runtime_healthy{device=\"x} 1\n", kNow));
  EXPECT_FALSE(from_runtime_exposition("edgefleet_runtime_healthy one\n", kNow));
  EXPECT_FALSE(from_runtime_exposition(std::string(5 * 1024 * 1024, '#'), kNow));
  auto r = from_runtime_exposition("", kNow);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->series.empty());
}

TEST(RuntimeSeries, SpecialValuesPassThrough) {
  auto r = from_runtime_exposition(
      "edgefleet_runtime_anomaly_score_ratio_recent{quantile=\"0.5\"} NaN\n"
      "edgefleet_runtime_anomaly_score_ratio_bucket{le=\"+Inf\"} +Inf\n",
      kNow);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_TRUE(std::isnan(r->series[0].points[0].value));
  EXPECT_TRUE(std::isinf(r->series[1].points[0].value));
}

}  // namespace
}  // namespace ef::device_telemetry

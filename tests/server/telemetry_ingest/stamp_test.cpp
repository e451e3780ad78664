// Stamping a device's telemetry: identity from the server's records, never from the payload.
#include "server/telemetry_ingest/stamp.hpp"

#include <gtest/gtest.h>

namespace ef::telemetry_ingest {
namespace {

using telemetry::Series;

constexpr std::int64_t kNow = 1'800'000'000'000;  // ms

UtcTime at_ms(std::int64_t ms) {
  return UtcTime(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::milliseconds(ms)));
}

store::Device cam() {
  store::Device d;
  d.id = "cam-01";
  d.site = "plant-a";
  d.cell = "line-3";
  return d;
}

Series series(std::string name, metrics::Labels labels, std::vector<std::int64_t> times) {
  Series s{std::move(name), std::move(labels), {}};
  for (auto t : times)
    s.points.push_back({t, 1.0});
  return s;
}

std::string label(const Series& s, const std::string& name) {
  for (const auto& [k, v] : s.labels)
    if (k == name) return v;
  return "<absent>";
}

const std::vector<store::RunningVersion> kHistory = {
    {"1.0", "ae-1", at_ms(kNow - 3'600'000)},
    {"1.1", "ae-2", at_ms(kNow - 60'000)},
};

Stamped stamp_ok(std::vector<Series> s, const StampLimits& limits = {}) {
  telemetry::Batch b{1, 1, std::move(s)};
  auto out = stamp(std::move(b), cam(), kHistory, limits, kNow);
  EXPECT_TRUE(out) << out.error().message;
  return out ? *out : Stamped{};
}

TEST(Stamp, AddsIdentityFromTheRecordAndVersionsFromHistory) {
  auto out = stamp_ok({series("edgefleet_device_uptime_seconds", {}, {kNow - 1000})});
  ASSERT_EQ(out.series.size(), 1u);
  const auto& s = out.series[0];
  EXPECT_EQ(label(s, "device"), "cam-01");
  EXPECT_EQ(label(s, "site"), "plant-a");
  EXPECT_EQ(label(s, "cell"), "line-3");
  EXPECT_EQ(label(s, "release"), "1.1");
  EXPECT_EQ(label(s, "model_version"), "ae-2");
  EXPECT_TRUE(std::is_sorted(s.labels.begin(), s.labels.end()));
  EXPECT_EQ(out.accepted_samples, 1u);
}

TEST(Stamp, SplitsASeriesAtAReleaseChange) {
  auto out = stamp_ok({series("edgefleet_device_uptime_seconds", {},
                              {kNow - 120'000, kNow - 90'000, kNow - 30'000})});
  ASSERT_EQ(out.series.size(), 2u);
  EXPECT_EQ(label(out.series[0], "release"), "1.0");
  EXPECT_EQ(out.series[0].points.size(), 2u);
  EXPECT_EQ(label(out.series[1], "release"), "1.1");
  EXPECT_EQ(out.series[1].points.size(), 1u);
}

TEST(Stamp, KeepsTheRuntimesOwnReportedModelVersion) {
  // A counter of the replaced model keeps its own model_version, which the device did report.
  auto out = stamp_ok({series("edgefleet_runtime_frames_processed_total",
                              {{"model_version", "ae-1"}}, {kNow - 1000})});
  ASSERT_EQ(out.series.size(), 1u);
  EXPECT_EQ(label(out.series[0], "model_version"), "ae-1");
  EXPECT_EQ(label(out.series[0], "release"), "1.1");
}

TEST(Stamp, AModelVersionNeverReportedRefusesTheBatchForNow) {
  telemetry::Batch b{1,
                     1,
                     {series("edgefleet_runtime_frames_processed_total",
                             {{"model_version", "ae-9"}}, {kNow - 1000})}};
  auto out = stamp(std::move(b), cam(), kHistory, {}, kNow);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Errc::refused);
  EXPECT_NE(out.error().message.find("ae-9"), std::string::npos);
}

TEST(Stamp, ForgedIdentityAndForeignNamesAreRefusedAndCounted) {
  auto out = stamp_ok({
      series("edgefleet_device_uptime_seconds", {{"device", "cam-02"}}, {kNow - 1000}),
      series("edgefleet_runtime_healthy", {{"site", "plant-b"}}, {kNow - 1000, kNow - 500}),
      series("edgefleet_agent_spool_bytes", {{"job", "x"}}, {kNow - 1000}),
      series("node_cpu_seconds_total", {}, {kNow - 1000}),
      series("edgefleet_device_cpu_usage_ratio", {}, {kNow - 1000}),
  });
  ASSERT_EQ(out.series.size(), 1u);
  EXPECT_EQ(out.series[0].name, "edgefleet_device_cpu_usage_ratio");
  EXPECT_EQ(out.refused_samples["forged_label"], 4u);
  EXPECT_EQ(out.refused_samples["foreign_metric"], 1u);
  for (const auto& s : out.series)
    EXPECT_EQ(label(s, "device"), "cam-01");
}

TEST(Stamp, ClockSkewAndAgeAreClampedPerPoint) {
  StampLimits limits;
  auto out = stamp_ok({series("edgefleet_device_uptime_seconds", {},
                              {kNow - limits.max_age.count() - 1, kNow - 1000,
                               kNow + limits.max_future.count() + 1})},
                      limits);
  ASSERT_EQ(out.series.size(), 1u);
  EXPECT_EQ(out.series[0].points.size(), 1u);
  EXPECT_EQ(out.refused_samples["too_old"], 1u);
  EXPECT_EQ(out.refused_samples["future_timestamp"], 1u);
}

TEST(Stamp, AFloodOfNamesIsCutAtTheSeriesLimit) {
  std::vector<Series> flood;
  for (int i = 0; i < 50; ++i)
    flood.push_back(series("edgefleet_runtime_x" + std::to_string(i), {}, {kNow - 1000}));
  auto out = stamp_ok(std::move(flood), {.max_series = 20});
  EXPECT_EQ(out.series.size(), 20u);
  EXPECT_EQ(out.refused_samples["series_limit"], 30u);
}

TEST(Stamp, WithoutHistoryOnlyIdentityIsStamped) {
  telemetry::Batch b{1, 1, {series("edgefleet_device_uptime_seconds", {}, {kNow})}};
  auto out = stamp(std::move(b), cam(), {}, {}, kNow);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->series.size(), 1u);
  EXPECT_EQ(label(out->series[0], "release"), "<absent>");
  EXPECT_EQ(label(out->series[0], "device"), "cam-01");
}

}  // namespace
}  // namespace ef::telemetry_ingest

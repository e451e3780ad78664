// The runtime link's parsing of the runtime's Prometheus exposition into the figures reported.
#include <gtest/gtest.h>

#include "device/runtime_link/runtime_link.hpp"

namespace ef {
namespace {

// The runtime figures the agent reports come from the runtime's Prometheus exposition.
TEST(RuntimeStats, ReadsTheFiguresOfTheCurrentModel) {
  const std::string text =
      "# HELP edgefleet_runtime_frames_per_second Frames scored per second.\n"
      "# TYPE edgefleet_runtime_frames_per_second gauge\n"
      "edgefleet_runtime_frames_per_second 29.5\n"
      "edgefleet_runtime_uptime_seconds 120.25\n"
      "edgefleet_runtime_frames_processed_total{model_version=\"ae-1\"} 1000\n"
      "edgefleet_runtime_frames_processed_total{model_version=\"ae-2\"} 500\n"
      "edgefleet_runtime_frames_dropped_total{reason=\"queue_full\"} 2\n"
      "edgefleet_runtime_frames_dropped_total{reason=\"camera_overrun\"} 1\n"
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-1\",quantile=\"0."
      "99\"} "
      "0.009\n"
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-2\",quantile=\"0.5\"}"
      " "
      "0.002\n"
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-2\",quantile=\"0."
      "99\"} "
      "0.004\n"
      "edgefleet_runtime_other_total 7\n";
  auto stats = runtime_link::parse_stats(text, "ae-2");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->frames_per_second, 29.5);
  EXPECT_EQ(stats->uptime_seconds, 120.25);
  EXPECT_EQ(stats->frames_processed, 1500);  // the runtime's total, over every model it ran
  EXPECT_EQ(stats->frames_dropped, 3);
  EXPECT_EQ(stats->latency_p99_seconds, 0.004);

  // No samples yet for a model: p99 is unknown, not another model's figure.
  auto fresh = runtime_link::parse_stats(text, "ae-3");
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->latency_p99_seconds);
  // A NaN quantile (an empty window) is unknown too.
  auto nan = runtime_link::parse_stats(
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"a\",quantile=\"0.99\"} "
      "NaN\n",
      "a");
  ASSERT_TRUE(nan);
  EXPECT_FALSE(nan->latency_p99_seconds);
}

TEST(RuntimeStats, RefusesBrokenLinesOfKnownSeries) {
  for (const char* bad :
       {"edgefleet_runtime_frames_per_second\n", "edgefleet_runtime_frames_per_second fast\n",
        "edgefleet_runtime_frames_per_second 1x\n",
        "edgefleet_runtime_frames_dropped_total{reason=\"q} 1\n",
        "edgefleet_runtime_frames_dropped_total{reason} 1\n",
        "edgefleet_runtime_frames_dropped_total{reason=\"q\" 1\n"}) {
    auto stats = runtime_link::parse_stats(bad, "a");
    EXPECT_FALSE(stats) << bad;
    if (!stats) {
      EXPECT_NE(stats.error().message.find("runtime metrics line"), std::string::npos);
    }
  }
  // Unknown series are skipped whatever they hold.
  EXPECT_TRUE(runtime_link::parse_stats("something_else{{{ nonsense\n\n# comment\n", "a"));
}

}  // namespace
}  // namespace ef

#include "core/metrics/metrics.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "core/metrics/buckets.hpp"

namespace ef::metrics {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, ExposesCountersAndGaugesInTextFormat) {
  Registry registry;
  auto frames = registry.counter("edgefleet_frames_total", "Frames processed.");
  ASSERT_TRUE(frames);
  (*frames)->inc();
  (*frames)->inc(2);
  (*frames)->inc(-5);  // ignored: counters only go up
  auto temp =
      registry.gauge("edgefleet_temperature_celsius", "Board temperature.", {{"zone", "cpu"}});
  ASSERT_TRUE(temp);
  (*temp)->set(41.5);
  (*temp)->add(-0.5);
  EXPECT_EQ(registry.expose(),
            "# HELP edgefleet_frames_total Frames processed.\n"
            "# TYPE edgefleet_frames_total counter\n"
            "edgefleet_frames_total 3\n"
            "# HELP edgefleet_temperature_celsius Board temperature.\n"
            "# TYPE edgefleet_temperature_celsius gauge\n"
            "edgefleet_temperature_celsius{zone=\"cpu\"} 41\n");
}

TEST(Metrics, SameNameAndLabelsGiveTheSameMetric) {
  Registry registry;
  auto a = registry.counter("x_total", "X.", {{"model_version", "1"}});
  auto b = registry.counter("x_total", "X.", {{"model_version", "1"}});
  auto c = registry.counter("x_total", "X.", {{"model_version", "2"}});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  (*a)->inc();
  (*c)->inc(4);
  EXPECT_NE(
      registry.expose().find("x_total{model_version=\"1\"} 1\nx_total{model_version=\"2\"} 4\n"),
      std::string::npos);
}

TEST(Metrics, HistogramBucketsAreInclusiveAndCumulative) {
  Registry registry;
  auto h = registry.histogram("latency_seconds", "Latency.", {0.01, 0.1, 1}, {{"m", "a"}});
  ASSERT_TRUE(h);
  for (double v : {0.005, 0.01, 0.05, 0.1, 0.5, 3.0})
    (*h)->observe(v);
  const auto snap = (*h)->snapshot();
  EXPECT_EQ(snap.cumulative, (std::vector<std::uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(snap.count, 6u);
  EXPECT_NEAR(snap.sum, 3.665, 1e-12);
  EXPECT_EQ(registry.expose(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{m=\"a\",le=\"0.01\"} 2\n"
            "latency_seconds_bucket{m=\"a\",le=\"0.1\"} 4\n"
            "latency_seconds_bucket{m=\"a\",le=\"1\"} 5\n"
            "latency_seconds_bucket{m=\"a\",le=\"+Inf\"} 6\n"
            "latency_seconds_sum{m=\"a\"} 3.665\n"
            "latency_seconds_count{m=\"a\"} 6\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto g = registry.gauge("g", "Line one\nback\\slash \"quoted\".", {{"path", "C:\\dir\n\"x\""}});
  ASSERT_TRUE(g);
  EXPECT_EQ(registry.expose(),
            "# HELP g Line one\\nback\\\\slash \"quoted\".\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir\\n\\\"x\\\"\"} 0\n");
}

TEST(Metrics, RefusesBadNamesAndConflictingRegistrations) {
  Registry registry;
  EXPECT_EQ(registry.counter("", "h").error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.counter("9lives", "h").error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.counter("has-dash", "h").error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.counter("ok", "h", {{"__reserved", "v"}}).error().code,
            Errc::invalid_argument);
  EXPECT_EQ(registry.counter("ok", "h", {{"bad label", "v"}}).error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.counter("ok", "h", {{"a", "1"}, {"a", "2"}}).error().code,
            Errc::invalid_argument);
  EXPECT_EQ(registry.histogram("h", "h", {1, 2}, {{"le", "x"}}).error().code,
            Errc::invalid_argument);
  EXPECT_EQ(registry.summary("s", "h", {{"quantile", "x"}}).error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.histogram("h", "h", {2, 1}).error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.histogram("h", "h", {1, 1}).error().code, Errc::invalid_argument);
  EXPECT_EQ(registry.histogram("h", "h", {1, INFINITY}).error().code, Errc::invalid_argument);

  ASSERT_TRUE(registry.counter("requests_total", "Requests.", {{"code", "200"}}));
  auto as_gauge = registry.gauge("requests_total", "Requests.");
  ASSERT_FALSE(as_gauge);
  EXPECT_EQ(as_gauge.error().code, Errc::exists);
  EXPECT_NE(as_gauge.error().message.find("requests_total"), std::string::npos);
  EXPECT_FALSE(registry.counter("requests_total", "Other help.", {{"code", "200"}}));
  EXPECT_FALSE(registry.counter("requests_total", "Requests.", {{"method", "GET"}}));

  ASSERT_TRUE(registry.histogram("rt_seconds", "RT.", {1, 2}));
  EXPECT_FALSE(registry.histogram("rt_seconds", "RT.", {1, 3}));
  auto collide = registry.gauge("rt_seconds_count", "Collides.");
  ASSERT_FALSE(collide);
  EXPECT_EQ(collide.error().code, Errc::exists);
}

TEST(Metrics, GaugeFunctionIsReadAtExposition) {
  Registry registry;
  double uptime = 1.5;
  ASSERT_TRUE(registry.gauge_fn("uptime_seconds", "Uptime.", {}, [&] { return uptime; }));
  EXPECT_NE(registry.expose().find("uptime_seconds 1.5\n"), std::string::npos);
  uptime = 7;
  EXPECT_NE(registry.expose().find("uptime_seconds 7\n"), std::string::npos);
  EXPECT_FALSE(registry.gauge("uptime_seconds", "Uptime."));  // that series reads a function
}

TEST(Metrics, FormatsSpecialValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_value(NAN), "NaN");
}

TEST(Metrics, SummaryExposesWindowQuantilesAndLifetimeSumAndCount) {
  Registry registry;
  auto s = registry.summary("lat_seconds", "Lat.", {{"model_version", "v1"}});
  ASSERT_TRUE(s);
  auto empty = registry.expose();
  EXPECT_NE(empty.find("lat_seconds{model_version=\"v1\",quantile=\"0.5\"} NaN\n"),
            std::string::npos);
  for (int i = 1; i <= 100; ++i)
    (*s)->observe(i / 1000.0);
  const auto text = registry.expose();
  EXPECT_NE(text.find("# TYPE lat_seconds summary\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds{model_version=\"v1\",quantile=\"0.5\"} 0.05\n"),
            std::string::npos);
  EXPECT_NE(text.find("lat_seconds{model_version=\"v1\",quantile=\"0.95\"} 0.095\n"),
            std::string::npos);
  EXPECT_NE(text.find("lat_seconds{model_version=\"v1\",quantile=\"0.99\"} 0.099\n"),
            std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count{model_version=\"v1\"} 100\n"), std::string::npos);
}

TEST(Window, OldSamplesLeaveTheWindowButLifetimeCountsStay) {
  Summary s(WindowOptions{std::chrono::minutes(5), 10, 4096});
  const auto t0 = Clock::time_point(std::chrono::hours(1000));
  for (int i = 0; i < 50; ++i)
    s.observe_at(10.0, t0);
  for (int i = 0; i < 50; ++i)
    s.observe_at(1.0, t0 + 2min);
  auto stats = s.window_stats(t0 + 3min);
  EXPECT_EQ(stats.count, 100u);
  EXPECT_DOUBLE_EQ(stats.mean, 5.5);
  EXPECT_DOUBLE_EQ(stats.stddev, 4.5);
  EXPECT_DOUBLE_EQ(stats.min, 1.0);
  EXPECT_DOUBLE_EQ(stats.max, 10.0);
  EXPECT_DOUBLE_EQ(stats.p95, 10.0);
  // Six minutes on, the first batch is out of the window; the second is still in.
  stats = s.window_stats(t0 + 6min);
  EXPECT_EQ(stats.count, 50u);
  EXPECT_DOUBLE_EQ(stats.mean, 1.0);
  EXPECT_DOUBLE_EQ(stats.stddev, 0.0);
  EXPECT_DOUBLE_EQ(stats.p99, 1.0);
  // Nothing at all after ten quiet minutes.
  stats = s.window_stats(t0 + 20min);
  EXPECT_EQ(stats.count, 0u);
  EXPECT_TRUE(std::isnan(stats.p50));
  EXPECT_TRUE(std::isnan(stats.mean));
  EXPECT_EQ(s.count(), 100u);
  EXPECT_DOUBLE_EQ(s.sum(), 550.0);
}

TEST(Window, ReusedSlotForgetsItsOldContents) {
  WindowedSamples w(WindowOptions{std::chrono::seconds(10), 10, 100});
  const auto t0 = Clock::time_point(std::chrono::hours(1000));
  w.add(100, t0);
  w.add(1, t0 + 10s);  // same ring position, next lap
  const auto stats = w.stats(t0 + 10s);
  EXPECT_EQ(stats.count, 1u);
  EXPECT_DOUBLE_EQ(stats.max, 1);
}

TEST(Window, ReservoirKeepsMemoryBoundedAndQuantilesClose) {
  WindowedSamples w(WindowOptions{std::chrono::seconds(10), 1, 2000});
  const auto t0 = Clock::time_point(std::chrono::hours(1000));
  // 0..99999 in a scrambled order; the true p50 is ~50000 and p99 ~99000.
  for (std::uint64_t i = 0; i < 100000; ++i)
    w.add(static_cast<double>((i * 7919) % 100000), t0);
  const auto stats = w.stats(t0);
  EXPECT_EQ(stats.count, 100000u);  // counts stay exact
  EXPECT_DOUBLE_EQ(stats.max, 99999);
  EXPECT_NEAR(stats.p50, 50000, 4000);
  EXPECT_NEAR(stats.p99, 99000, 1000);
}

TEST(Metrics, ConcurrentUpdatesAreNotLostAndExpositionStaysConsistent) {
  Registry registry;
  auto c = *registry.counter("c_total", "C.");
  auto h = *registry.histogram("h_seconds", "H.", kInferenceLatencySecondsBuckets);
  auto s = *registry.summary("s_seconds", "S.");
  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    while (!stop) {
      const auto snap = h->snapshot();
      ASSERT_EQ(snap.count, snap.cumulative.back());
      (void)registry.expose();
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        c->inc();
        h->observe(0.004);
        s->observe(0.004);
      }
    });
  }
  for (auto& w : writers)
    w.join();
  stop = true;
  scraper.join();
  EXPECT_EQ(c->value(), 80000);
  EXPECT_EQ(h->snapshot().count, 80000u);
  // Every observation sits in the first bucket whose bound is >= 0.004, and in all above it.
  const auto& bounds = kInferenceLatencySecondsBuckets;
  const auto first = std::lower_bound(bounds.begin(), bounds.end(), 0.004) - bounds.begin();
  ASSERT_GT(first, 0);
  EXPECT_EQ(h->snapshot().cumulative[first], 80000u);
  EXPECT_EQ(h->snapshot().cumulative[first - 1], 0u);
  EXPECT_EQ(s->count(), 80000u);
}

// The fleet-wide bounds keep what bench/core/buckets measured them for: ascending and finite,
// latency 1.25 x apart (at most 1.26 after rounding to 3 digits) from 1 ms to 1 s, the reject line
// (1.0) a bound of the score ratio, 0.1 steps around it.
TEST(Metrics, BucketListsKeepTheirMeasuredSpacing) {
  for (const auto* list : {&kInferenceLatencySecondsBuckets, &kRelativeAnomalyScoreBuckets}) {
    ASSERT_FALSE(list->empty());
    EXPECT_GT(list->front(), 0);
    EXPECT_TRUE(std::isfinite(list->back()));
    EXPECT_TRUE(std::adjacent_find(list->begin(), list->end(), std::greater_equal<>()) ==
                list->end())
        << "bounds must be strictly ascending";
  }
  const auto& latency = kInferenceLatencySecondsBuckets;
  EXPECT_EQ(latency.front(), 0.001);
  for (std::size_t i = 1; i < latency.size() && latency[i] <= 1.0; ++i)
    EXPECT_LE(latency[i] / latency[i - 1], 1.26)
        << "between " << latency[i - 1] << " and " << latency[i];
  EXPECT_GE(latency.back(), 2.5);
  const auto& score = kRelativeAnomalyScoreBuckets;
  EXPECT_TRUE(std::find(score.begin(), score.end(), 1.0) != score.end());
  for (std::size_t i = 1; i < score.size() && score[i] <= 1.2; ++i)
    if (score[i - 1] >= 0.8) {
      EXPECT_NEAR(score[i] - score[i - 1], 0.1, 1e-9);
    }
}

// The exposition must be accepted by Prometheus's own checker, not just by our expectations.
TEST(Metrics, PromtoolAcceptsTheExposition) {
  Registry registry;
  (*registry.counter("edgefleet_frames_processed_total", "Frames processed.",
                     {{"model_version", "v\"1\"\n"}}))
      ->inc(3);
  (*registry.histogram("edgefleet_inference_latency_seconds", "Latency.",
                       kInferenceLatencySecondsBuckets, {{"model_version", "v1"}}))
      ->observe(0.003);
  (*registry.summary("edgefleet_inference_latency_window_seconds", "Latency, last 5 min.",
                     {{"model_version", "v1"}}))
      ->observe(0.003);
  ASSERT_TRUE(registry.gauge_fn("edgefleet_uptime_seconds", "Uptime.", {}, [] { return 12.0; }));
  const auto path = std::filesystem::temp_directory_path() /
                    ("ef-metrics-" + std::to_string(::getpid()) + ".prom");
  std::ofstream(path) << registry.expose();
  const std::string command = "promtool check metrics < " + path.string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe))
    output += buffer;
  const int status = ::pclose(pipe);
  std::filesystem::remove(path);
  EXPECT_EQ(status, 0) << "promtool (from Debian's prometheus package) said: " << output;
}

TEST(Metrics, GaugeFamiliesAreReadWholeAtEachExposition) {
  Registry r;
  Registry::GaugeReadings now = {{{{"device", "cam-01"}}, 1.0}, {{{"device", "cam-\"2"}}, 0.0}};
  ASSERT_TRUE(r.gauges_fn("fleet_online", "Online devices.", {"device"}, [&] { return now; }));
  auto text = r.expose();
  EXPECT_NE(text.find("fleet_online{device=\"cam-01\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fleet_online{device=\"cam-\\\"2\"} 0\n"), std::string::npos) << text;
  // The set changes between scrapes; a reading with other label names is left out.
  now = {{{{"device", "cam-03"}}, 1.0}, {{{"site", "x"}}, 1.0}};
  text = r.expose();
  EXPECT_EQ(text.find("cam-01"), std::string::npos);
  EXPECT_NE(text.find("fleet_online{device=\"cam-03\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("site="), std::string::npos);
  EXPECT_FALSE(r.gauges_fn("fleet_online", "Online devices.", {"device"},
                           [] { return Registry::GaugeReadings{}; }));
  EXPECT_FALSE(r.gauges_fn("bad name", "x", {"device"}, [] { return Registry::GaugeReadings{}; }));
}

}  // namespace
}  // namespace ef::metrics

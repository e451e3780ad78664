// histogram_quantile against cases worked out by hand from PromQL's bucketQuantile rules.
#include "histogram_quantile.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/metrics/buckets.hpp"

namespace {

using ef::bench::bucketize_sorted;
using ef::bench::CumulativeBucket;
using ef::bench::exact_quantile_sorted;
using ef::bench::histogram_quantile;

constexpr double kInf = std::numeric_limits<double>::infinity();

// PromQL's own test histogram: 50 <= 0.1, 70 <= 0.2, 110 <= 1, 120 in all.
const std::vector<CumulativeBucket> kPositive = {{0.1, 50}, {0.2, 70}, {1, 110}, {kInf, 120}};

TEST(HistogramQuantile, InterpolatesLinearlyInsideTheBucket) {
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, kPositive), 0.15);   // rank 60: 0.1 + 0.1 * 10/20
  EXPECT_DOUBLE_EQ(histogram_quantile(0.9, kPositive), 0.96);   // rank 108: 0.2 + 0.8 * 38/40
  EXPECT_DOUBLE_EQ(histogram_quantile(0.25, kPositive), 0.06);  // first bucket starts at 0
  EXPECT_DOUBLE_EQ(histogram_quantile(0, kPositive), 0);        // rank 0 in the first bucket
  EXPECT_DOUBLE_EQ(histogram_quantile(0.875, kPositive), 0.9);  // rank 105: 0.2 + 0.8 * 35/40
}

TEST(HistogramQuantile, InTheInfBucketGivesTheHighestFiniteBound) {
  EXPECT_DOUBLE_EQ(histogram_quantile(0.99, kPositive), 1);  // rank 118.8 > 110
  EXPECT_DOUBLE_EQ(histogram_quantile(1, kPositive), 1);
}

TEST(HistogramQuantile, AFirstBoundAtOrBelowZeroIsReturnedAsIs) {
  const std::vector<CumulativeBucket> b = {{-0.2, 10}, {-0.1, 20}, {0.3, 20}, {kInf, 30}};
  EXPECT_DOUBLE_EQ(histogram_quantile(0.2, b), -0.2);   // rank 6, first bucket: no interpolation
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, b), -0.15);  // rank 15: -0.2 + 0.1 * 5/10
  EXPECT_DOUBLE_EQ(histogram_quantile(0.8, b), 0.3);    // rank 24: +Inf bucket
  EXPECT_DOUBLE_EQ(histogram_quantile(0.1, {{0, 5}, {1, 10}, {kInf, 10}}), 0);
}

TEST(HistogramQuantile, OutOfRangeQuantiles) {
  EXPECT_TRUE(std::isnan(histogram_quantile(std::nan(""), kPositive)));
  EXPECT_EQ(histogram_quantile(-0.1, kPositive), -kInf);
  EXPECT_EQ(histogram_quantile(1.01, kPositive), kInf);
  EXPECT_EQ(histogram_quantile(-0.1, {}), -kInf);  // q is checked before the buckets, as PromQL
}

TEST(HistogramQuantile, UnusableBucketsGiveNaN) {
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {})));
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{0.1, 5}, {1, 10}})));            // no +Inf
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{kInf, 10}})));                   // fewer than 2
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{0.1, 0}, {1, 0}, {kInf, 0}})));  // empty
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{kInf, 4}, {kInf, 6}})));  // merged into one
  // PromQL divides 0 by 0 when q is 0 and the first bucket is empty; so do we.
  EXPECT_TRUE(std::isnan(histogram_quantile(0, {{1, 0}, {2, 5}, {kInf, 5}})));
}

TEST(HistogramQuantile, SortsAndMergesEqualBounds) {
  const std::vector<CumulativeBucket> shuffled = {{kInf, 120}, {0.2, 70}, {1, 110}, {0.1, 50}};
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, shuffled), 0.15);
  // Two series for le="1" (say "1" and "1.0" from two exporters) add up: 10 <= 1, 20 <= 3.
  const std::vector<CumulativeBucket> twice = {{1, 4}, {3, 20}, {1, 6}, {kInf, 20}};
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, twice), 1);   // rank 10: all of the first bucket
  EXPECT_DOUBLE_EQ(histogram_quantile(0.75, twice), 2);  // rank 15: 1 + 2 * 5/10
}

TEST(HistogramQuantile, FlattensDecreasingCounts) {
  // 5 <= 2 after 10 <= 1 cannot be; PromQL takes the running maximum (10 <= 2).
  const std::vector<CumulativeBucket> b = {{1, 10}, {2, 5}, {3, 20}, {kInf, 20}};
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, b), 1);     // rank 10, first bucket
  EXPECT_DOUBLE_EQ(histogram_quantile(0.75, b), 2.5);  // rank 15: 2 + 1 * 5/10, not inside (1, 2]
}

TEST(HistogramQuantile, IgnoresFloatNoiseBetweenCounts) {
  // Counts from rate() differ in the 13th digit: without the correction the rank (10 * (1 +
  // 1e-13)) would fall in (1, 2] and interpolate to 2.
  const double noisy = 10 * (1 + 1e-13);
  EXPECT_DOUBLE_EQ(histogram_quantile(1, {{1, 10}, {2, noisy}, {kInf, noisy}}), 1);
  // A real difference (1e-9 relative) is kept.
  const double real = 10 * (1 + 1e-9);
  EXPECT_DOUBLE_EQ(histogram_quantile(1, {{1, 10}, {2, real}, {kInf, real}}), 2);
}

TEST(Bucketize, CountsObservationsAtOrBelowEachBound) {
  const std::vector<double> sorted = {0.5, 1, 1, 2, 5};
  const auto b = bucketize_sorted(sorted, {1, 2, 4});
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].count, 3);  // a value on the bound belongs to it (le = less or equal)
  EXPECT_EQ(b[1].count, 4);
  EXPECT_EQ(b[2].count, 4);
  EXPECT_EQ(b[3].upper_bound, kInf);
  EXPECT_EQ(b[3].count, 5);
}

TEST(ExactQuantile, InterpolatesBetweenNeighbours) {
  const std::vector<double> sorted = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(exact_quantile_sorted(sorted, 0.5), 2.5);    // rank 1.5
  EXPECT_DOUBLE_EQ(exact_quantile_sorted(sorted, 0.99), 3.97);  // rank 2.97
  EXPECT_DOUBLE_EQ(exact_quantile_sorted(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(exact_quantile_sorted(sorted, 1), 4);
  EXPECT_DOUBLE_EQ(exact_quantile_sorted({7}, 0.99), 7);
  EXPECT_TRUE(std::isnan(exact_quantile_sorted({}, 0.5)));
}

TEST(HistogramQuantile, FineBucketsRecoverTheQuantileOfUniformSamples) {
  std::vector<double> sorted, bounds;
  for (int i = 1; i <= 10000; ++i)
    sorted.push_back(i / 10000.0);
  for (int i = 1; i <= 100; ++i)
    bounds.push_back(i / 100.0);
  const auto b = bucketize_sorted(sorted, bounds);
  EXPECT_NEAR(histogram_quantile(0.99, b), exact_quantile_sorted(sorted, 0.99), 1e-4);
  EXPECT_NEAR(histogram_quantile(0.5, b), exact_quantile_sorted(sorted, 0.5), 1e-4);
}

// A promtool rule test asking Prometheus (Debian's 2.42) for histogram_quantile over the series
// `name`, expecting what ours computes.
std::string promtool_case(const std::string& name, const std::vector<CumulativeBucket>& buckets,
                          std::string& expectations) {
  std::ostringstream series;
  series.precision(17);
  for (const auto& b : buckets) {
    series << "      - series: '" << name << "_bucket{le=\"";
    if (std::isinf(b.upper_bound))
      series << "+Inf";
    else
      series << b.upper_bound;
    series << "\"}'\n        values: '" << b.count << "'\n";
  }
  std::ostringstream tests;
  tests.precision(17);
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0})
    tests << "      - expr: histogram_quantile(" << q << ", " << name << "_bucket)\n"
          << "        eval_time: 0m\n        exp_samples:\n          - labels: '{}'\n"
          << "            value: " << histogram_quantile(q, buckets) << "\n";
  expectations += tests.str();
  return series.str();
}

TEST(HistogramQuantile, AgreesWithPrometheus) {
  std::mt19937_64 rng(7);  // a small fleet of lognormal devices on the fleet-wide latency list
  std::vector<double> samples;
  for (int device = 0; device < 20; ++device) {
    const double median = std::uniform_real_distribution<double>(0.003, 0.06)(rng);
    for (int i = 0; i < 2000; ++i)
      samples.push_back(median * std::exp(0.4 * std::normal_distribution<double>(0, 1)(rng)));
  }
  std::sort(samples.begin(), samples.end());
  std::string series, tests;
  series += promtool_case("positive", kPositive, tests);
  series += promtool_case("negative", {{-0.2, 10}, {-0.1, 20}, {0.3, 20}, {kInf, 30}}, tests);
  series += promtool_case("decreasing", {{1, 10}, {2, 5}, {3, 20}, {kInf, 20}}, tests);
  series += promtool_case(
      "fleet", bucketize_sorted(samples, ef::metrics::kInferenceLatencySecondsBuckets), tests);
  const auto path = std::filesystem::temp_directory_path() /
                    ("ef-histogram-quantile-" + std::to_string(::getpid()) + ".yml");
  std::ofstream(path) << "rule_files: []\ntests:\n  - interval: 1m\n    input_series:\n"
                      << series << "    promql_expr_test:\n"
                      << tests;
  const std::string command = "promtool test rules " + path.string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe))
    output += buffer;
  const int status = ::pclose(pipe);
  std::filesystem::remove(path);
  EXPECT_EQ(status, 0) << "promtool (Debian's prometheus package) said: " << output;
}

}  // namespace

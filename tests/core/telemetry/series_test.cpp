#include "core/telemetry/series.hpp"

#include <gtest/gtest.h>

namespace ef::telemetry {
namespace {

TEST(Series, SortLabelsOrdersByName) {
  metrics::Labels labels = {{"zone", "1"}, {"a", "2"}, {"job", "3"}};
  sort_labels(labels);
  EXPECT_EQ(labels, (metrics::Labels{{"a", "2"}, {"job", "3"}, {"zone", "1"}}));
}

TEST(Series, PointCountSumsAllSeries) {
  Batch b;
  EXPECT_EQ(point_count(b), 0u);
  b.series.push_back({"a", {}, {{1, 1.0}, {2, 2.0}}});
  b.series.push_back({"b", {}, {}});
  b.series.push_back({"c", {}, {{1, 1.0}, {2, 2.0}, {3, 3.0}}});
  EXPECT_EQ(point_count(b), 5u);
}

TEST(Series, MergeConcatenatesTheSameSeriesAndSpansTheSequences) {
  Batch first{3, 4, {{"up", {{"job", "a"}}, {{10, 1.0}}}, {"down", {}, {{10, 0.0}}}}};
  Batch second{5, 6, {{"up", {{"job", "a"}}, {{20, 2.0}}}, {"up", {{"job", "b"}}, {{20, 5.0}}}}};
  Batch third{7, 9, {{"down", {}, {{30, 1.0}}}, {"up", {{"job", "a"}}, {{30, 3.0}}}}};
  const Batch merged = merge({first, second, third});
  EXPECT_EQ(merged.first_sequence, 3u);
  EXPECT_EQ(merged.last_sequence, 9u);
  ASSERT_EQ(merged.series.size(), 3u);
  EXPECT_EQ(merged.series[0].name, "up");
  EXPECT_EQ(merged.series[0].points, (std::vector<Point>{{10, 1.0}, {20, 2.0}, {30, 3.0}}));
  EXPECT_EQ(merged.series[1].name, "down");
  EXPECT_EQ(merged.series[1].points, (std::vector<Point>{{10, 0.0}, {30, 1.0}}));
  EXPECT_EQ(merged.series[2].labels, (metrics::Labels{{"job", "b"}}));
  EXPECT_EQ(point_count(merged), 6u);
}

TEST(Series, MergeTellsSeriesApartByLabelsNotJustName) {
  Batch a{1, 1, {{"m", {{"x", "1"}}, {{1, 1.0}}}}};
  Batch b{2, 2, {{"m", {{"x", "2"}}, {{2, 2.0}}}}};
  EXPECT_EQ(merge({a, b}).series.size(), 2u);
}

TEST(Series, MergeOfNothingIsEmpty) {
  EXPECT_EQ(merge({}), Batch{});
  Batch only{4, 8, {{"m", {}, {{1, 1.0}}}}};
  EXPECT_EQ(merge({only}), only);
}

}  // namespace
}  // namespace ef::telemetry

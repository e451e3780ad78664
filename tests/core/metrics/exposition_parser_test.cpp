#include "core/metrics/exposition_parser.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/metrics/metrics.hpp"

namespace ef::metrics {
namespace {

TEST(ExpositionParser, ReadsSamplesLabelsTypesAndTimestamps) {
  auto parsed = parse_exposition(
      "# HELP frames_total Frames.\n"
      "# TYPE frames_total counter\n"
      "frames_total 12\n"
      "temp_celsius{zone=\"cpu\",board=\"a \\\"b\\\" \\\\ c\\nd\"} 41.5 1700000000000\n"
      "\n"
      "latency_bucket{le=\"+Inf\"} +Inf\r\n"
      "score NaN\n"
      "  spaced  { b = \"2\" , a = \"1\" , }   -3e-2  \n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->samples.size(), 5u);
  EXPECT_EQ(parsed->types.at("frames_total"), "counter");
  EXPECT_EQ(parsed->samples[0].name, "frames_total");
  EXPECT_EQ(parsed->samples[0].value, 12);
  const auto& temp = parsed->samples[1];
  ASSERT_EQ(temp.labels.size(), 2u);
  EXPECT_EQ(temp.labels[0], (std::pair<std::string, std::string>{"board", "a \"b\" \\ c\nd"}));
  EXPECT_EQ(temp.labels[1], (std::pair<std::string, std::string>{"zone", "cpu"}));
  EXPECT_EQ(temp.timestamp_ms, 1700000000000);
  EXPECT_TRUE(std::isinf(parsed->samples[2].value));
  EXPECT_TRUE(std::isnan(parsed->samples[3].value));
  EXPECT_EQ(parsed->samples[4].labels[0].first, "a");  // sorted
  EXPECT_DOUBLE_EQ(parsed->samples[4].value, -0.03);
}

TEST(ExpositionParser, ReadsWhatOurOwnRegistryWrites) {
  Registry registry;
  auto counter = registry.counter("edgefleet_frames_total", "Frames.", {{"model_version", "a\"1"}});
  ASSERT_TRUE(counter);
  (*counter)->inc(3);
  auto histogram = registry.histogram("edgefleet_latency_seconds", "Latency.", {0.01, 0.1});
  ASSERT_TRUE(histogram);
  (*histogram)->observe(0.05);
  auto parsed = parse_exposition(registry.expose());
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << registry.expose();
  EXPECT_EQ(parsed->types.at("edgefleet_latency_seconds"), "histogram");
  bool found = false;
  for (const auto& s : parsed->samples) {
    if (s.name == "edgefleet_frames_total") {
      found = true;
      EXPECT_EQ(s.value, 3);
      EXPECT_EQ(s.labels.at(0).second, "a\"1");
    }
  }
  EXPECT_TRUE(found);
}

TEST(ExpositionParser, RefusesHostileTextWithTheLineNumber) {
  for (const char* hostile : {
           "1abc 1\n",                            // name starts with a digit
           "x{a=1} 1\n",                          // unquoted label value
           "x{a=\"1} 1\n",                        // unterminated value
           "x{a=\"\\t\"} 1\n",                    // unknown escape
           "x{a=\"1\",a=\"2\"} 1\n",              // a label twice
           "x{__name__ =\"1\" 1\n",               // missing '}'
           "x{1a=\"1\"} 1\n",                     // invalid label name
           "x one\n",                             // not a number
           "x 1 12abc\n",                         // bad timestamp
           "x 1 2 3\n",                           // text after the timestamp
           "x\n",                                 // no value
           "# TYPE x thermometer\n",              // unknown type
           "# TYPE x gauge\n# TYPE x counter\n",  // two TYPEs
       }) {
    auto parsed = parse_exposition(hostile);
    ASSERT_FALSE(parsed) << "accepted: " << hostile;
    EXPECT_EQ(parsed.error().code, Errc::malformed) << hostile;
    EXPECT_NE(parsed.error().message.find("line "), std::string::npos) << hostile;
  }
  auto second_line = parse_exposition("ok 1\nbad{ 1\n");
  ASSERT_FALSE(second_line);
  EXPECT_EQ(second_line.error().message.rfind("line 2:", 0), 0u) << second_line.error().message;
}

TEST(ExpositionParser, BoundsSizeSamplesAndLabels) {
  ExpositionLimits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(parse_exposition("x 1\ny 2\nz 3\n", limits).error().code, Errc::too_large);
  limits = {};
  limits.max_samples = 2;
  EXPECT_EQ(parse_exposition("x 1\ny 2\nz 3\n", limits).error().code, Errc::too_large);
  limits = {};
  limits.max_labels = 1;
  EXPECT_FALSE(parse_exposition("x{a=\"1\",b=\"2\"} 1\n", limits));
  limits = {};
  limits.max_label_value_bytes = 3;
  EXPECT_FALSE(parse_exposition("x{a=\"1234\"} 1\n", limits));
}

}  // namespace
}  // namespace ef::metrics

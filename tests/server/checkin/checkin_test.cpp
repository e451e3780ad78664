// The check-in report parser: what a device may report, and hostile reports refused whole.
#include "server/checkin/checkin.hpp"

#include <gtest/gtest.h>

namespace ef::checkin {
namespace {

// As the check-in route reads a body: floats allowed (figures such as frames per second).
json::Json parse(const std::string& text) {
  auto parsed = json::parse_strict(text, {.allow_floats = true});
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : json::Json();
}

TEST(CheckinReport, KeepsKnownFieldsAndDropsUnknownOnes) {
  auto report = normalize_report(parse(R"({
      "installed_release": "1.2.0", "model_version": "ae-2", "agent_version": "0.1.0",
      "update": {"phase": "downloading", "progress": 40, "release": "1.3.0"},
      "runtime": {"frames_per_second": 29.5, "restarts": 1, "uptime_seconds": null},
      "hardware": {"make": "Acme", "memory_bytes": 8000000000},
      "favourite_colour": "blue"})"));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ((*report)["installed_release"], "1.2.0");
  EXPECT_EQ((*report)["update"]["progress"], 40);
  EXPECT_EQ((*report)["runtime"]["frames_per_second"], 29.5);
  EXPECT_FALSE(report->contains("favourite_colour"));
}

TEST(CheckinReport, AnEmptyReportIsAPlainPollAndNullClears) {
  auto empty = normalize_report(parse("{}"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto cleared = normalize_report(parse(R"({"last_failure_reason": null, "trial_release": null})"));
  ASSERT_TRUE(cleared) << cleared.error().message;
  EXPECT_TRUE((*cleared)["last_failure_reason"].is_null());
  EXPECT_TRUE(cleared->contains("trial_release"));
}

TEST(CheckinReport, RefusesWrongTypesSizesAndRanges) {
  for (const char* hostile : {
           R"([])",
           R"({"installed_release": 5})",
           R"({"model_version": {"x": 1}})",
           R"({"update": {"progress": 101}})",
           R"({"update": {"progress": -1}})",
           R"({"update": {"phase": "Downloading!"}})",
           R"({"update": "downloading"})",
           R"({"runtime": {"frames_per_second": -3}})",
           R"({"runtime": {"restarts": 1.5}})",
           R"({"hardware": {"disk_free_bytes": -1}})",
           R"({"last_update": {"kind": "firmware"}})",
           R"({"last_update": {"outcome": "maybe"}})",
       }) {
    auto report = normalize_report(parse(hostile));
    EXPECT_FALSE(report) << "accepted: " << hostile;
  }
  EXPECT_FALSE(normalize_report(json::Json("report")));
  EXPECT_FALSE(normalize_report(json::Json()));
  const std::string long_release = "{\"installed_release\": \"" + std::string(65, 'x') + "\"}";
  EXPECT_FALSE(normalize_report(parse(long_release)));
  const std::string long_reason = "{\"last_failure_reason\": \"" + std::string(2049, 'x') + "\"}";
  EXPECT_FALSE(normalize_report(parse(long_reason)));
}

}  // namespace
}  // namespace ef::checkin

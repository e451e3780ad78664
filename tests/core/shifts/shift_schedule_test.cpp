#include "core/shifts/shift_schedule.hpp"

#include <gtest/gtest.h>

#include "core/common/fs.hpp"
#include "core/common/time.hpp"

namespace ef::shifts {
namespace {

// 2026-12-03T00:00:00Z
constexpr std::int64_t kMidnight = 1796256000;
constexpr std::int64_t kH = 3600;

const char* kThreeShifts = R"({
  "sites": {
    "plant-a": {"utc_offset": "+01:00", "shifts": [
      {"name": "late", "start": "14:00"}, {"name": "early", "start": "06:00"},
      {"name": "night", "start": "22:00"}]},
    "plant-b": {"utc_offset": "-05:30", "shifts": [{"name": "day", "start": "07:00"}]}
  },
  "default": {"utc_offset": "+00:00", "shifts": [
    {"name": "a", "start": "00:00"}, {"name": "b", "start": "12:00"}]}
})";

Schedules three() {
  auto s = Schedules::parse(kThreeShifts);
  EXPECT_TRUE(s) << s.error().message;
  return *s;
}

void expect_window(const Result<ShiftWindow>& w, const std::string& name, std::int64_t start,
                   std::int64_t end) {
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->name, name);
  EXPECT_EQ(w->start_unix, start);
  EXPECT_EQ(w->end_unix, end);
}

TEST(ShiftSchedule, KnownMidnightConstant) {
  EXPECT_EQ(format_utc(UtcTime(std::chrono::seconds(kMidnight))), "2026-12-03T00:00:00Z");
}

TEST(ShiftSchedule, ShiftAtWithPositiveOffset) {
  const auto s = three();
  // 10:00 UTC = 11:00 local: early, 06:00-14:00 local = 05:00-13:00 UTC.
  expect_window(s.shift_at("plant-a", kMidnight + 10 * kH), "early", kMidnight + 5 * kH,
                kMidnight + 13 * kH);
  // 13:00 UTC exactly = 14:00 local: late begins (a boundary belongs to the shift it starts).
  expect_window(s.shift_at("plant-a", kMidnight + 13 * kH), "late", kMidnight + 13 * kH,
                kMidnight + 21 * kH);
  expect_window(s.shift_at("plant-a", kMidnight + 13 * kH - 1), "early", kMidnight + 5 * kH,
                kMidnight + 13 * kH);
}

TEST(ShiftSchedule, NightShiftWrapsPastMidnight) {
  const auto s = three();
  // 00:30 UTC = 01:30 local: night started at 22:00 local the day before (21:00 UTC).
  expect_window(s.shift_at("plant-a", kMidnight + kH / 2), "night", kMidnight - 3 * kH,
                kMidnight + 5 * kH);
  // 23:00 UTC = 00:00 local next day: still the same night.
  expect_window(s.shift_at("plant-a", kMidnight + 23 * kH), "night", kMidnight + 21 * kH,
                kMidnight + 29 * kH);
  expect_window(s.shift_at("plant-a", kMidnight + 21 * kH), "night", kMidnight + 21 * kH,
                kMidnight + 29 * kH);
}

TEST(ShiftSchedule, SingleShiftLastsADayWithNegativeHalfHourOffset) {
  const auto s = three();
  // day starts 07:00 local = 12:30 UTC.
  const std::int64_t start = kMidnight + 12 * kH + kH / 2;
  expect_window(s.shift_at("plant-b", start), "day", start, start + 24 * kH);
  expect_window(s.shift_at("plant-b", start - 1), "day", start - 24 * kH, start);
  expect_window(s.previous("plant-b", start + 5), "day", start - 24 * kH, start);
}

TEST(ShiftSchedule, DefaultAppliesToUnlistedSites) {
  const auto s = three();
  expect_window(s.shift_at("elsewhere", kMidnight + 12 * kH), "b", kMidnight + 12 * kH,
                kMidnight + 24 * kH);
  expect_window(s.shift_at("elsewhere", kMidnight), "a", kMidnight, kMidnight + 12 * kH);
  auto only_sites = Schedules::parse(
      R"({"sites": {"x": {"utc_offset": "+00:00", "shifts": [{"name": "d", "start": "00:00"}]}}})");
  ASSERT_TRUE(only_sites);
  auto none = only_sites->shift_at("y", kMidnight);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
}

TEST(ShiftSchedule, PreviousAndLatestNamed) {
  const auto s = three();
  const std::int64_t t = kMidnight + 10 * kH;  // early running
  expect_window(s.previous("plant-a", t), "night", kMidnight - 3 * kH, kMidnight + 5 * kH);
  expect_window(s.latest("plant-a", "early", t), "early", kMidnight + 5 * kH, kMidnight + 13 * kH);
  expect_window(s.latest("plant-a", "late", t), "late", kMidnight - 11 * kH, kMidnight - 3 * kH);
  auto missing = s.latest("plant-a", "weekend", t);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(ShiftSchedule, NegativeUnixTimesUseFloorDivision) {
  const auto s = three();
  expect_window(s.shift_at("elsewhere", -1), "b", -12 * kH, 0);
}

TEST(ShiftSchedule, JsonRoundTrips) {
  const auto s = three();
  const auto again = Schedules::parse(s.to_json().dump());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->to_json(), s.to_json());
  EXPECT_EQ(s.to_json()["sites"]["plant-b"]["utc_offset"], "-05:30");
  EXPECT_EQ(s.to_json()["sites"]["plant-a"]["shifts"][0]["name"], "early");  // sorted by start
}

struct Hostile {
  const char* name;
  std::string text;
  const char* message_part;
};

std::string site(const std::string& offset, const std::string& shifts) {
  return R"({"sites": {"p": {"utc_offset": ")" + offset + R"(", "shifts": [)" + shifts + "]}}}";
}

TEST(ShiftSchedule, RefusesHostileFiles) {
  const std::string ok = R"({"name": "a", "start": "06:00"})";
  const std::vector<Hostile> cases = {
      {"not json", "{", ""},
      {"array document", "[]", "object"},
      {"empty document", "{}", "neither"},
      {"unknown top key", R"({"default": {"utc_offset": "+00:00", "shifts": [{"name": "a",
        "start": "00:00"}]}, "timezone": "x"})",
       "timezone"},
      {"unknown site key", R"({"sites": {"p": {"utc_offset": "+00:00", "tz": "x", "shifts":
        [{"name": "a", "start": "00:00"}]}}})",
       "tz"},
      {"unknown shift key", site("+00:00", R"({"name": "a", "start": "06:00", "end": "07:00"})"),
       "end"},
      {"hour 24", site("+00:00", R"({"name": "a", "start": "24:00"})"), "start"},
      {"minute 60", site("+00:00", R"({"name": "a", "start": "06:60"})"), "start"},
      {"short time", site("+00:00", R"({"name": "a", "start": "6:00"})"), "start"},
      {"seconds", site("+00:00", R"({"name": "a", "start": "06:00:00"})"), "start"},
      {"number time", site("+00:00", R"({"name": "a", "start": 600})"), "start"},
      {"empty list", site("+00:00", ""), "at least one"},
      {"missing list", R"({"sites": {"p": {"utc_offset": "+00:00"}}})", "at least one"},
      {"duplicate name", site("+00:00", ok + R"(, {"name": "a", "start": "07:00"})"), "repeated"},
      {"duplicate start", site("+00:00", ok + R"(, {"name": "b", "start": "06:00"})"), "06:00"},
      {"duplicate json key", R"({"sites": {"p": {}, "p": {}}})", ""},
      {"upper-case name", site("+00:00", R"({"name": "Early", "start": "06:00"})"), "[a-z0-9_-]"},
      {"empty name", site("+00:00", R"({"name": "", "start": "06:00"})"), "[a-z0-9_-]"},
      {"long name",
       site("+00:00", R"({"name": ")" + std::string(33, 'a') + R"(", "start": "06:00"})"),
       "[a-z0-9_-]"},
      {"label injection", site("+00:00", R"({"name": "a\",x=\"", "start": "06:00"})"),
       "[a-z0-9_-]"},
      {"offset without sign", site("01:00", ok), "utc_offset"},
      {"offset too far", site("+15:00", ok), "utc_offset"},
      {"offset words", site("Europe/Berlin", ok), "utc_offset"},
      {"empty site name", R"({"sites": {"": {"utc_offset": "+00:00", "shifts": [{"name": "a",
        "start": "00:00"}]}}})",
       "site name"},
      {"oversized", std::string(kMaxFileBytes + 1, ' '), "KiB"},
  };
  for (const auto& c : cases) {
    auto parsed = Schedules::parse(c.text);
    ASSERT_FALSE(parsed) << c.name;
    EXPECT_NE(parsed.error().message.find(c.message_part), std::string::npos)
        << c.name << ": " << parsed.error().message;
  }
}

TEST(ShiftSchedule, TooManyShiftsRefused) {
  std::string list;
  for (int i = 0; i < 49; ++i)
    list += (i ? "," : "") + std::string(R"({"name": "s)") + std::to_string(i) +
            R"(", "start": ")" + format_clock(i * 29) + R"("})";
  EXPECT_FALSE(Schedules::parse(site("+00:00", list)));
}

TEST(ShiftSchedule, TheShippedExampleParses) {
  auto text = read_file(std::string(EF_SOURCE_DIR) + "/deploy/shifts.example.json", 1 << 20);
  ASSERT_TRUE(text) << text.error().message;
  auto s = Schedules::parse(*text);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->sites().size(), 2u);
  EXPECT_TRUE(s->fallback());
  // plant-b at UTC-5: night 19:00-07:00 local = 00:00-12:00 UTC.
  expect_window(s->shift_at("plant-b", kMidnight + 3 * kH), "night", kMidnight,
                kMidnight + 12 * kH);
}

}  // namespace
}  // namespace ef::shifts

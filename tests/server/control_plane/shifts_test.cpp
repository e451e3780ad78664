// The control plane with --shifts: the edgefleet_server_site_shift gauge (sites from the file and
// from registered devices) and GET /api/v1/shifts for operators; without shifts, neither.
#include "fleet_fixture.hpp"

namespace ef::test {
namespace {

// plant-a: one shift, so "all" runs whatever the time; the default has two shifts 12 h apart.
const char* kSchedules = R"({
  "sites": {"plant-a": {"utc_offset": "+01:00", "shifts": [{"name": "all", "start": "06:00"}]}},
  "default": {"utc_offset": "+00:00", "shifts": [
    {"name": "am", "start": "00:00"}, {"name": "pm", "start": "12:00"}]}
})";

class ShiftsTest : public FleetFixture {
 protected:
  void configure(control_plane::Config& config) override {
    auto parsed = shifts::Schedules::parse(kSchedules);
    ASSERT_TRUE(parsed) << parsed.error().message;
    config.shifts = std::move(*parsed);
  }
};

class NoShiftsTest : public FleetFixture {};

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST_F(ShiftsTest, GaugeMarksEachSitesCurrentShift) {
  add_device("cam-1", {{"site", "plant-b"}, {"cell", "line-1"}});
  add_device("cam-2", {{"site", "plant-r"}, {"cell", "line-1"}});
  ASSERT_EQ(call("POST", "/api/v1/devices/cam-2/revoke", nullptr, admin_).status, 200);
  // Read the clock around the scrape: a scrape straddling noon or midnight is retried once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto before = utc_now().time_since_epoch().count() % 86400;
    const auto metrics = call("GET", "/metrics").raw;
    const auto after = utc_now().time_since_epoch().count() % 86400;
    if ((before < 43200) != (after < 43200) || after < before) continue;
    const bool am = after < 43200;
    EXPECT_TRUE(has_line(metrics, R"(edgefleet_server_site_shift{shift="all",site="plant-a"} 1)"))
        << metrics;
    EXPECT_TRUE(has_line(metrics,
                         std::string(R"(edgefleet_server_site_shift{shift="am",site="plant-b"} )") +
                             (am ? "1" : "0")))
        << metrics;
    EXPECT_TRUE(has_line(metrics,
                         std::string(R"(edgefleet_server_site_shift{shift="pm",site="plant-b"} )") +
                             (am ? "0" : "1")))
        << metrics;
    // Exactly one shift per site is 1; no site that neither the file nor a live device names
    // (plant-r has only a revoked device).
    std::size_t ones = 0, series = 0;
    for (std::size_t p = metrics.find("\nedgefleet_server_site_shift{"); p != std::string::npos;
         p = metrics.find("\nedgefleet_server_site_shift{", p + 1)) {
      ++series;
      const auto eol = metrics.find('\n', p + 1);
      if (metrics.substr(eol - 2, 2) == " 1") ++ones;
    }
    EXPECT_EQ(series, 3u);
    EXPECT_EQ(ones, 2u);
    return;
  }
  FAIL() << "every scrape straddled a shift change";
}

TEST_F(ShiftsTest, ApiServesTheSchedulesToOperatorsOnly) {
  auto r = call("GET", "/api/v1/shifts", nullptr, admin_);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, shifts::Schedules::parse(kSchedules)->to_json());
  EXPECT_EQ(r.body["sites"]["plant-a"]["utc_offset"], "+01:00");
  EXPECT_EQ(call("GET", "/api/v1/shifts").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/shifts", nullptr, "eft_" + std::string(64, '0')).status, 401);
  auto reader = call("POST", "/api/v1/tokens", {{"name", "viewer"}, {"role", "read-only"}}, admin_);
  ASSERT_EQ(reader.status, 201) << reader.raw;
  EXPECT_EQ(call("GET", "/api/v1/shifts", nullptr, reader.body.value("token", "")).status, 200);
}

TEST_F(NoShiftsTest, NoGaugeAndA404WithoutShifts) {
  add_device("cam-1", {{"site", "plant-b"}, {"cell", "line-1"}});
  EXPECT_EQ(call("GET", "/metrics").raw.find("edgefleet_server_site_shift"), std::string::npos);
  auto r = call("GET", "/api/v1/shifts", nullptr, admin_);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.raw.find("--shifts"), std::string::npos);
}

}  // namespace
}  // namespace ef::test

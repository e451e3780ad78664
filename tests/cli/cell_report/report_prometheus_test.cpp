// `edgefleet report cells` against a real Prometheus (Debian's, on 127.0.0.1 in a temporary
// folder): two sites on different schedules, three cells, counters whose per-minute steps change
// at shift boundaries and one device restart (a counter reset). The samples are backfilled with
// `promtool tsdb create-blocks-from openmetrics`; the shift schedules come from a stand-in for the
// server's GET /api/v1/shifts (the real route has its own tests). Expected figures are summed
// here from the same per-minute steps, independently of Prometheus and of the CLI's code.
// Skipped when prometheus or promtool is not installed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "core/common/time.hpp"
#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"
#include "fleet_processes.hpp"
#include "run_command.hpp"
#include "test_http_server.hpp"

namespace {

namespace fs = std::filesystem;
using ef::testing::run_command;

const std::string kCli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";
constexpr std::int64_t kH = 3600;

// plant-a at UTC+1: early 05:00-13:00 UTC, late 13:00-21:00, night 21:00-05:00.
// plant-b follows the default at UTC+0: day 06:00-18:00, night 18:00-06:00.
const char* kSchedules = R"({
  "sites": {"plant-a": {"utc_offset": "+01:00", "shifts": [{"name": "early", "start": "06:00"},
      {"name": "late", "start": "14:00"}, {"name": "night", "start": "22:00"}]}},
  "default": {"utc_offset": "+00:00", "shifts": [{"name": "day", "start": "06:00"},
      {"name": "night", "start": "18:00"}]}})";

// One counter: its labels and its step in the minute starting at m (seconds since D, a UTC
// midnight); reset_at: the sample at which the device had restarted (the counter from 0).
struct Counter {
  std::string family;  // without _total
  std::string site, cell, labels;
  std::function<double(std::int64_t)> step;
  std::int64_t reset_at = -1;
};

bool a_night(std::int64_t t) {  // t: seconds since D
  const auto h = ((t % 86400) + 86400) % 86400;
  return h < 5 * kH || h >= 21 * kH;
}
bool b_night(std::int64_t t) {
  const auto h = ((t % 86400) + 86400) % 86400;
  return h < 6 * kH || h >= 18 * kH;
}

std::vector<Counter> counters() {
  return {
      {"edgefleet_runtime_decisions", "plant-a", "line-1",
       R"(device="cam-01",model_version="v1",decision="pass")",
       [](std::int64_t t) { return a_night(t) ? 30.0 : 50.0; }},
      {"edgefleet_runtime_decisions", "plant-a", "line-1",
       R"(device="cam-01",model_version="v1",decision="reject")",
       [](std::int64_t t) { return a_night(t) ? 3.0 : 2.0; }},
      {"edgefleet_runtime_decisions", "plant-a", "line-1",
       R"(device="cam-02",model_version="v2",decision="pass")", [](std::int64_t) { return 20.0; },
       9 * kH},
      {"edgefleet_runtime_decisions", "plant-a", "line-1",
       R"(device="cam-02",model_version="v2",decision="reject")", [](std::int64_t) { return 1.0; },
       9 * kH},
      {"edgefleet_runtime_decisions", "plant-a", "line-2",
       R"(device="cam-03",model_version="v1",decision="pass")", [](std::int64_t) { return 7.0; }},
      {"edgefleet_runtime_decisions", "plant-b", "line-1",
       R"(device="cam-04",model_version="v1",decision="pass")",
       [](std::int64_t t) { return b_night(t) ? 100.0 : 80.0; }},
      {"edgefleet_runtime_decisions", "plant-b", "line-1",
       R"(device="cam-04",model_version="v1",decision="reject")",
       [](std::int64_t t) { return b_night(t) ? 10.0 : 4.0; }},
      {"edgefleet_runtime_overrides", "plant-a", "line-1",
       R"(device="cam-01",model_version="v1",from="reject",to="pass")",
       [](std::int64_t t) { return a_night(t) ? 1.0 : 2.0; }},
      {"edgefleet_runtime_operator_interactions", "plant-a", "line-2",
       R"(device="cam-03",kind="acknowledge")", [](std::int64_t) { return 1.0; }},
      {"edgefleet_runtime_operator_interactions", "plant-b", "line-1",
       R"(device="cam-04",kind="override")", [](std::int64_t t) { return b_night(t) ? 2.0 : 0.0; }},
  };
}

constexpr std::int64_t kFrom = -12 * kH;  // data from D-12h to D+13h, one sample a minute
constexpr std::int64_t kTo = 13 * kH;

// The counter's value at every minute from kFrom (starting high, so no extrapolation to zero).
std::vector<double> values(const Counter& c) {
  std::vector<double> out;
  double v = 100000;
  for (std::int64_t t = kFrom; t <= kTo; t += 60) {
    if (t > kFrom) v = (t == c.reset_at ? 0 : v) + c.step(t - 60);
    out.push_back(v);
  }
  return out;
}

// What the report must say: the steps of the minutes in [start, until).
double expected(const Counter& c, std::int64_t start, std::int64_t until) {
  double sum = 0;
  for (std::int64_t m = start; m < until; m += 60)
    sum += c.step(m);
  return sum;
}

class ReportPrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto found = run_command("command -v prometheus && command -v promtool");
    if (found.exit_code != 0)
      GTEST_SKIP() << "prometheus/promtool not installed (Debian package: prometheus)";
    prometheus_ = found.out.substr(0, found.out.find('\n'));  // spawn() wants a path
    char tmpl[] = "/tmp/ef-report-prom-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // D: the UTC midnight two days ago (well inside the default 15 d retention).
    day_ = (ef::utc_now().time_since_epoch().count() / 86400 - 2) * 86400;
    backfill();
    start_prometheus();
    server_.route("/api/v1/shifts", [](const ef::testing::Request&) {
      return ef::testing::Reply{200, kSchedules, {{"Content-Type", "application/json"}}};
    });
  }

  void TearDown() override {
    if (pid_ > 0) ef::testing::stop_process(pid_);
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void backfill() {
    std::ofstream out(dir_ / "series.om");
    out.precision(17);  // counters must reach Prometheus exactly
    std::string family;
    for (const auto& c : counters()) {
      if (c.family != family) out << "# TYPE " << (family = c.family) << " counter\n";
      const auto v = values(c);
      for (std::size_t i = 0; i < v.size(); ++i) {
        out << c.family << "_total{site=\"" << c.site << "\",cell=\"" << c.cell
            << "\",release=\"r1\"," << c.labels << "} " << v[i] << " "
            << day_ + kFrom + static_cast<std::int64_t>(i) * 60 << "\n";
      }
    }
    out << "# EOF\n";
    out.close();
    auto r = run_command("promtool tsdb create-blocks-from openmetrics " +
                         (dir_ / "series.om").string() + " " + (dir_ / "data").string());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  void start_prometheus() {
    std::ofstream(dir_ / "prometheus.yml") << "global:\n  scrape_interval: 15s\n";
    port_ = ef::testing::free_local_port();
    pid_ = ef::testing::spawn({{prometheus_, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                "--storage.tsdb.path=" + (dir_ / "data").string(),
                                "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
                               {},
                               dir_ / "prometheus.log"});
    ef::http_client::HttpClient client;
    for (int i = 0; i < 300; ++i) {
      auto r = client.get(url() + "/-/ready");
      if (r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::ifstream log(dir_ / "prometheus.log");
    FAIL() << prometheus_ << " did not become ready on port " << port_ << ":\n"
           << std::string(std::istreambuf_iterator<char>(log), {});
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  ef::json::Json report(const std::string& shift, std::int64_t at) {
    auto r = run_command("env -u EDGEFLEET_CONFIG XDG_CONFIG_HOME=/nonexistent " + kCli +
                         " report cells -o json --server " + server_.url("") +
                         " --token eft_test --prometheus " + url() + " --shift " + shift +
                         " --at " + ef::format_utc(ef::UtcTime(std::chrono::seconds(at))));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? ef::json::Json::parse(r.out) : ef::json::Json();
  }

  std::string prometheus_;
  fs::path dir_;
  std::int64_t day_ = 0;
  int port_ = 0;
  pid_t pid_ = -1;
  ef::testing::TestHttpServer server_;
};

struct Window {
  std::int64_t start, until;  // relative to D
};

// Checks every cell of the report against the counters' steps over each site's window.
void check(const ef::json::Json& report, const std::map<std::string, Window>& windows) {
  std::map<std::pair<std::string, std::string>, std::array<double, 4>> want;  // dec, rej, ovr, int
  for (const auto& c : counters()) {
    if (windows.count(c.site) == 0) continue;  // a site the report was not asked for
    const auto w = windows.at(c.site);
    auto& f = want[{c.site, c.cell}];
    const double n = expected(c, w.start, w.until);
    if (c.family == "edgefleet_runtime_decisions") {
      f[0] += n;
      if (c.labels.find("reject") != std::string::npos) f[1] += n;
    } else {
      f[c.family == "edgefleet_runtime_overrides" ? 2 : 3] += n;
    }
  }
  ASSERT_EQ(report["cells"].size(), want.size()) << report.dump(2);
  const auto near = [](double got, double want) {
    return std::fabs(got - want) <= 1e-9 * std::max(1.0, want);
  };
  for (const auto& cell : report["cells"]) {
    const auto& f = want.at({cell["site"], cell["cell"]});
    const auto w = windows.at(cell["site"]);
    SCOPED_TRACE(cell.dump());
    EXPECT_TRUE(near(cell["decisions"], f[0])) << f[0];
    EXPECT_TRUE(near(cell["rejects"], f[1])) << f[1];
    EXPECT_TRUE(near(cell["overrides"], f[2])) << f[2];
    EXPECT_TRUE(near(cell["operator_interactions"], f[3])) << f[3];
    EXPECT_TRUE(near(cell["reject_rate"], f[1] / f[0]));
    EXPECT_TRUE(near(cell["override_rate"], f[2] / f[0]));
    EXPECT_TRUE(near(cell["decisions_per_hour"], f[0] * 3600.0 / double(w.until - w.start)));
  }
}

TEST_F(ReportPrometheusTest, PreviousShiftFiguresMatchTheCounters) {
  const auto doc = report("previous", day_ + 12 * kH);  // 13:00 at plant-a, 12:00 at plant-b
  // plant-a's night ran 21:00-05:00 UTC, plant-b's 18:00-06:00 UTC.
  check(doc, {{"plant-a", {-3 * kH, 5 * kH}}, {"plant-b", {-6 * kH, 6 * kH}}});
  ASSERT_FALSE(doc["cells"].empty());
  EXPECT_EQ(doc["cells"][0]["shift"], "night");
  EXPECT_EQ(doc["cells"][0]["running"], false);
}

TEST_F(ReportPrometheusTest, CurrentShiftIsCountedUpToNowAcrossADeviceRestart) {
  // plant-a's early shift since 05:00 UTC (cam-02 restarted at 09:00), plant-b's day since 06:00.
  const auto doc = report("current", day_ + 12 * kH);
  check(doc, {{"plant-a", {5 * kH, 12 * kH}}, {"plant-b", {6 * kH, 12 * kH}}});
  // A hand check of one figure: plant-a line-1 decisions = 7 h x 60 x (50 + 2 + 20 + 1).
  EXPECT_EQ(doc["cells"][0]["cell"], "line-1");
  EXPECT_DOUBLE_EQ(doc["cells"][0]["decisions"].get<double>(), 7 * 60 * 73.0);
}

TEST_F(ReportPrometheusTest, ANamedShiftAtOneSite) {
  const auto doc = report("late --site plant-a", day_ + 12 * kH);  // yesterday's late shift
  check(doc, {{"plant-a", {-11 * kH, -3 * kH}}});
}

}  // namespace

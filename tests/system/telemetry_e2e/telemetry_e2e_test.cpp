// Telemetry end to end with real processes on 127.0.0.1: Debian's Prometheus (remote-write
// receiver, out-of-order window, the shipped alert rules), Debian's Alertmanager, edgefleet-server
// relaying to it, and agents with the stand-in runtime. Asserted through Prometheus' HTTP API:
// every device's series arrive with identity labels, a model hot-swap shows up as a new
// model_version, samples taken while the server was down arrive afterwards with their original
// timestamps, and a stopped device fires EdgefleetDeviceOffline in Alertmanager.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"
#include "fake_release.hpp"
#include "fleet_processes.hpp"
#include "test_http_server.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using json::Json;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The shipped alert rules with every `for:` shortened to 5 s, so that the test sees an alert
// fire in seconds; the expressions and labels are the shipped ones.
std::string rules_with_short_for() {
  const std::string text =
      slurp(fs::path(EF_SOURCE_DIR) / "deploy/prometheus/rules/edgefleet-alerts.yml");
  return std::regex_replace(text, std::regex(R"(for:\s*\S+)"), "for: 5s");
}

class TelemetryEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet_ = std::make_unique<testing::Fleet>(fs::temp_directory_path() /
                                              ("ef-tel-" + std::to_string(::getpid())));
    receiver_.route("/alerts", [this](const testing::Request& r) {
      std::lock_guard lock(mutex_);
      alerts_ += r.body;
      return testing::Reply{200, "ok"};
    });
    start_alertmanager();
    start_prometheus();
    server_port_ = testing::free_local_port();
    start_server();
  }
  void TearDown() override {
    for (auto& [id, pid] : agents_)
      testing::stop_process(pid);
    fleet_.reset();
    if (prometheus_ > 0) testing::stop_process(prometheus_);
    if (alertmanager_ > 0) testing::stop_process(alertmanager_);
  }

  void start_alertmanager() {
    am_port_ = testing::free_local_port();
    const fs::path dir = fleet_->dir() / "alertmanager";
    fs::create_directories(dir);
    std::ofstream(dir / "alertmanager.yml")
        << "route: {receiver: test, group_by: [alertname, device], group_wait: 1s, "
           "group_interval: 1s, repeat_interval: 1h}\n"
           "receivers:\n- name: test\n  webhook_configs: [{url: '"
        << receiver_.url("/alerts") << "'}]\n";
    alertmanager_ = testing::spawn({{"/usr/bin/prometheus-alertmanager",
                                     "--config.file=" + (dir / "alertmanager.yml").string(),
                                     "--storage.path=" + (dir / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(am_port_),
                                     "--cluster.listen-address="},
                                    {},
                                    dir / "alertmanager.log"});
  }

  void start_prometheus() {
    prom_port_ = testing::free_local_port();
    metrics_port_ = testing::free_local_port();
    const fs::path dir = fleet_->dir() / "prometheus";
    fs::create_directories(dir);
    std::ofstream(dir / "alerts.yml") << rules_with_short_for();
    std::ofstream(dir / "prometheus.yml")
        << "global: {scrape_interval: 2s, evaluation_interval: 2s}\n"
           "storage: {tsdb: {out_of_order_time_window: 3d}}\n"
           "rule_files: ['"
        << (dir / "alerts.yml").string()
        << "']\n"
           "alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:"
        << am_port_
        << "']}]}]}\n"
           "scrape_configs:\n- job_name: edgefleet-server\n  static_configs: [{targets: "
           "['127.0.0.1:"
        << metrics_port_ << "']}]\n";
    prometheus_ = testing::spawn(
        {{"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
          "--storage.tsdb.path=" + (dir / "data").string(),
          "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
          "--web.enable-remote-write-receiver"},
         {},
         dir / "prometheus.log"});
    ASSERT_TRUE(wait_until([&] { return get(prom_url("/-/ready")).first == 200; }, 60s))
        << slurp(dir / "prometheus.log");
  }

  void start_server() {
    fleet_->start_server({"--listen", "127.0.0.1:" + std::to_string(server_port_), "--max-wait",
                          "5", "--telemetry-online-window", "20", "--metrics-listen",
                          "127.0.0.1:" + std::to_string(metrics_port_), "--prometheus-url",
                          prom_url("/api/v1/write")});
  }

  std::string prom_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(prom_port_) + path;
  }

  std::pair<long, std::string> get(const std::string& url) {
    http_client::HttpClient client;
    http_client::Options o;
    o.total_timeout = 10s;
    auto r = client.request("GET", url, "", "", o);
    if (!r) return {0, r.error().message};
    return {r->status, r->body};
  }

  // The result vector of an instant query (at `at` when given).
  Json query(const std::string& promql, std::optional<double> at = std::nullopt) {
    std::string url = prom_url("/api/v1/query?query=" + url_encode(promql));
    if (at) url += "&time=" + std::to_string(*at);
    auto [status, body] = get(url);
    auto j = json::parse_strict(body, {.allow_floats = true});
    if (status != 200 || !j) return Json::array();
    return (*j)["data"]["result"];
  }

  template <typename Pred>
  bool wait_until(Pred pred, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(500ms);
    }
    return false;
  }

  void publish(const std::string& version, const testing::Variant& v) {
    const fs::path src = fleet_->dir() / ("src-" + version);
    testing::write_fake_release(src, v);
    auto published = fleet_->publish(src, version);
    ASSERT_EQ(published.exit_code, 0) << published.err << published.out;
  }

  void start_device(const std::string& id, const std::string& site, const std::string& cell) {
    fleet_->add_device(id, "--site " + site + " --cell " + cell);
    agents_[id] =
        fleet_->start_agent(id, {}, {"--checkin-wait", "5", "--telemetry-interval-ms", "1000"});
  }

  std::unique_ptr<testing::Fleet> fleet_;
  testing::TestHttpServer receiver_;
  std::mutex mutex_;
  std::string alerts_;
  std::map<std::string, pid_t> agents_;
  pid_t prometheus_ = -1, alertmanager_ = -1;
  int prom_port_ = 0, am_port_ = 0, metrics_port_ = 0, server_port_ = 0;
};

TEST_F(TelemetryEndToEnd, SeriesLabelsHotSwapOutageReplayAndTheOfflineAlert) {
  publish("1.0", {.model_version = "m1"});
  start_device("cam-a1", "plant-a", "line-1");
  start_device("cam-a2", "plant-a", "line-2");
  start_device("cam-b1", "plant-b", "line-1");
  ASSERT_EQ(fleet_->cli("assign 1.0 cam-a1 cam-a2 cam-b1").exit_code, 0);

  // 1. Every device's system and runtime series, with identity from the server.
  ASSERT_TRUE(wait_until(
      [&] {
        return query(
                   "count by (device) (edgefleet_runtime_frames_processed_total"
                   "{release=\"1.0\",model_version=\"m1\"})")
                   .size() == 3;
      },
      120s))
      << fleet_->server_log();
  auto uptime = query("edgefleet_device_uptime_seconds{device=\"cam-b1\",release!=\"\"}");
  ASSERT_EQ(uptime.size(), 1u);
  EXPECT_EQ(uptime[0]["metric"]["site"], "plant-b");
  EXPECT_EQ(uptime[0]["metric"]["cell"], "line-1");
  EXPECT_EQ(uptime[0]["metric"]["release"], "1.0");
  EXPECT_EQ(query("count by (device) (edgefleet_device_memory_total_bytes)").size(), 3u);

  // 2. A model-only release is hot-swapped and shows up as a new model_version.
  publish("1.1", {.model_version = "m2"});
  ASSERT_EQ(fleet_->cli("assign 1.1 cam-a1").exit_code, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        return query(
                   "edgefleet_runtime_frames_processed_total{device=\"cam-a1\","
                   "model_version=\"m2\",release=\"1.1\"}")
                   .size() == 1;
      },
      120s));

  // 3. The server goes away; the devices keep measuring; what they measured arrives afterwards
  // with the timestamps it was taken at.
  const int outage_seconds = std::getenv("EF_TELEMETRY_OUTAGE_SECONDS")
                                 ? std::atoi(std::getenv("EF_TELEMETRY_OUTAGE_SECONDS"))
                                 : 180;
  fleet_->stop_server();
  const double down_at = unix_now();
  std::this_thread::sleep_for(std::chrono::seconds(outage_seconds));
  const double up_at = unix_now();
  start_server();
  const std::string during = "count_over_time(edgefleet_device_uptime_seconds{device=\"cam-a2\"}[" +
                             std::to_string(int(up_at - down_at) - 2) + "s])";
  const double expected = (up_at - down_at - 2) * 0.9;  // one round a second, 10 % slack
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = query(during, up_at);
        return r.size() == 1 && std::stod(r[0]["value"][1].get<std::string>()) >= expected;
      },
      180s))
      << query(during, up_at).dump() << fleet_->server_log();

  // 4. A device that stops fires the device-offline alert, and it reaches Alertmanager. (The
  // outage made every device offline for a while: wait until they are back first.)
  ASSERT_TRUE(
      wait_until([&] { return query("edgefleet_server_device_online == 1").size() == 3; }, 120s));
  testing::stop_process(agents_["cam-b1"]);
  agents_.erase("cam-b1");
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mutex_);
        return alerts_.find("EdgefleetDeviceOffline") != std::string::npos &&
               alerts_.find("cam-b1") != std::string::npos;
      },
      180s))
      << query("edgefleet_server_device_online").dump();
  // Only the stopped device is firing now.
  ASSERT_TRUE(wait_until(
      [&] {
        auto [status, body] = get("http://127.0.0.1:" + std::to_string(am_port_) +
                                  "/api/v2/alerts?active=true&filter=" +
                                  url_encode("alertname=\"EdgefleetDeviceOffline\""));
        auto j = json::parse_strict(body, {.allow_floats = true});
        if (status != 200 || !j || !j->is_array() || j->size() != 1) return false;
        return (*j)[0]["labels"]["device"] == "cam-b1";
      },
      60s));
}

}  // namespace
}  // namespace ef

// The server's telemetry relay against Debian's Prometheus on 127.0.0.1: how many samples per
// second it relays (decode from its disk queue, remote-write 1.0 + snappy, POST, Prometheus
// appends), for a backlog of one-minute batches from many devices (bench/telemetry's synthetic
// device, ~180 series, 4 rounds per batch, stamped with a device label).
//
//   relay_bench [--devices 200] [--minutes 5]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/http_client/http_client.hpp"
#include "fleet_processes.hpp"
#include "proc_stat.hpp"
#include "server/prometheus_relay/relay.hpp"
#include "synthetic_device.hpp"

namespace {

using namespace ef;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

double counter_value(const metrics::Registry& r, const std::string& series) {
  const auto text = r.expose();
  const auto at = text.find(series + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 1));
}

// Every device's batches for `minutes`, already stamped (what the ingest endpoint enqueues).
std::vector<std::vector<telemetry::Series>> make_batches(int devices, int minutes) {
  std::vector<std::vector<telemetry::Series>> out;
  const auto start = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch() - 1h)
                         .count();
  for (int d = 0; d < devices; ++d) {
    bench::SyntheticDevice device(d + 1, start);
    for (int m = 0; m < minutes; ++m) {
      auto batch = device.batch(4);
      for (auto& s : batch.series) {
        s.labels.emplace_back("device", "cam-" + std::to_string(d));
        telemetry::sort_labels(s.labels);
      }
      out.push_back(std::move(batch.series));
    }
  }
  return out;
}

pid_t start_prometheus(const fs::path& dir, int port) {
  fs::create_directories(dir);
  std::ofstream(dir / "prometheus.yml") << "global: {scrape_interval: 1m}\n"
                                           "storage: {tsdb: {out_of_order_time_window: 3d}}\n";
  return testing::spawn(
      {{"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
        "--storage.tsdb.path=" + (dir / "data").string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(port),
        "--web.enable-remote-write-receiver"},
       {},
       dir / "prometheus.log"});
}

bool ready(int port) {
  http_client::HttpClient c;
  auto r = c.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/-/ready", "", "");
  return r && r->status == 200;
}

}  // namespace

// Long because: one straight run: prepare, start Prometheus, enqueue, wait, print.
int main(int argc, char** argv) {
  CLI::App app{"the telemetry relay's throughput into a real Prometheus"};
  int devices = 200, minutes = 5, port = 19391;
  app.add_option("--devices", devices)->capture_default_str();
  app.add_option("--minutes", minutes, "one-minute batches per device")->capture_default_str();
  app.add_option("--port", port, "Prometheus' port on 127.0.0.1")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const fs::path dir = fs::temp_directory_path() / "ef-relay-bench";
  fs::remove_all(dir);
  const auto batches = make_batches(devices, minutes);
  std::size_t samples = 0;
  for (const auto& b : batches)
    for (const auto& s : b)
      samples += s.points.size();
  const pid_t prometheus = start_prometheus(dir / "prometheus", port);
  for (int i = 0; i < 300 && !ready(port); ++i)
    std::this_thread::sleep_for(100ms);
  const auto prometheus_idle = testing::read_proc(prometheus);
  metrics::Registry registry;
  prometheus_relay::Options o;
  o.queue_dir = dir / "queue";
  o.remote_write_url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write";
  auto relay = prometheus_relay::Relay::start(o, registry);
  if (!relay) {
    std::fprintf(stderr, "relay_bench: %s\n", relay.error().message.c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& b : batches) {
    if (auto st = (*relay)->enqueue(b); !st) {
      std::fprintf(stderr, "relay_bench: enqueue: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  const double enqueue_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string relayed =
      "edgefleet_server_telemetry_samples_total{outcome=\"relayed\",reason=\"\"}";
  while (counter_value(registry, relayed) < double(samples) &&
         std::chrono::steady_clock::now() - t0 < 600s)
    std::this_thread::sleep_for(20ms);
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (*relay)->stop();
  // Every series is in Prometheus' head block now: its memory per active series, for sizing.
  const auto prometheus_full = testing::read_proc(prometheus);
  testing::stop_process(prometheus);
  std::printf(
      "relay -> Prometheus 2.42 on 127.0.0.1: %d devices x %d one-minute batches = %zu "
      "batches, %zu samples\n",
      devices, minutes, batches.size(), samples);
  std::printf("  enqueue (durable, fsync per batch): %.2f s, %.0f batches/s\n", enqueue_s,
              batches.size() / enqueue_s);
  std::printf(
      "  relayed %.0f samples in %.2f s: %.0f samples/s (the same as %.0f devices at 183 "
      "series every 15 s)\n",
      counter_value(registry, relayed), total_s, samples / total_s,
      samples / total_s / (183.0 / 15.0));
  const double series = double(samples) / (4.0 * minutes);
  std::printf(
      "  Prometheus: RSS %.0f MiB idle, %.0f MiB holding %.0f active series (%.2f KiB each); "
      "%.1f CPU seconds for the ingest (%.0f samples per CPU second)\n",
      prometheus_idle.rss_kib / 1024.0, prometheus_full.rss_kib / 1024.0, series,
      (prometheus_full.rss_kib - prometheus_idle.rss_kib) / series,
      prometheus_full.cpu_seconds - prometheus_idle.cpu_seconds,
      samples / std::max(0.01, prometheus_full.cpu_seconds - prometheus_idle.cpu_seconds));
  fs::remove_all(dir);
  return counter_value(registry, relayed) >= double(samples) ? 0 : 1;
}

// 72 hours offline through the agent's real telemetry pipeline (collect -> spool -> batches):
// one synthetic device (bench/telemetry/synthetic_device, ~180 series) every 15 s, the server
// unreachable the whole time; then the server comes back and the backlog is replayed. Prints the
// spool's size on disk and the process's memory every 12 simulated hours, what was evicted, and
// the replay: batches, bytes per minute of data, time taken.
//
//   spool_72h_bench [--hours 72] [--dir /tmp/...]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "device/telemetry_pipeline/pipeline.hpp"
#include "synthetic_device.hpp"

namespace {

using namespace ef;
namespace fs = std::filesystem;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

struct Replay {
  std::uint64_t batches = 0, bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"72 hours offline through the agent's telemetry pipeline"};
  double hours = 72;
  std::string dir = (fs::temp_directory_path() / "ef-spool-72h").string();
  app.add_option("--hours", hours, "simulated outage")->capture_default_str();
  app.add_option("--dir", dir, "spool folder (emptied first)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  fs::remove_all(dir);

  bench::SyntheticDevice device(7);
  std::int64_t now = 0;
  bool online = false;
  Replay replay;
  auto collect = [&](std::int64_t) {
    auto scrape = device.scrape();
    std::erase_if(scrape.series, [](const telemetry::Series& s) {
      return s.name.starts_with("edgefleet_agent_");  // the pipeline adds its own
    });
    return scrape.series;
  };
  auto send = [&](std::string_view body) {
    if (!online) return telemetry_pipeline::Delivery::retry_later;
    ++replay.batches;
    replay.bytes += body.size();
    return telemetry_pipeline::Delivery::taken;
  };
  telemetry_pipeline::Options options{.dir = dir, .sync = false};
  options.min_backoff = options.max_backoff = std::chrono::milliseconds(15'000);
  auto pipeline = telemetry_pipeline::Pipeline::open(options, collect, send);
  if (!pipeline) {
    std::fprintf(stderr, "spool_72h_bench: %s\n", pipeline.error().message.c_str());
    return 1;
  }
  auto& p = **pipeline;
  const long rss_start = rss_kib();
  const int rounds = static_cast<int>(hours * 240);
  std::printf("%d rounds (15 s) offline, %zu series per round, spool bound %llu MiB\n", rounds,
              device.series_count(), (unsigned long long)(options.max_spool_bytes >> 20));
  std::printf("%8s %12s %9s %9s %9s %9s\n", "hours", "spool bytes", "segments", "pending",
              "evicted", "RSS KiB");
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= rounds; ++i) {
    now += 15'000;
    if (auto st = p.round(now); !st) {
      std::fprintf(stderr, "round %d: %s\n", i, st.error().message.c_str());
      return 1;
    }
    if (i % (12 * 240) == 0 || i == rounds) {
      const auto s = p.spool_stats();
      std::printf("%8.1f %12llu %9llu %9llu %9llu %9ld\n", i / 240.0, (unsigned long long)s.bytes,
                  (unsigned long long)s.segments, (unsigned long long)s.pending_records,
                  (unsigned long long)s.evicted_records_total, rss_kib());
    }
  }
  const double offline_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  online = true;
  p.retry_now();
  const auto pending = p.spool_stats().pending_records;
  const auto t1 = std::chrono::steady_clock::now();
  while (p.spool_stats().segments > 0) {
    now += 15'000;
    if (!p.round(now)) return 1;
    p.retry_now();
  }
  const double replay_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("simulating the outage took %.1f s; RSS %ld -> %ld KiB\n", offline_s, rss_start,
              rss_kib());
  std::printf(
      "replay: %llu rounds in %llu batches, %.2f MiB, %.2f KiB per device-minute of "
      "data, %.0f ms here\n",
      (unsigned long long)pending, (unsigned long long)replay.batches, replay.bytes / 1048576.0,
      replay.bytes / 1024.0 / (pending / 4.0), replay_s * 1000);
  fs::remove_all(dir);
  return 0;
}

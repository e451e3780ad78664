// The device agent's cost and speed, with real processes on 127.0.0.1 (edgefleet-server, the
// CLI, edgefleet-agent supervising the stand-in runtime):
//   - time from `edgefleet assign` to the server hearing "committed", for a first install, a
//     model-only release (hot-swap) and a code release (restart);
//   - the agent's resident memory and CPU while idle (long-polling) over a window.
//
//   build/bench/device/agent/agent_bench [idle_seconds=60] [checkin_wait_seconds=25]
//
// The idle agent holds a long-poll that the server answers every checkin_wait seconds (the
// agent's default is 25 s); each answer costs a check-in: the runtime's health and metrics over
// its Unix socket, hardware facts, and a request over the kept-alive TLS connection.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "fake_release.hpp"
#include "fleet_processes.hpp"
#include "proc_stat.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ef::json::Json;

using ef::testing::ProcStat;
using ef::testing::read_proc;

int main(int argc, char** argv) {
  const int idle_seconds = argc > 1 ? std::stoi(argv[1]) : 60;
  const std::string checkin_wait = argc > 2 ? argv[2] : "900";
  ef::testing::Fleet fleet(fs::temp_directory_path() /
                           ("ef-agent-bench-" + std::to_string(::getpid())));
  fleet.start_server();
  const std::string cli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";
  auto publish = [&](const std::string& version, const ef::testing::Variant& v) {
    const fs::path src = fleet.dir() / ("src-" + version);
    ef::testing::write_fake_release(src, v);
    if (ef::testing::run_command(cli + " release build " + src.string() + " --version " + version +
                                 " --keys " + fleet.keys().string() + " --repo " +
                                 fleet.repo().string())
                .exit_code != 0 ||
        fleet.cli("release publish --repo " + fleet.repo().string()).exit_code != 0) {
      std::fprintf(stderr, "publishing %s failed\n", version.c_str());
      std::exit(1);
    }
  };
  auto committed = [](const Json& d, const std::string& v) {
    return d.contains("report") && d["report"].is_object() &&
           d["report"].value("installed_release", Json()) == v &&
           d["report"].value("update", Json()).is_null();
  };
  auto time_update = [&](const std::string& version) {
    const auto start = Clock::now();
    fleet.cli("assign " + version + " bench-1");
    auto d = fleet.wait_for_device(
        "bench-1", [&](const Json& d) { return committed(d, version); }, std::chrono::seconds(120));
    if (!committed(d, version)) {
      std::fprintf(stderr, "release %s was not committed: %s\n", version.c_str(), d.dump().c_str());
      std::exit(1);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  };

  publish("1.0.0", {});
  publish("1.1.0", {.model_version = "m2"});
  publish("1.2.0", {.model_version = "m2", .code = 2});
  fleet.add_device("bench-1");
  const pid_t agent = fleet.start_agent("bench-1", {}, {"--checkin-wait", checkin_wait});
  fleet.wait_for_device(
      "bench-1", [](const Json& d) { return d.contains("report"); }, std::chrono::seconds(60));

  const double first = time_update("1.0.0");
  const double swap = time_update("1.1.0");
  const Json after_swap = fleet.api_get("/api/v1/devices/bench-1");
  const double restart = time_update("1.2.0");

  std::this_thread::sleep_for(std::chrono::seconds(3));  // settle
  const ProcStat before = read_proc(agent);
  long peak_rss = before.rss_kib;
  for (int i = 0; i < idle_seconds; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    peak_rss = std::max(peak_rss, read_proc(agent).rss_kib);
  }
  const ProcStat after = read_proc(agent);
  ef::testing::stop_process(agent);

  std::printf("edgefleet-agent, one device, server and agent on 127.0.0.1 (stand-in runtime)\n");
  std::printf("  assign -> committed, first install (6 files, 0.5 MB)  %6.2f s\n", first);
  std::printf("  assign -> committed, model-only release (hot-swap)    %6.2f s  (model now %s)\n",
              swap, after_swap["report"]["model_version"].dump().c_str());
  std::printf("  assign -> committed, code release (runtime restart)   %6.2f s\n", restart);
  std::printf(
      "  idle over %d s, check-in every %s s: RSS %ld KiB (peak %ld KiB), CPU %.3f s (%.3f %% "
      "of one core; CPU counted in %ld ms ticks)\n",
      idle_seconds, checkin_wait.c_str(), after.rss_kib, peak_rss,
      after.cpu_seconds - before.cpu_seconds,
      100.0 * (after.cpu_seconds - before.cpu_seconds) / idle_seconds,
      1000 / ::sysconf(_SC_CLK_TCK));
  return 0;
}

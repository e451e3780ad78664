// edgefleet-agent: the daemon every device runs under systemd (see deploy/systemd/).
//
//   edgefleet-agent [--bootstrap /boot/edgefleet-bootstrap] [--data /var/lib/edgefleet]
//                   [--trust-root /etc/edgefleet/root.json] [--once]
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "device/agent/agent.hpp"
#include "device/agent/fail_point.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

// The agent is a small resident process on a device with little memory: one malloc arena for its
// two threads (check-in and telemetry never contend much) and freed memory handed back to the
// kernel sooner. Measured with bench/device/agent: about 1.1 MiB less resident memory.
void keep_memory_small() {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

// GnuTLS comes in with Debian's libcurl (through librtmp and libldap) although the agent never uses
// it: libcurl speaks TLS with OpenSSL. Its load-time constructor still builds ASN.1 trees and
// touches GnuTLS, p11-kit and libtasn1 pages: 0.75 MiB resident (772 KiB), measured with
// bench/device/agent. GNUTLS_NO_IMPLICIT_INIT=1 skips it, but is read before main, so the agent
// sets it and executes itself again, once (same pid: systemd's MAINPID and WATCHDOG_PID still
// hold). The variable is then removed, so that the runtime and its children initialise GnuTLS as
// usual. Should the exec fail, the agent carries on with GnuTLS initialised: only memory is lost.
constexpr const char* kReexecMarker = "EDGEFLEET_AGENT_GNUTLS_SKIPPED";
void skip_gnutls_init(char** argv) {
  if (std::getenv(kReexecMarker) != nullptr) {
    ::unsetenv(kReexecMarker);
    ::unsetenv("GNUTLS_NO_IMPLICIT_INIT");
    return;
  }
  if (std::getenv("GNUTLS_NO_IMPLICIT_INIT") != nullptr) return;  // the operator's own choice
  ::setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1);
  ::setenv(kReexecMarker, "1", 1);
  ::execv("/proc/self/exe", argv);
  ::unsetenv(kReexecMarker);
  ::unsetenv("GNUTLS_NO_IMPLICIT_INIT");
}
}  // namespace

// Long because: the flags read best as one list, in the order --help prints them.
int main(int argc, char** argv) {
  skip_gnutls_init(argv);
  keep_memory_small();
  ef::agent::AgentConfig config;
  config.bootstrap_dir = "/boot/edgefleet-bootstrap";
  config.data_dir = "/var/lib/edgefleet";
  config.trust_root = "/etc/edgefleet/root.json";
  int wait_seconds = 900;
  std::uint64_t min_rate = config.download_limits.min_bytes_per_second;
  int low_speed_window = static_cast<int>(config.download_limits.low_speed_window.count());
  CLI::App app{"edgefleet-agent: enrols, checks in, updates atomically, rolls back",
               "edgefleet-agent"};
  app.add_option("--bootstrap", config.bootstrap_dir, "per-device bootstrap folder")
      ->capture_default_str();
  app.add_option("--data", config.data_dir, "state folder (keys, journal, releases)")
      ->capture_default_str();
  app.add_option("--trust-root", config.trust_root, "the root.json devices trust")
      ->capture_default_str();
  app.add_option("--control-socket", config.control_socket,
                 "runtime control socket (default: DATA/run/runtime.sock)");
  app.add_option("--checkin-wait", wait_seconds, "long-poll seconds")->capture_default_str();
  long figures_every = config.report_figures_every.count();
  app.add_option("--report-figures-every", figures_every,
                 "seconds between check-ins that carry the live figures for `edgefleet status`")
      ->capture_default_str()
      ->check(CLI::Range(1L, 86'400L));
  app.add_option("--min-download-rate", min_rate,
                 "bytes/s below which a download attempt is abandoned")
      ->capture_default_str();
  app.add_option("--low-speed-window", low_speed_window, "seconds the download rate may stay low")
      ->capture_default_str();
  app.add_flag("--once", config.once, "one check-in round, then exit");
  long telemetry_ms = config.telemetry_interval.count();
  app.add_option("--telemetry-interval-ms", telemetry_ms,
                 "milliseconds between telemetry rounds (collect, spool, send)")
      ->capture_default_str()
      ->check(CLI::Range(100L, 3'600'000L));
  bool no_telemetry = false;
  app.add_flag("--no-telemetry", no_telemetry, "collect and send no telemetry");
  app.set_version_flag("--version", ef::agent::kAgentVersion);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Absolute paths: they are handed to the runtime (model folders), which runs elsewhere.
  config.bootstrap_dir = std::filesystem::absolute(config.bootstrap_dir);
  config.data_dir = std::filesystem::absolute(config.data_dir);
  config.trust_root = std::filesystem::absolute(config.trust_root);
  if (!config.control_socket.empty())
    config.control_socket = std::filesystem::absolute(config.control_socket);
  config.checkin_wait = std::chrono::seconds(wait_seconds);
  config.report_figures_every = std::chrono::seconds(figures_every);
  config.telemetry = !no_telemetry;
  config.telemetry_interval = std::chrono::milliseconds(telemetry_ms);
  config.download_limits.min_bytes_per_second = min_rate;
  config.download_limits.low_speed_window = std::chrono::seconds(low_speed_window);
  // Crash tests only (docs/agent.md): without EDGEFLEET_FAIL_POINT no fail point can fire.
  if (auto armed = ef::agent::arm_fail_point_from_environment(); !armed) {
    std::cerr << "edgefleet-agent: " << armed.error().message << "\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  auto st = ef::agent::run_agent(config, g_stop);
  if (!st) {
    std::cerr << "edgefleet-agent: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}

// The device agent's main loop: enrol once, then check in (long-poll) with the device's state,
// apply the desired release through the update engine, keep the runtime supervised, renew the
// certificate before it expires, and back off with jitter while the server is away.
//
// One round of Agent::run() is its named steps in order: load_trust_root, load_or_enrol,
// start_engine (recovers an interrupted update), then per round renew_if_due, check_in,
// apply_desired, and back_off after a failure. Not thread-safe: one thread runs it;
// `stop` may be set from a signal handler.
//
// Servers: the bootstrap may list several replicas (server_urls). The agent starts on one at
// random and stays with it while it answers; a request that gets no answer or an HTTP 5xx moves it
// to the next, with jittered back-off after a full round (device/server_choice). A 4xx answer
// comes from a live server and does not. Check-ins, renewals, telemetry and downloads from a
// listed server all go to the current one. Builds with fail points (EF_FAIL_POINTS) honour
// EDGEFLEET_FIRST_SERVER=<index> to fix the first choice, for tests.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/common/result.hpp"
#include "device/agent/report_diff.hpp"
#include "device/agent/telemetry_loop.hpp"
#include "device/agent/update_engine.hpp"
#include "device/agent/watchdog.hpp"
#include "device/blob_download/blob_download.hpp"
#include "device/credentials/credentials.hpp"
#include "device/server_choice/server_choice.hpp"
#include "device/server_link/server_link.hpp"
#include "device/supervisor/supervisor.hpp"

namespace ef::agent {

inline constexpr const char* kAgentVersion = "0.1.0";

struct AgentConfig {
  std::filesystem::path bootstrap_dir;   // /boot/edgefleet-bootstrap
  std::filesystem::path data_dir;        // /var/lib/edgefleet
  std::filesystem::path trust_root;      // /etc/edgefleet/root.json (baked into the image)
  std::filesystem::path control_socket;  // default: <data>/run/runtime.sock
  // Long-polls hold this long (the server caps it with --max-wait); TCP keep-alive below keeps
  // NAT state. 900 s: see bench/device/agent/README.md, "idle traffic".
  std::chrono::seconds checkin_wait{900};
  // How often a check-in carries the live figures (runtime, hardware) for `edgefleet status`;
  // they reach Prometheus through telemetry every 15 s anyway.
  std::chrono::seconds report_figures_every{ReportDiff::kFiguresEvery};
  std::chrono::seconds max_backoff{60};
  blob_download::Limits download_limits;
  bool once = false;  // one check-in (and update) and exit: for scripts and tests
  bool telemetry = true;
  std::chrono::milliseconds telemetry_interval{15'000};
};

class Agent {
 public:
  Agent(AgentConfig config, const std::atomic<bool>& stop);
  ~Agent();

  // Runs until `stop` becomes true (SIGTERM) or, with `once`, after one round. Fails fast only
  // on what retrying cannot fix: a broken bootstrap folder or trust root, a refused enrolment
  // (Errc::refused).
  Status run();

 private:
  enum class Round { again, done };

  Status load_trust_root();
  Status load_or_enrol();
  Status start_engine();
  void start_telemetry();
  void stop_telemetry();
  void renew_if_due();
  Result<Round> check_in();
  void apply_desired();
  void choose_from(const std::vector<std::string>& urls);
  void follow_current_server();
  bool back_off(bool server_down);
  void sleep_for(std::chrono::milliseconds wait);
  void report_progress(std::string_view phase);
  json::Json make_report() const;

  AgentConfig config_;
  const std::atomic<bool>& stop_;
  Watchdog watchdog_;
  // Which replica, and the jittered waits after failures (a fleet that lost its server together
  // does not come back in step).
  server_choice::ServerChoice servers_;
  std::mutex server_mutex_;  // guards server_now_: the telemetry thread reads it
  std::string server_now_;
  credentials::Paths paths_;
  server_link::Client api_{{}};
  std::string trust_root_json_;
  std::optional<credentials::Identity> identity_;
  supervisor::Supervisor supervisor_;
  std::unique_ptr<UpdateEngine> engine_;
  std::string etag_;
  ReportDiff report_;  // only what changed since the server's last acknowledged report
  std::optional<Target> desired_;
  bool report_now_ = true;  // the next check-in answers at once instead of long-polling
  std::string last_phase_;
  std::chrono::steady_clock::time_point last_progress_report_{};
  telemetry_pipeline::UpdateCounts update_counts_;
  std::atomic<bool> telemetry_stop_{false};
  std::atomic<std::uint64_t> server_back_{0};  // check-ins that succeeded after a failure
  std::thread telemetry_thread_;
};

// Agent(config, stop).run(): what main() calls.
Status run_agent(const AgentConfig& config, const std::atomic<bool>& stop);

}  // namespace ef::agent

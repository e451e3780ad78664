// The agent's side of the runtime's local control API (HTTP over a Unix socket, see
// docs/runtime.md): health for the health gate, model hot-swap requests, and the runtime's
// metrics for telemetry. Every call is bounded by short timeouts: a hung runtime is a failure.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/http_client/http_client.hpp"

namespace ef::runtime_link {

struct Health {
  bool up = false;         // the runtime answered
  bool inferring = false;  // it reports itself healthy: up and inferring
  std::string model_version;
  std::string release;
  std::string detail;  // the runtime's own words, for failure reports
};

// The few runtime figures the agent carries in its check-in report, so that `edgefleet status`
// shows a device's throughput without a Prometheus. Telemetry proper goes to Prometheus.
struct Stats {
  std::optional<double> frames_per_second;
  std::optional<double> latency_p99_seconds;  // rolling window, the current model's
  std::optional<double> frames_processed;     // totals since the runtime started
  std::optional<double> frames_dropped;
  std::optional<double> uptime_seconds;  // grows across hot-swaps; restarts reset it
};

// Reads Stats out of the runtime's Prometheus text exposition. Lines it does not know are skipped;
// a known series with an unreadable value is an error (it names the line).
Result<Stats> parse_stats(std::string_view exposition, const std::string& model_version);

class RuntimeLink {
 public:
  explicit RuntimeLink(std::filesystem::path control_socket);

  Result<Health> health();
  // Asks the runtime to load, warm and swap to the model in model_dir (expecting model metadata
  // version `version`, if not empty) and waits for the outcome, at most `timeout`.
  Status swap_model(const std::filesystem::path& model_dir, const std::string& version,
                    std::chrono::seconds timeout);
  // The runtime's Prometheus text exposition.
  Result<std::string> metrics();
  // metrics(), read with parse_stats for the given model version.
  Result<Stats> stats(const std::string& model_version);

 private:
  std::filesystem::path socket_;
  http_client::HttpClient http_;
};

}  // namespace ef::runtime_link

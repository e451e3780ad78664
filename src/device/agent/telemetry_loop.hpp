// The agent's telemetry thread: every interval, the system's, the GPU's and the runtime's figures
// go through the telemetry pipeline (spool on disk, batches to the server). It has its own
// connections (to the server and to the runtime's socket), so a long-poll or an update in the
// agent's main loop never delays a round.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "device/server_link/server_link.hpp"
#include "device/telemetry_pipeline/pipeline.hpp"

namespace ef::agent {

struct TelemetryConfig {
  bool enabled = true;
  std::chrono::milliseconds interval{15'000};
  std::filesystem::path data_dir;        // spool in <data>/telemetry; disk figures for this folder
  std::filesystem::path control_socket;  // the runtime's
  std::string device_id;
  server_link::Endpoint endpoint;
  // When set, each batch goes to the URL it returns (the main loop's current server), so
  // telemetry follows a fail-over. Called from the telemetry thread.
  std::function<std::string()> server_url;
};

// Runs rounds until stop; logs what fails and keeps going (telemetry never stops the agent).
// server_back grows when the main loop's check-in succeeds after failing: the next round then
// retries delivery at once instead of waiting out its back-off.
void run_telemetry(const TelemetryConfig& config, const telemetry_pipeline::UpdateCounts& updates,
                   const std::atomic<std::uint64_t>& server_back, const std::atomic<bool>& stop);

}  // namespace ef::agent

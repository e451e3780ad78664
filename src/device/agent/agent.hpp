// The device agent's main loop: enrol once, then check in (long-poll) with the device's state,
// apply the desired release through the update engine, keep the runtime supervised, renew the
// certificate before it expires, and back off with jitter while the server is away.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include "core/common/result.hpp"
#include "device/blob_download/blob_download.hpp"

namespace ef::agent {

inline constexpr const char* kAgentVersion = "0.1.0";

struct AgentConfig {
  std::filesystem::path bootstrap_dir;   // /boot/edgefleet-bootstrap
  std::filesystem::path data_dir;        // /var/lib/edgefleet
  std::filesystem::path trust_root;      // /etc/edgefleet/root.json (baked into the image)
  std::filesystem::path control_socket;  // default: <data>/run/runtime.sock
  std::chrono::seconds checkin_wait{25};
  std::chrono::seconds max_backoff{60};
  blob_download::Limits download_limits;
  bool once = false;  // one check-in (and update) and exit: for scripts and tests
};

// Runs until `stop` becomes true (SIGTERM) or, with `once`, after one round. Fails fast only on
// what retrying cannot fix (a broken bootstrap folder or trust root, a refused enrollment token).
Status run_agent(const AgentConfig& config, const std::atomic<bool>& stop);

}  // namespace ef::agent

// The agent's side of the runtime's local control API (HTTP over a Unix socket, see
// docs/runtime.md): health for the health gate, model hot-swap requests, and the runtime's
// metrics for telemetry. Every call is bounded by short timeouts: a hung runtime is a failure.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "http_client/http_client.hpp"

namespace ef::runtime_link {

struct Health {
  bool up = false;         // the runtime answered
  bool inferring = false;  // it reports itself healthy: up and inferring
  std::string model_version;
  std::string release;
  std::string detail;  // the runtime's own words, for failure reports
};

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

 private:
  std::filesystem::path socket_;
  http_client::HttpClient http_;
};

}  // namespace ef::runtime_link

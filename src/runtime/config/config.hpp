// The runtime configuration (config/runtime.json in a release), parsed strictly.
//
//   {
//     "camera": { ... see camera/source.hpp and docs/runtime.md ... },
//     "model": {"backend": "opencv_dnn", "warm_up_runs": 3},
//     "pipeline": {"queue_capacity": 4, "recent_results": 1024},
//     "health": {"healthy_within_ms": 3000},
//     "health_gate": {"deadline_s": 120},
//     "hmi": {"listen": "127.0.0.1:8470"}
//   }
//
// Only "camera" is required. "health_gate" is read by the device agent (how long a new release
// has to become healthy); the runtime checks it but does not use it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/common/result.hpp"
#include "runtime/camera/source.hpp"

namespace ef::runtime {

// Where the HMI endpoint listens: loopback TCP ("127.0.0.1:8470", "[::1]:8470", port 0 for any
// free port) or a Unix socket ("unix:/run/edgefleet/hmi.sock"). Anything else is refused: the
// endpoint has no authentication and must stay on the device.
struct ListenAddress {
  enum class Kind { none, tcp, unix_socket };
  Kind kind = Kind::none;
  std::string host;  // tcp
  std::uint16_t port = 0;
  std::filesystem::path path;  // unix
};
Result<ListenAddress> parse_listen_address(std::string_view text);

struct RuntimeConfig {
  camera::SourceConfig camera;
  std::string backend = "opencv_dnn";
  int warm_up_runs = 3;
  std::size_t queue_capacity = 4;
  std::size_t recent_results = 1024;
  std::chrono::milliseconds healthy_within{3000};
  std::chrono::seconds health_gate_deadline{120};
  ListenAddress hmi;
};

inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

Result<RuntimeConfig> parse_runtime_config(std::string_view text);
Result<RuntimeConfig> load_runtime_config(const std::filesystem::path& path);

}  // namespace ef::runtime

// The runtime program, wired: configuration and flags -> model -> camera -> inspection pipeline ->
// control API (Unix socket) and HMI API, running until SIGINT or SIGTERM.
//
// run_runtime() returns the process exit code that docs/runtime.md promises: 0 after a signal
// (clean stop), 2 bad configuration, flags or listen address, 3 the model cannot be loaded or
// does not run, 1 other start-up failures; each failure is logged (critical) with its reason.
// It blocks; logging must be set up by the caller.
#pragma once

#include <filesystem>
#include <string>

namespace ef::runtime {

struct RuntimeFlags {
  std::filesystem::path config;  // config/runtime.json
  std::filesystem::path model_dir = "model";
  std::filesystem::path control_socket;
  std::string release;     // reported in health and model_info
  std::string hmi_listen;  // overrides hmi.listen of the config when not empty
  std::string device_id;   // reported in health; varies the synthetic camera's part stream
};

int run_runtime(const RuntimeFlags& flags);

}  // namespace ef::runtime

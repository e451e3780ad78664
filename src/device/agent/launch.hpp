// How a release runs: config/launch.json, shipped in the release's config part.
//
//   {"command": ["code/edgefleet-runtime", "--config", "config/runtime.json",
//                "--control-socket", "{control_socket}", "--release", "{release}"],
//    "health_deadline_seconds": 60,
//    "model_hot_swap": true}
//
// The command runs with the release folder as working directory; its first word is a path inside
// the release. Placeholders: {control_socket} {release} {release_dir} {device_id} {data_dir}.
// A release whose launch.json is missing or malformed fails its install with that reason.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "device/supervisor/supervisor.hpp"

namespace ef::agent {

struct Launch {
  std::vector<std::string> command;
  std::chrono::seconds health_deadline{60};
  bool model_hot_swap = true;
};

Result<Launch> parse_launch(std::string_view text);
Result<Launch> load_launch(const std::filesystem::path& release_dir);

// The process to start, with placeholders filled in.
supervisor::LaunchSpec launch_spec(const Launch& launch, const std::filesystem::path& release_dir,
                                   const std::map<std::string, std::string>& values,
                                   const std::filesystem::path& log_file);

}  // namespace ef::agent

// edgefleet-runtime: camera -> anomaly model -> pass/reject, with a control API for the device
// agent (health, metrics, model hot-swap) and an HMI API for the line's operator panel.
// Flags, files and endpoints: docs/runtime.md. The wiring is run_runtime (src/runtime/runtime_app).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <opencv2/core/utils/logger.hpp>

#include "runtime/runtime_app/runtime_app.hpp"

int main(int argc, char** argv) {
  CLI::App app{"edgefleet-runtime: inspect a camera's frames with an anomaly model"};
  ef::runtime::RuntimeFlags flags;
  std::string log_level = "info";
  app.add_option("--config", flags.config, "runtime configuration (config/runtime.json)")
      ->required();
  app.add_option("--model-dir", flags.model_dir,
                 "model directory holding model.json and the ONNX file (default: model, the "
                 "release's model part when started in the release directory)");
  app.add_option("--control-socket", flags.control_socket,
                 "Unix socket for the agent's control API (health, metrics, hot-swap)")
      ->required();
  app.add_option("--release", flags.release, "release version, reported in health and metrics");
  app.add_option("--hmi-listen", flags.hmi_listen,
                 "HMI endpoint: 127.0.0.1:PORT (0: any free port) or unix:PATH; overrides "
                 "hmi.listen in the config");
  app.add_option("--device-id", flags.device_id,
                 "device identity for the health report; also varies the synthetic camera's "
                 "part stream per device");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  return ef::runtime::run_runtime(flags);
}

// edgefleet-runtime: camera -> anomaly model -> pass/reject, with a control API for the device
// agent (health, metrics, model hot-swap) and an HMI API for the line's operator panel.
// Flags, files and endpoints: docs/runtime.md.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <opencv2/core/utils/logger.hpp>

#include "core/http/server.hpp"
#include "runtime/camera/camera.hpp"
#include "runtime/config/config.hpp"
#include "runtime/endpoints/endpoints.hpp"
#include "runtime/inspection/pipeline.hpp"
#include "runtime/model/model.hpp"

namespace {

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

int fail(int code, const std::string& message) {
  spdlog::critical("{}", message);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edgefleet-runtime: inspect a camera's frames with an anomaly model"};
  std::string config_path, model_dir = "model", control_socket, release, hmi_listen, device_id;
  std::string log_level = "info";
  app.add_option("--config", config_path, "runtime configuration (config/runtime.json)")
      ->required();
  app.add_option("--model-dir", model_dir,
                 "model directory holding model.json and the ONNX file (default: model, the "
                 "release's model part when started in the release directory)");
  app.add_option("--control-socket", control_socket,
                 "Unix socket for the agent's control API (health, metrics, hot-swap)")
      ->required();
  app.add_option("--release", release, "release version, reported in health and metrics");
  app.add_option("--hmi-listen", hmi_listen,
                 "HMI endpoint: 127.0.0.1:PORT (0: any free port) or unix:PATH; overrides "
                 "hmi.listen in the config");
  app.add_option("--device-id", device_id,
                 "device identity for the health report; also varies the synthetic camera's "
                 "part stream per device");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);

  auto config = ef::runtime::load_runtime_config(config_path);
  if (!config) return fail(2, config.error().message);
  if (!hmi_listen.empty()) {
    auto address = ef::runtime::parse_listen_address(hmi_listen);
    if (!address) return fail(2, "--hmi-listen: " + address.error().message);
    config->hmi = *address;
  }
  if (!device_id.empty() && config->camera.type == ef::camera::SourceConfig::Type::synthetic) {
    // Each device sees its own stretch of the same product line.
    config->camera.synthetic.first_frame = (fnv1a(device_id) % 1'000'000) * 1000;
  }

  ef::model::LoadOptions load;
  load.backend = config->backend;
  auto model = ef::model::Model::load(model_dir, load);
  if (!model) {
    return fail(3, "cannot load the model in " + model_dir + ": " + model.error().message);
  }
  if (auto warmed = (*model)->warm_up(config->warm_up_runs); !warmed) {
    return fail(3, "the model does not run: " + warmed.error().message);
  }
  spdlog::info("model {} ({}) loaded from {} on {}", (*model)->metadata().version,
               (*model)->metadata().name, model_dir, (*model)->backend_name());

  auto source = ef::camera::make_source(config->camera);
  if (!source) return fail(2, source.error().message);
  auto camera = std::make_unique<ef::camera::Camera>(std::move(*source));

  ef::metrics::Registry registry;
  ef::inspection::PipelineOptions options;
  options.queue_capacity = config->queue_capacity;
  options.recent_results = config->recent_results;
  options.healthy_within = config->healthy_within;
  options.release = release;
  options.load = load;
  options.warm_up_runs = config->warm_up_runs;
  if (config->camera.width > 0 && config->camera.height > 0) {
    options.expected_frame_size = {config->camera.width, config->camera.height};
  }
  auto pipeline =
      ef::inspection::Pipeline::create(std::move(camera), std::move(*model), registry, options);
  if (!pipeline) return fail(1, pipeline.error().message);

  boost::asio::io_context io;
  ef::runtime::OperatorActions operator_actions((*pipeline)->results(), registry);
  ef::runtime::EndpointContext context{**pipeline, registry, operator_actions, io, device_id, ""};
  ef::http::Limits control_limits;
  ef::http::Server control(io, ef::runtime::control_router(context), control_limits);
  if (auto listening = control.listen_unix(control_socket, 0600); !listening) {
    return fail(2, "control socket: " + listening.error().message);
  }
  std::unique_ptr<ef::http::Server> hmi;
  if (config->hmi.kind != ef::runtime::ListenAddress::Kind::none) {
    ef::http::Limits hmi_limits;
    hmi_limits.max_body_bytes = 4 * 1024;
    hmi_limits.header_timeout = std::chrono::seconds(5);
    hmi = std::make_unique<ef::http::Server>(io, ef::runtime::hmi_router(context), hmi_limits);
    if (config->hmi.kind == ef::runtime::ListenAddress::Kind::tcp) {
      auto port = hmi->listen_tcp(config->hmi.host, config->hmi.port);
      if (!port) return fail(2, "HMI endpoint: " + port.error().message);
      const bool v6 = config->hmi.host.find(':') != std::string::npos;
      context.hmi_address =
          (v6 ? "[" + config->hmi.host + "]" : config->hmi.host) + ":" + std::to_string(*port);
    } else {
      if (auto listening = hmi->listen_unix(config->hmi.path, 0660); !listening) {
        return fail(2, "HMI endpoint: " + listening.error().message);
      }
      context.hmi_address = "unix:" + config->hmi.path.string();
    }
  }

  (*pipeline)->start();
  spdlog::info("runtime up: release {}, camera {}, control API on {}{}",
               release.empty() ? "-" : release, (*pipeline)->health().camera.description,
               control_socket,
               context.hmi_address.empty() ? "" : ", HMI on " + context.hmi_address);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    spdlog::info("signal {}: stopping", signal);
    control.stop();
    if (hmi) hmi->stop();
    io.stop();
  });
  io.run();
  (*pipeline)->stop();
  std::error_code ignored;
  std::filesystem::remove(control_socket, ignored);
  spdlog::info("runtime stopped after {} frames", (*pipeline)->counters().processed);
  return 0;
}

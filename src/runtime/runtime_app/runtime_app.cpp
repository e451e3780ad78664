#include "runtime/runtime_app/runtime_app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "core/http/server.hpp"
#include "runtime/camera/camera.hpp"
#include "runtime/config/config.hpp"
#include "runtime/endpoints/endpoints.hpp"
#include "runtime/inspection/pipeline.hpp"
#include "runtime/model/model.hpp"

namespace ef::runtime {

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

// The configuration file with the command line's overrides applied.
Result<RuntimeConfig> configure(const RuntimeFlags& flags) {
  EF_TRY(auto config, load_runtime_config(flags.config));
  if (!flags.hmi_listen.empty()) {
    auto address = parse_listen_address(flags.hmi_listen);
    if (!address) return std::move(address).error().context("--hmi-listen");
    config.hmi = *address;
  }
  if (!flags.device_id.empty() && config.camera.type == camera::SourceConfig::Type::synthetic) {
    // Each device sees its own stretch of the same product line.
    config.camera.synthetic.first_frame = (fnv1a(flags.device_id) % 1'000'000) * 1000;
  }
  return config;
}

Result<std::unique_ptr<model::Model>> load_model(const RuntimeFlags& flags,
                                                 const RuntimeConfig& config) {
  model::LoadOptions load;
  load.backend = config.backend;
  auto model = model::Model::load(flags.model_dir, load);
  if (!model) {
    return std::move(model).error().context("cannot load the model in " + flags.model_dir.string());
  }
  if (auto warmed = (*model)->warm_up(config.warm_up_runs); !warmed) {
    return std::move(warmed).error().context("the model does not run");
  }
  spdlog::info("model {} ({}) loaded from {} on {}", (*model)->metadata().version,
               (*model)->metadata().name, flags.model_dir.string(), (*model)->backend_name());
  return model;
}

inspection::PipelineOptions pipeline_options(const RuntimeFlags& flags,
                                             const RuntimeConfig& config) {
  inspection::PipelineOptions options;
  options.queue_capacity = config.queue_capacity;
  options.recent_results = config.recent_results;
  options.healthy_within = config.healthy_within;
  options.release = flags.release;
  options.load.backend = config.backend;
  options.warm_up_runs = config.warm_up_runs;
  if (config.camera.width > 0 && config.camera.height > 0) {
    options.expected_frame_size = {config.camera.width, config.camera.height};
  }
  return options;
}

// Listens for the HMI API as configured and returns the address it is reachable at.
Result<std::string> listen_hmi(http::Server& server, const ListenAddress& address) {
  if (address.kind == ListenAddress::Kind::tcp) {
    EF_TRY(auto port, server.listen_tcp(address.host, address.port));
    const bool v6 = address.host.find(':') != std::string::npos;
    return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(port);
  }
  EF_CHECK(server.listen_unix(address.path, 0660));
  return "unix:" + address.path.string();
}

http::Limits hmi_limits() {
  http::Limits limits;
  limits.max_body_bytes = 4 * 1024;
  limits.header_timeout = std::chrono::seconds(5);
  return limits;
}

// Serves both APIs until a signal; returns the exit code.
int serve(const RuntimeFlags& flags, const RuntimeConfig& config, inspection::Pipeline& pipeline,
          metrics::Registry& registry) {
  boost::asio::io_context io;
  OperatorActions operator_actions(pipeline.results(), registry);
  EndpointContext context{pipeline, registry, operator_actions, io, flags.device_id, ""};
  http::Server control(io, control_router(context), http::Limits{});
  if (auto listening = control.listen_unix(flags.control_socket, 0600); !listening) {
    return fail(2, "control socket: " + listening.error().message);
  }
  std::unique_ptr<http::Server> hmi;
  if (config.hmi.kind != ListenAddress::Kind::none) {
    hmi = std::make_unique<http::Server>(io, hmi_router(context), hmi_limits());
    auto address = listen_hmi(*hmi, config.hmi);
    if (!address) return fail(2, "HMI endpoint: " + address.error().message);
    context.hmi_address = *address;
  }

  pipeline.start();
  spdlog::info("runtime up: release {}, camera {}, control API on {}{}",
               flags.release.empty() ? "-" : flags.release, pipeline.health().camera.description,
               flags.control_socket.string(),
               context.hmi_address.empty() ? "" : ", HMI on " + context.hmi_address);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    spdlog::info("signal {}: stopping", signal);
    control.stop();
    if (hmi) hmi->stop();
    io.stop();
  });
  io.run();
  pipeline.stop();
  std::error_code ignored;
  std::filesystem::remove(flags.control_socket, ignored);
  spdlog::info("runtime stopped after {} frames", pipeline.counters().processed);
  return 0;
}

}  // namespace

int run_runtime(const RuntimeFlags& flags) {
  auto config = configure(flags);
  if (!config) return fail(2, config.error().message);
  auto model = load_model(flags, *config);
  if (!model) return fail(3, model.error().message);
  auto source = camera::make_source(config->camera);
  if (!source) return fail(2, source.error().message);
  auto camera = std::make_unique<camera::Camera>(std::move(*source));
  metrics::Registry registry;
  auto pipeline = inspection::Pipeline::create(std::move(camera), std::move(*model), registry,
                                               pipeline_options(flags, *config));
  if (!pipeline) return fail(1, pipeline.error().message);
  return serve(flags, *config, **pipeline, registry);
}

}  // namespace ef::runtime

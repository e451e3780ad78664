#include "device/agent/telemetry_loop.hpp"

#include <algorithm>
#include <iostream>
#include <thread>

#include "device/runtime_link/runtime_link.hpp"
#include "device/telemetry/collectors.hpp"

namespace ef::agent {

namespace {

void log(const std::string& line) {
  std::cerr << "edgefleet-agent: telemetry: " << line << std::endl;
}

telemetry_pipeline::Delivery delivery_of(const Result<long>& sent) {
  using telemetry_pipeline::Delivery;
  if (!sent) return Delivery::retry_later;
  const long status = *sent;
  if (status >= 200 && status < 300) return Delivery::taken;
  if (status == 400 || status == 413 || status == 415) return Delivery::refused;
  return Delivery::retry_later;  // 409 (check in first), 503 (server queue full), 5xx, 401/403
}

// Everything measured this round. The runtime may be down (updating, crashed): then its series
// are simply absent this round.
telemetry_pipeline::Collect make_collect(const TelemetryConfig& config) {
  auto system = std::make_shared<device_telemetry::SystemCollector>(
      device_telemetry::SystemPaths{.data_dir = config.data_dir});
  std::shared_ptr<device_telemetry::NvmlCollector> gpu = device_telemetry::NvmlCollector::load();
  auto runtime = std::make_shared<runtime_link::RuntimeLink>(config.control_socket);
  return [system, gpu, runtime](std::int64_t now_ms) {
    auto out = system->collect(now_ms);
    if (gpu) {
      auto g = gpu->collect(now_ms);
      std::move(g.begin(), g.end(), std::back_inserter(out));
    }
    if (auto text = runtime->metrics()) {
      if (auto r = device_telemetry::from_runtime_exposition(*text, now_ms)) {
        std::move(r->series.begin(), r->series.end(), std::back_inserter(out));
      }
    }
    return out;
  };
}

}  // namespace

void run_telemetry(const TelemetryConfig& config, const telemetry_pipeline::UpdateCounts& updates,
                   const std::atomic<std::uint64_t>& server_back, const std::atomic<bool>& stop) {
  auto api = std::make_shared<server_link::Client>(config.endpoint);
  auto send = [api, id = config.device_id, endpoint = config.endpoint,
               url = config.server_url](std::string_view batch) mutable {
    if (std::string now = url ? url() : endpoint.server_url; now != endpoint.server_url) {
      endpoint.server_url = std::move(now);
      api->set_endpoint(endpoint);
    }
    return delivery_of(api->send_telemetry(id, batch));
  };
  auto pipeline = telemetry_pipeline::Pipeline::open({.dir = config.data_dir / "telemetry"},
                                                     make_collect(config), send, &updates);
  if (!pipeline) return log("disabled: " + pipeline.error().message);
  auto next = std::chrono::steady_clock::now();
  std::uint64_t back_seen = server_back;
  while (!stop) {
    if (server_back != back_seen) {
      back_seen = server_back;
      (*pipeline)->retry_now();
    }
    if (auto st = (*pipeline)->round(telemetry_pipeline::unix_now_ms()); !st)
      log(st.error().message);
    // A long round (a backlog replay) delays the next one; rounds do not pile up after it.
    next = std::max(next + config.interval, std::chrono::steady_clock::now());
    while (!stop && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace ef::agent

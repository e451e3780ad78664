// The runtime's two local HTTP APIs (JSON; errors as {"error": {"code", "message"}}).
//
// Control API, for the device agent, on a Unix socket (mode 0600):
//   GET  /v1/health      200 when up and inferring, else 503; the body says why
//   GET  /metrics        Prometheus text exposition
//   GET  /v1/model       the model scoring frames and the latest swap
//   POST /v1/model/swap  {"model_dir": "/abs/path", "version": "v2", "wait_s": 30}
//                        202 started (or still running after wait_s), 200 swapped,
//                        422 failed (the old model keeps running), 409 another swap is running
//   GET  /v1/model/swap  the latest swap's status
//
// Control API answers hold integers only (no fractions), so that clients with strict
// integer-only JSON parsers (ef::json::parse_strict's default) read them.
//
// HMI API, for the line's operator panel, on loopback or a Unix socket:
//   GET  /v1/health
//   GET  /v1/results?after=SEQ&limit=N   recent decisions, oldest first (limit <= 1000)
//   POST /v1/overrides     {"sequence": 812, "decision": "pass", "operator": "ana"}
//   POST /v1/interactions  {"kind": "acknowledge_alarm", "operator": "ana"}
// HMI bodies are limited to 4 KiB, swap requests to 16 KiB (413 beyond).
#pragma once

#include <boost/asio/io_context.hpp>
#include <string>

#include "core/http/router.hpp"
#include "core/json/json.hpp"
#include "core/metrics/metrics.hpp"
#include "runtime/endpoints/operator_actions.hpp"
#include "runtime/inspection/pipeline.hpp"

namespace ef::runtime {

// What the handlers use; everything referenced must outlive the routers.
struct EndpointContext {
  inspection::Pipeline& pipeline;
  metrics::Registry& registry;
  OperatorActions& operator_actions;  // HMI overrides and interactions
  boost::asio::io_context& io;
  std::string device_id;
  std::string hmi_address;  // where the HMI API listens, reported in /v1/health
};

http::Router control_router(EndpointContext& context);
http::Router hmi_router(EndpointContext& context);

json::Json health_json(const inspection::Health& health, const EndpointContext& context);
json::Json swap_json(const inspection::SwapStatus& swap);
json::Json result_json(const inspection::FrameResult& result);
// "2026-11-24T20:03:04.123Z"
std::string format_time_ms(std::chrono::system_clock::time_point t);

}  // namespace ef::runtime

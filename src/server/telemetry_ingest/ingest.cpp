#include "server/telemetry_ingest/ingest.hpp"

#include "core/common/time.hpp"
#include "core/http/json_body.hpp"
#include "core/telemetry/batch_codec.hpp"
#include "server/device_auth/device_auth.hpp"

namespace ef::telemetry_ingest {

using http::Request;
using http::Response;

namespace {

struct State {
  Services services;
  // Counters by outcome and reason, created on first use.
  metrics::Counter& samples(const std::string& outcome, const std::string& reason) {
    return counter("edgefleet_server_telemetry_samples_total",
                   "Telemetry samples by what became of them, and why.", outcome, reason);
  }
  metrics::Counter& batches(const std::string& outcome, const std::string& reason) {
    return counter("edgefleet_server_telemetry_batches_total",
                   "Telemetry batches from devices by outcome, and why.", outcome, reason);
  }
  metrics::Counter& counter(const char* name, const char* help, const std::string& outcome,
                            const std::string& reason) {
    static metrics::Counter unregistered;  // registration fails only on a bug in the names above
    auto c = services.registry.counter(name, help, {{"outcome", outcome}, {"reason", reason}});
    return c ? **c : unregistered;
  }
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(utc_now().time_since_epoch())
      .count();
}

Response unavailable(std::string_view code, std::string_view message) {
  auto r = Response::error(503, code, message);
  r.set("Retry-After", "60");
  return r;
}

Response refused_batch(State& st, const Error& e, const char* reason) {
  st.batches("refused", reason).inc();
  return http::error_response(e);
}

Response accepted(State& st, const Stamped& stamped) {
  st.batches("accepted", "").inc();
  st.samples("received", "").inc(double(stamped.accepted_samples));
  json::Json refused = json::Json::object();
  for (const auto& [reason, n] : stamped.refused_samples) {
    st.samples("refused", reason).inc(double(n));
    refused[reason] = n;
  }
  return Response::json(
      200, json::Json{
               {"accepted", stamped.accepted_samples}, {"refused", refused}, {"duplicate", false}});
}

Response ingest(State& st, const Request& r, const store::Device& device) {
  if (st.services.heard_from) st.services.heard_from(device.id);
  if (!st.services.sink) {
    st.batches("refused", "not_configured").inc();
    return unavailable("telemetry_not_configured", "this server relays no telemetry");
  }
  if (r.header("Content-Type") != telemetry::kBatchContentType) {
    st.batches("refused", "content_type").inc();
    return Response::error(415, "unsupported_media_type",
                           "telemetry must be " + std::string(telemetry::kBatchContentType));
  }
  auto batch = telemetry::decode_batch(r.body);
  if (!batch) return refused_batch(st, batch.error(), "malformed");
  auto& store = st.services.store;
  auto delivered = store.telemetry_delivered(device.id);
  if (!delivered) return http::error_response(delivered.error());
  if (batch->last_sequence != 0 && batch->last_sequence <= *delivered) {
    st.batches("duplicate", "").inc();
    return Response::json(
        200, json::Json{{"accepted", 0}, {"refused", json::Json::object()}, {"duplicate", true}});
  }
  auto history = store.running_history(device.id, 256);
  if (!history) return http::error_response(history.error());
  const auto last_sequence = batch->last_sequence;
  auto stamped = stamp(std::move(*batch), device, *history, st.services.settings.limits, now_ms());
  if (!stamped) return refused_batch(st, stamped.error(), "model_version_not_reported");
  if (auto st_sink = st.services.sink(stamped->series); !st_sink) {
    st.batches("refused", "queue_full").inc();
    return unavailable("telemetry_queue_full", st_sink.error().message);
  }
  if (auto saved = store.set_telemetry_delivered(device.id, last_sequence); !saved)
    return http::error_response(saved.error());
  return accepted(st, *stamped);
}

}  // namespace

Status add_routes(http::Router& router, Services services) {
  auto st = std::make_shared<State>(State{std::move(services)});
  http::RouteOptions options;
  options.name = "devices.telemetry";
  options.max_body = st->services.settings.max_body;
  device_auth::add_device_route(
      router, http::Verb::post, "/api/v1/devices/{id}/telemetry", st->services.store,
      [st](Request& r, const store::Device& device) { return ingest(*st, r, device); }, options);
  return {};
}

}  // namespace ef::telemetry_ingest

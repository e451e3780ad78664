#include "runtime/endpoints/endpoints.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "core/http/json_body.hpp"
#include "core/json/reader.hpp"

namespace ef::runtime {

namespace {

using inspection::SwapStatus;
using std::chrono::system_clock;

constexpr std::size_t kMaxResultsPerRequest = 1000;

json::Json optional_time(const std::optional<system_clock::time_point>& t) {
  return t ? json::Json(format_time_ms(*t)) : json::Json(nullptr);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

http::Response health_response(EndpointContext& context) {
  const auto health = context.pipeline.health();
  return http::Response::json(health.healthy ? 200 : 503, health_json(health, context));
}

unsigned swap_http_status(const SwapStatus& swap) {
  if (swap.state == SwapStatus::State::swapped) return 200;
  if (swap.state == SwapStatus::State::failed) return 422;
  return 202;
}

}  // namespace

std::string format_time_ms(system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

json::Json health_json(const inspection::Health& h, const EndpointContext& context) {
  return {
      {"healthy", h.healthy},
      {"status", h.status},
      {"model_version", h.model_version},
      {"model_name", h.model_name},
      {"release", h.release},
      {"device_id", context.device_id},
      {"last_inference", optional_time(h.last_inference)},
      {"last_inference_unix_ms",
       h.last_inference ? json::Json(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         h.last_inference->time_since_epoch())
                                         .count())
                        : json::Json(nullptr)},
      {"frames_processed", h.frames_processed},
      {"frames_dropped", h.frames_dropped},
      {"frames_invalid", h.frames_invalid},
      {"last_frame_error", h.last_frame_error},
      {"uptime_seconds", static_cast<std::int64_t>(h.uptime_seconds)},
      {"hmi_address", context.hmi_address},
      {"camera",
       {{"description", h.camera.description},
        {"connected", h.camera.connected},
        {"finished", h.camera.finished},
        {"reconnects", h.camera.reconnects},
        {"failed_opens", h.camera.failed_opens},
        {"last_error", h.camera.last_error}}},
  };
}

json::Json swap_json(const SwapStatus& s) {
  if (s.id == 0) return {{"id", 0}, {"state", "idle"}};
  json::Json out = {
      {"id", s.id},
      {"state", inspection::swap_state_name(s.state)},
      {"model_dir", s.model_dir},
      {"requested_version", s.requested_version},
      {"previous_version", s.previous_version},
      {"new_version", s.new_version},
      {"error", s.error},
      {"requested_at", format_time_ms(s.requested_at)},
      {"finished_at",
       s.in_progress() ? json::Json(nullptr) : json::Json(format_time_ms(s.finished_at))},
  };
  if (s.state == SwapStatus::State::swapped) out["last_sequence_before"] = s.last_sequence_before;
  return out;
}

json::Json result_json(const inspection::FrameResult& r) {
  json::Json out = {
      {"sequence", r.sequence},
      {"model_version", r.model_version},
      {"score", r.score},
      {"threshold", r.threshold},
      {"decision", inspection::decision_name(r.decision)},
      {"latency_seconds", r.latency_seconds},
      {"decided_at", format_time_ms(r.decided_at)},
      {"origin", r.origin},
  };
  if (!r.truth.empty()) out["truth"] = r.truth;
  if (r.override_decision) {
    out["override"] = {{"decision", inspection::decision_name(*r.override_decision)},
                       {"operator", r.override_operator}};
  }
  return out;
}

namespace {

struct SwapRequest {
  std::filesystem::path model_dir;
  std::string version;
  std::int64_t wait_s = 0;
};

Result<SwapRequest> parse_swap_request(const json::Json& body) {
  json::ObjectReader reader(body, "");
  SwapRequest request;
  EF_TRY(auto dir, reader.string("model_dir"));
  EF_CHECK(reader.optional("version", request.version));
  EF_CHECK(reader.optional("wait_s", request.wait_s, 0, 300));
  EF_CHECK(reader.finish());
  if (dir.size() > 4096 || !std::filesystem::path(dir).is_absolute()) {
    return make_error(Errc::invalid_argument, "model_dir must be an absolute path");
  }
  request.model_dir = dir;
  return request;
}

// Starts a swap and optionally waits for its outcome, polling without blocking the server's
// thread.
boost::asio::awaitable<http::Response> swap_handler(EndpointContext& context,
                                                    http::Request& request) {
  http::Response refusal;
  auto body = http::json_object_body(request, &refusal);
  if (!body) co_return refusal;
  auto swap = parse_swap_request(*body);
  if (!swap) co_return http::error_response(swap.error());
  auto id = context.pipeline.request_swap(swap->model_dir, swap->version);
  if (!id) co_return http::error_response(id.error());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(swap->wait_s);
  auto status = context.pipeline.swap_status();
  while (status.in_progress() && std::chrono::steady_clock::now() < deadline) {
    boost::asio::steady_timer timer(context.io, std::chrono::milliseconds(20));
    co_await timer.async_wait(boost::asio::use_awaitable);
    status = context.pipeline.swap_status();
  }
  co_return http::Response::json(swap_http_status(status), swap_json(status));
}

http::Response results_handler(EndpointContext& context, const http::Request& request) {
  std::uint64_t after = 0, limit = 100;
  if (auto text = request.query_param("after")) {
    auto parsed = parse_u64(*text);
    if (!parsed) {
      return http::Response::error(400, "invalid_argument", "after must be a sequence number");
    }
    after = *parsed;
  }
  if (auto text = request.query_param("limit")) {
    auto parsed = parse_u64(*text);
    if (!parsed || *parsed == 0 || *parsed > kMaxResultsPerRequest) {
      return http::Response::error(400, "invalid_argument", "limit must be 1 to 1000");
    }
    limit = *parsed;
  }
  json::Json list = json::Json::array();
  for (const auto& r : context.pipeline.results().after(after, limit))
    list.push_back(result_json(r));
  return http::Response::json(200, {{"results", std::move(list)}});
}

struct OverrideRequest {
  std::uint64_t sequence = 0;
  inspection::Decision decision = inspection::Decision::pass;
  std::string operator_id;
};

Result<OverrideRequest> parse_override_request(const json::Json& body) {
  json::ObjectReader reader(body, "");
  OverrideRequest request;
  EF_TRY(auto sequence, reader.integer("sequence", 1, INT64_MAX));
  EF_TRY(auto decision_text, reader.string("decision"));
  EF_CHECK(reader.optional("operator", request.operator_id));
  EF_CHECK(reader.finish());
  EF_TRY(request.decision, inspection::parse_decision(decision_text));
  request.sequence = static_cast<std::uint64_t>(sequence);
  return request;
}

http::Response override_handler(EndpointContext& context, const http::Request& request) {
  http::Response refusal;
  auto body = http::json_object_body(request, &refusal);
  if (!body) return refusal;
  auto parsed = parse_override_request(*body);
  if (!parsed) return http::error_response(parsed.error());
  auto result = context.operator_actions.override_decision(parsed->sequence, parsed->decision,
                                                           parsed->operator_id);
  if (!result) return http::error_response(result.error());
  return http::Response::json(200, {{"result", result_json(*result)}});
}

http::Response interaction_handler(EndpointContext& context, const http::Request& request) {
  http::Response refusal;
  auto body = http::json_object_body(request, &refusal);
  if (!body) return refusal;
  json::ObjectReader reader(*body, "");
  auto kind = reader.string("kind");
  if (!kind) return http::error_response(kind.error());
  std::string operator_id;
  if (auto s = reader.optional("operator", operator_id); !s) return http::error_response(s.error());
  if (auto s = reader.finish(); !s) return http::error_response(s.error());
  if (operator_id.size() > 64) {
    return http::Response::error(400, "invalid_argument", "operator: at most 64 characters");
  }
  if (auto s = context.operator_actions.record_interaction(*kind); !s) {
    return http::error_response(s.error());
  }
  return http::Response::no_content();
}

}  // namespace

http::Router control_router(EndpointContext& context) {
  http::Router router;
  router.add_sync(http::Verb::get, "/v1/health",
                  [&context](http::Request&) { return health_response(context); });
  router.add_sync(http::Verb::get, "/metrics", [&context](http::Request&) {
    return http::Response::text(200, context.registry.expose(),
                                std::string(metrics::kExpositionContentType));
  });
  router.add_sync(http::Verb::get, "/v1/model", [&context](http::Request&) {
    const auto health = context.pipeline.health();
    return http::Response::json(200, {{"model_version", health.model_version},
                                      {"model_name", health.model_name},
                                      {"release", health.release},
                                      {"swap", swap_json(context.pipeline.swap_status())}});
  });
  router.add_sync(http::Verb::get, "/v1/model/swap", [&context](http::Request&) {
    return http::Response::json(200, swap_json(context.pipeline.swap_status()));
  });
  http::RouteOptions swap_options;
  swap_options.max_body = 16 * 1024;
  router.add(
      http::Verb::post, "/v1/model/swap",
      [&context](http::Request& request) { return swap_handler(context, request); }, swap_options);
  return router;
}

http::Router hmi_router(EndpointContext& context) {
  http::Router router;
  router.add_sync(http::Verb::get, "/v1/health",
                  [&context](http::Request&) { return health_response(context); });
  router.add_sync(http::Verb::get, "/v1/results",
                  [&context](http::Request& request) { return results_handler(context, request); });
  http::RouteOptions small;
  small.max_body = 4 * 1024;
  router.add_sync(
      http::Verb::post, "/v1/overrides",
      [&context](http::Request& request) { return override_handler(context, request); }, small);
  router.add_sync(
      http::Verb::post, "/v1/interactions",
      [&context](http::Request& request) { return interaction_handler(context, request); }, small);
  return router;
}

}  // namespace ef::runtime

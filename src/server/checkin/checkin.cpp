#include "server/checkin/checkin.hpp"

#include <charconv>
#include <variant>

#include "core/http/json_body.hpp"
#include "server/device_auth/device_auth.hpp"

namespace ef::checkin {

namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {

Status copy_string(const json::Json& from, json::Json& to, const char* key, std::size_t max,
                   bool nullable) {
  if (!from.contains(key)) return {};
  const auto& v = from[key];
  if (v.is_null() && nullable) {
    to[key] = nullptr;
    return {};
  }
  if (!v.is_string() || v.get_ref<const std::string&>().size() > max) {
    return make_error(Errc::invalid_argument, std::string(key) + " must be a string of at most " +
                                                  std::to_string(max) + " characters" +
                                                  (nullable ? " (or null)" : ""));
  }
  to[key] = v;
  return {};
}

Status copy_count(const json::Json& from, json::Json& to, const char* key, std::int64_t max) {
  if (!from.contains(key)) return {};
  const auto& v = from[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max) {
    return make_error(Errc::invalid_argument,
                      std::string(key) + " must be an integer from 0 to " + std::to_string(max));
  }
  to[key] = v;
  return {};
}

Status copy_number(const json::Json& from, json::Json& to, const char* key, double max) {
  if (!from.contains(key)) return {};
  const auto& v = from[key];
  if (v.is_null()) {
    to[key] = nullptr;
    return {};
  }
  // JSON has no NaN; an overflowing literal (1e999) parses as infinity and fails the range check.
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > max) {
    return make_error(Errc::invalid_argument, std::string(key) + " must be a number from 0 to " +
                                                  std::to_string(static_cast<std::int64_t>(max)) +
                                                  " (or null)");
  }
  to[key] = v;
  return {};
}

Status copy_word(const json::Json& from, json::Json& to, const char* key,
                 std::initializer_list<const char*> allowed) {
  if (!from.contains(key)) return {};
  const auto& v = from[key];
  if (v.is_string()) {
    for (const char* a : allowed) {
      if (v.get_ref<const std::string&>() == a) {
        to[key] = v;
        return {};
      }
    }
  }
  std::string list;
  for (const char* a : allowed)
    list += (list.empty() ? "" : ", ") + std::string(a);
  return make_error(Errc::invalid_argument, std::string(key) + " must be one of " + list);
}

// An optional object member: absent (kept as it was), null (cleared) or an object that fill
// copies checked fields out of.
template <typename Fill>
Status copy_object(const json::Json& body, json::Json& out, const char* key, Fill fill) {
  if (!body.contains(key)) return {};
  const auto& in = body[key];
  if (in.is_null()) {
    out[key] = nullptr;
    return {};
  }
  if (!in.is_object())
    return make_error(Errc::invalid_argument, std::string(key) + " must be an object");
  json::Json copy = json::Json::object();
  if (auto st = fill(in, copy); !st) return std::move(st).error().context(key);
  out[key] = std::move(copy);
  return {};
}

}  // namespace

Result<json::Json> normalize_report(const json::Json& body) {
  if (!body.is_object())
    return make_error(Errc::invalid_argument, "a report must be a JSON object");
  json::Json out = json::Json::object();
  EF_CHECK(copy_string(body, out, "installed_release", 64, true));
  EF_CHECK(copy_string(body, out, "trial_release", 64, true));
  EF_CHECK(copy_string(body, out, "model_version", 128, true));
  EF_CHECK(copy_string(body, out, "agent_version", 64, true));
  EF_CHECK(copy_string(body, out, "last_failure_reason", 2048, true));
  // null clears a field, as for the strings above (an update that finished reports "update": null).
  if (body.contains("update") && body["update"].is_null()) out["update"] = nullptr;
  if (body.contains("update") && !body["update"].is_null()) {
    const auto& u = body["update"];
    if (!u.is_object()) return make_error(Errc::invalid_argument, "update must be an object");
    json::Json update = json::Json::object();
    EF_CHECK(copy_string(u, update, "phase", 32, false));
    if (update.contains("phase")) {
      for (char c : update["phase"].get<std::string>()) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) {
          return make_error(Errc::invalid_argument,
                            "update.phase must be lower-case letters and '_'");
        }
      }
    }
    EF_CHECK(copy_count(u, update, "progress", 100));
    EF_CHECK(copy_string(u, update, "release", 64, true));
    out["update"] = update;
  }
  if (body.contains("hardware") && body["hardware"].is_null()) out["hardware"] = nullptr;
  if (body.contains("hardware") && !body["hardware"].is_null()) {
    const auto& h = body["hardware"];
    if (!h.is_object()) return make_error(Errc::invalid_argument, "hardware must be an object");
    json::Json hardware = json::Json::object();
    for (const char* key : {"make", "model", "serial", "cpu"})
      EF_CHECK(copy_string(h, hardware, key, 128, true));
    for (const char* key : {"memory_bytes", "disk_bytes", "disk_free_bytes"}) {
      EF_CHECK(copy_count(h, hardware, key, std::int64_t{1} << 53));
    }
    out["hardware"] = hardware;
  }
  constexpr double kMaxCount = 9007199254740992.0;  // 2^53: exact in a double
  EF_CHECK(copy_object(body, out, "runtime", [&](const json::Json& in, json::Json& o) -> Status {
    EF_CHECK(copy_number(in, o, "frames_per_second", 1e6));
    EF_CHECK(copy_number(in, o, "latency_p99_seconds", 3600));
    EF_CHECK(copy_number(in, o, "frames_processed", kMaxCount));
    EF_CHECK(copy_number(in, o, "frames_dropped", kMaxCount));
    EF_CHECK(copy_number(in, o, "uptime_seconds", kMaxCount));
    return copy_count(in, o, "restarts", std::int64_t{1} << 53);
  }));
  EF_CHECK(
      copy_object(body, out, "last_update", [&](const json::Json& in, json::Json& o) -> Status {
        EF_CHECK(copy_string(in, o, "release", 64, false));
        EF_CHECK(copy_word(in, o, "kind", {"full", "model_swap"}));
        EF_CHECK(copy_word(in, o, "outcome", {"committed", "rolled_back"}));
        EF_CHECK(copy_count(in, o, "downloaded_bytes", std::int64_t{1} << 53));
        return copy_count(in, o, "duration_ms", std::int64_t{1} << 53);
      }));
  return out;
}

namespace {

Response answer(const desired_state::Document& doc, bool not_modified) {
  Response r;
  if (not_modified) {
    r.status = 304;
  } else {
    r = Response::json(200, doc.body);
  }
  r.set("ETag", doc.etag);
  r.set("Cache-Control", "no-store");
  return r;
}

// The ?wait= parameter, capped at max_wait; 0 when absent.
std::optional<std::chrono::seconds> wait_param(const Request& r, std::chrono::seconds max_wait) {
  const auto w = r.query_param("wait");
  if (!w) return std::chrono::seconds(0);
  long value = -1;
  const auto [end, ec] = std::from_chars(w->data(), w->data() + w->size(), value);
  if (ec != std::errc() || end != w->data() + w->size() || value < 0) return std::nullopt;
  return std::min(std::chrono::seconds(value), max_wait);
}

// What a report says the device runs (the installed release and the model scoring frames).
store::RunningVersion running_of(const json::Json& report, UtcTime now) {
  auto text = [&](const char* key) {
    const auto it = report.find(key);
    return it != report.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return {text("installed_release"), text("model_version"), now};
}

// What the check-in guard read: the token is taken before the view, so a change committed after
// the read ends the long-poll at once (change_hub.hpp).
struct Admitted {
  store::CheckinView view;
  desired_state::ChangeToken since;
};

// Authenticates as device_auth does, but reads only the device's CheckinView: an unchanged
// check-in needs nothing more, and it is most of a fleet's traffic.
http::Guard admit(std::shared_ptr<Services> s) {
  return [s](Request& r) -> std::optional<Response> {
    const std::string_view id = r.param("id");
    auto refused = device_auth::check_certificate(r, id);
    std::optional<Admitted> admitted;
    if (!refused) {
      const auto since = s->hub.since(std::string(id));
      auto view = s->store.checkin_view(id);
      refused = device_auth::check_standing(id, view ? Result<store::DeviceStatus>(view->status)
                                                     : Result<store::DeviceStatus>(view.error()));
      if (!refused) admitted = Admitted{std::move(*view), since};
    }
    if (refused) {
      if (s->on_checkin) s->on_checkin(refused->status);  // guard refusals count too
      return refused;
    }
    r.principal = std::move(*admitted);
    return std::nullopt;
  };
}

// Merges the reported fields into the device's last report and stores it when it changed (a
// report of no fields reads and writes nothing), and notes the device as seen.
asio::awaitable<Status> record_report(Services& s, const std::string& id, json::Json report) {
  const auto now = utc_now();
  if (!report.empty()) {
    auto device = s.store.device(id);
    if (!device) co_return Status(device.error());
    json::Json merged = device->report.is_object() ? device->report : json::Json::object();
    for (auto& [key, value] : report.items())
      merged[key] = std::move(value);
    if (merged != device->report) {
      auto running = running_of(merged, now);
      // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
      store::GroupCommit::Work write = [id, merged = std::move(merged), running,
                                        now](store::Store& db) -> Status {
        EF_CHECK(db.save_report(id, merged, now));
        return db.record_running(id, running);
      };
      auto saved = co_await s.reports.write(std::move(write));
      if (!saved) co_return saved;
    }
  }
  s.presence.seen(id, now);
  co_return Status{};
}

// The device's desired state as the store has it now, or the answer that ends the check-in: 403
// for a device revoked meanwhile, or the store's error.
std::variant<desired_state::Document, Response> current_document(Services& s,
                                                                 const std::string& id) {
  auto view = s.store.checkin_view(id);
  auto status =
      view ? Result<store::DeviceStatus>(view->status) : Result<store::DeviceStatus>(view.error());
  if (auto refused = device_auth::check_standing(id, status)) return std::move(*refused);
  auto doc = desired_state::document_for(id, view->pinned_release, s.urls);
  if (!doc) return http::error_response(doc.error());
  return std::move(*doc);
}

// Holds the check-in until the device's desired state differs from `known` (200), the wait ends
// (304) or the device is revoked (403). Holds only its arguments while parked.
asio::awaitable<Response> long_poll(std::shared_ptr<Services> s, std::string id, std::string known,
                                    std::chrono::seconds wait, desired_state::ChangeToken since) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const bool woken = left.count() > 0 && co_await s->hub.wait(id, left, since);
    since = s->hub.since(id);
    s->presence.seen(id, utc_now());
    auto current = current_document(*s, id);
    if (auto* refused = std::get_if<Response>(&current)) co_return std::move(*refused);
    const auto& doc = std::get<desired_state::Document>(current);
    if (doc.etag != known) co_return answer(doc, false);
    if (!woken) co_return answer(doc, true);
  }
}

asio::awaitable<Response> checkin(std::shared_ptr<Services> s, Request& r) {
  auto* admitted = std::any_cast<Admitted>(&r.principal);
  if (admitted == nullptr) {  // the route's guard always sets it: reaching here is a bug
    co_return http::error_response(
        make_error(Errc::internal, "no authenticated device for " + r.path));
  }
  const Admitted device = std::move(*admitted);
  r.principal.reset();
  const std::string id(r.param("id"));
  const auto wait = wait_param(r, s->settings.max_wait);
  if (!wait) co_return Response::error(400, "bad_query", "wait must be a number of seconds");
  {
    Response refusal;
    // Floats: the runtime's figures (frames/s, latency) are measurements.
    auto body = http::json_object_body(r, &refusal, /*allow_floats=*/true);
    if (!body) co_return refusal;
    auto report = normalize_report(*body);
    if (!report) co_return Response::error(400, "bad_report", report.error().message);
    if (auto saved = co_await record_report(*s, id, std::move(*report)); !saved)
      co_return http::error_response(saved.error());
  }
  // Nothing of the request is needed while it waits; an idle device should cost only its
  // connection (bench/server measures the memory of parked long-polls).
  std::string().swap(r.body);

  const std::string known(r.header("If-None-Match"));
  {
    // The pin as the guard read it: a change since then ends the long-poll at once (its token).
    auto doc = desired_state::document_for(id, device.view.pinned_release, s->urls);
    if (!doc) co_return http::error_response(doc.error());
    if (known != doc->etag || wait->count() == 0) co_return answer(*doc, known == doc->etag);
  }
  co_return co_await long_poll(s, id, known, *wait, device.since);
}

// Every answer counts in the check-in metric.
asio::awaitable<Response> counted_checkin(std::shared_ptr<Services> s, Request& r) {
  auto response = co_await checkin(s, r);
  if (s->on_checkin) s->on_checkin(response.status);
  co_return response;
}

}  // namespace

void add_routes(http::Router& router, Services services) {
  auto s = std::make_shared<Services>(std::move(services));
  http::RouteOptions options;
  options.name = "devices.checkin";
  options.max_body = 64 * 1024;
  options.guard = admit(s);
  router.add(
      http::Verb::post, "/api/v1/devices/{id}/checkin",
      [s](Request& r) -> asio::awaitable<Response> { return counted_checkin(s, r); }, options);
}

}  // namespace ef::checkin

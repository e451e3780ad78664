#include "server/device_registry/device_registry.hpp"

#include "core/common/hex.hpp"
#include "core/crypto/hash.hpp"
#include "core/crypto/keys.hpp"
#include "core/http/json_body.hpp"
#include "core/pki/pki.hpp"

namespace ef::device_registry {

using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxField = 256;
constexpr std::size_t kMaxLabels = 64;

json::Json time_or_null(const std::optional<UtcTime>& t) {
  return t ? json::Json(format_utc(*t)) : json::Json(nullptr);
}

// Reads the operator-set fields present in body into device.
Status read_details(const json::Json& body, store::Device& device) {
  for (auto [key, field] : {std::pair{"site", &device.site}, std::pair{"cell", &device.cell},
                            std::pair{"location", &device.location}}) {
    if (!body.contains(key)) continue;
    EF_TRY(auto value, json::get_string(body, key));
    if (value.size() > kMaxField) {
      return make_error(Errc::invalid_argument,
                        std::string(key) + " is longer than 256 characters");
    }
    *field = std::move(value);
  }
  if (body.contains("labels")) {
    const auto& labels = body["labels"];
    if (!labels.is_object() || labels.size() > kMaxLabels) {
      return make_error(Errc::invalid_argument,
                        "labels must be an object of at most 64 string values");
    }
    for (const auto& [k, v] : labels.items()) {
      if (k.empty() || k.size() > 64 || !v.is_string() || v.get<std::string>().size() > kMaxField) {
        return make_error(
            Errc::invalid_argument,
            "each label needs a name of 1-64 characters and a string value of at most 256");
      }
    }
    device.labels = labels;
  }
  return {};
}

Result<std::chrono::seconds> read_ttl(const json::Json& body, const Settings& settings) {
  if (!body.contains("token_ttl_seconds")) return settings.default_token_ttl;
  EF_TRY(auto ttl, json::get_int(body, "token_ttl_seconds"));
  if (ttl < 1 || ttl > settings.max_token_ttl.count()) {
    return make_error(Errc::invalid_argument, "token_ttl_seconds must be between 1 and " +
                                                  std::to_string(settings.max_token_ttl.count()));
  }
  return std::chrono::seconds(ttl);
}

struct IssuedToken {
  std::string secret;
  UtcTime expires_at;
};

Result<IssuedToken> issue_token(store::Store& store, const std::string& device_id,
                                std::chrono::seconds ttl) {
  const auto now = utc_now();
  IssuedToken out{"eet_" + to_hex(crypto::random_bytes(16)), now + ttl};
  EF_CHECK(store.add_enrollment_token(
      {crypto::sha256_hex(out.secret), device_id, now, out.expires_at, std::nullopt}));
  return out;
}

Response add_device(Services& s, Request& r, const operator_auth::Actor& actor) {
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  auto id = json::get_string(*body, "id");
  if (!id) return http::error_response(id.error());
  if (auto ok = pki::check_device_id(*id); !ok) return http::error_response(ok.error());
  store::Device device;
  device.id = *id;
  device.created_at = utc_now();
  if (auto ok = read_details(*body, device); !ok) return http::error_response(ok.error());
  auto ttl = read_ttl(*body, s.settings);
  if (!ttl) return http::error_response(ttl.error());
  std::optional<IssuedToken> token;
  auto done = s.store.in_transaction([&]() -> Status {
    EF_CHECK(s.store.add_device(device));
    EF_TRY(token, issue_token(s.store, device.id, *ttl));
    return s.log.record(actor.describe(), "device.add", device.id, r.peer->address,
                        {{"site", device.site},
                         {"cell", device.cell},
                         {"location", device.location},
                         {"labels", device.labels}});
  });
  if (!done) return http::error_response(done.error());
  return Response::json(201, {{"device", device_json(device, s.presence, s.settings)},
                              {"enrollment_token", token->secret},
                              {"token_expires_at", format_utc(token->expires_at)}});
}

Response list_devices(Services& s, Request& r) {
  store::DeviceFilter filter;
  if (auto v = r.query_param("site")) filter.site = std::string(*v);
  if (auto v = r.query_param("cell")) filter.cell = std::string(*v);
  if (auto v = r.query_param("status")) {
    auto status = store::status_from_name(*v);
    if (!status) return http::error_response(status.error());
    filter.status = *status;
  }
  auto devices = s.store.devices(filter);
  if (!devices) return http::error_response(devices.error());
  json::Json list = json::Json::array();
  for (const auto& d : *devices)
    list.push_back(device_json(d, s.presence, s.settings));
  return Response::json(200, {{"devices", list}});
}

Response show_device(Services& s, Request& r) {
  auto device = s.store.device(r.param("id"));
  if (!device) return http::error_response(device.error());
  auto j = device_json(*device, s.presence, s.settings);
  j["report"] = device->report;
  j["report_at"] = time_or_null(device->report_at);
  auto pin = s.store.assignment(device->id);
  if (!pin) return http::error_response(pin.error());
  j["assignment"] = *pin ? json::Json{{"release", (*pin)->release},
                                      {"assigned_at", format_utc((*pin)->assigned_at)},
                                      {"assigned_by", (*pin)->assigned_by}}
                         : json::Json(nullptr);
  return Response::json(200, j);
}

Response update_device(Services& s, Request& r, const operator_auth::Actor& actor) {
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  for (const auto& [key, value] : body->items()) {
    if (key != "site" && key != "cell" && key != "location" && key != "labels") {
      return Response::error(400, "unknown_field",
                             "cannot change '" + key + "' (site, cell, location, labels)");
    }
  }
  auto device = s.store.device(r.param("id"));
  if (!device) return http::error_response(device.error());
  if (auto ok = read_details(*body, *device); !ok) return http::error_response(ok.error());
  auto done = s.store.in_transaction([&]() -> Status {
    EF_CHECK(s.store.update_device_details(*device));
    return s.log.record(actor.describe(), "device.update", device->id, r.peer->address, *body);
  });
  if (!done) return http::error_response(done.error());
  return Response::json(200, device_json(*device, s.presence, s.settings));
}

Response new_token(Services& s, Request& r, const operator_auth::Actor& actor) {
  json::Json body = json::Json::object();
  if (!r.body.empty()) {
    Response refusal;
    auto parsed = http::json_object_body(r, &refusal);
    if (!parsed) return refusal;
    body = std::move(*parsed);
  }
  auto ttl = read_ttl(body, s.settings);
  if (!ttl) return http::error_response(ttl.error());
  auto device = s.store.device(r.param("id"));
  if (!device) return http::error_response(device.error());
  if (device->status == store::DeviceStatus::revoked) {
    return Response::error(409, "device_revoked",
                           "device " + device->id + " is revoked; register a new id");
  }
  std::optional<IssuedToken> token;
  auto done = s.store.in_transaction([&]() -> Status {
    EF_TRY(token, issue_token(s.store, device->id, *ttl));
    return s.log.record(actor.describe(), "device.enrollment_token", device->id, r.peer->address);
  });
  if (!done) return http::error_response(done.error());
  return Response::json(201, {{"device_id", device->id},
                              {"enrollment_token", token->secret},
                              {"token_expires_at", format_utc(token->expires_at)}});
}

Response revoke_device(Services& s, Request& r, const operator_auth::Actor& actor) {
  const std::string id(r.param("id"));
  auto device = s.store.device(id);
  if (!device) return http::error_response(device.error());
  if (device->status == store::DeviceStatus::revoked) {
    return Response::error(409, "already_revoked", "device " + id + " is already revoked");
  }
  auto done = s.store.in_transaction([&]() -> Status {
    EF_CHECK(s.store.revoke_device(id, utc_now()));
    return s.log.record(actor.describe(), "device.revoke", id, r.peer->address);
  });
  if (!done) return http::error_response(done.error());
  s.hub.notify(id);  // its waiting check-in wakes up and is refused
  auto revoked = s.store.device(id);
  if (!revoked) return http::error_response(revoked.error());
  return Response::json(200, device_json(*revoked, s.presence, s.settings));
}

}  // namespace

std::string connectivity(const store::Device& device, const Presence& presence, UtcTime now,
                         const OnlineWindows& windows) {
  if (device.status == store::DeviceStatus::revoked) return "revoked";
  if (!presence.last_seen(device)) return "never seen";
  return presence.online(device, now, windows) ? "online" : "offline";
}

json::Json device_json(const store::Device& d, const Presence& presence, const Settings& settings) {
  const auto last_seen = presence.last_seen(d);
  json::Json j = {{"id", d.id},
                  {"site", d.site},
                  {"cell", d.cell},
                  {"location", d.location},
                  {"labels", d.labels},
                  {"status", store::status_name(d.status)},
                  {"connectivity", connectivity(d, presence, utc_now(), settings.online)},
                  {"created_at", format_utc(d.created_at)},
                  {"enrolled_at", time_or_null(d.enrolled_at)},
                  {"revoked_at", time_or_null(d.revoked_at)},
                  {"last_seen", time_or_null(last_seen)}};
  j["certificate"] =
      d.cert_serial.empty()
          ? json::Json(nullptr)
          : json::Json{{"serial", d.cert_serial}, {"not_after", time_or_null(d.cert_not_after)}};
  return j;
}

void add_routes(http::Router& router, Services services) {
  using operator_auth::Actor;
  using operator_auth::add_operator_route;
  auto s = std::make_shared<Services>(std::move(services));
  constexpr auto kChange = store::Role::operator_;
  constexpr auto kRead = store::Role::read_only;
  auto& auth = s->auth;
  add_operator_route(router, http::Verb::post, "/api/v1/devices", auth, kChange,
                     [s](Request& r, const Actor& a) { return add_device(*s, r, a); },
                     {.name = "devices.add"});
  add_operator_route(router, http::Verb::get, "/api/v1/devices", auth, kRead,
                     [s](Request& r, const Actor&) { return list_devices(*s, r); },
                     {.name = "devices.list"});
  add_operator_route(router, http::Verb::get, "/api/v1/devices/{id}", auth, kRead,
                     [s](Request& r, const Actor&) { return show_device(*s, r); },
                     {.name = "devices.show"});
  add_operator_route(router, http::Verb::patch, "/api/v1/devices/{id}", auth, kChange,
                     [s](Request& r, const Actor& a) { return update_device(*s, r, a); },
                     {.name = "devices.update"});
  add_operator_route(router, http::Verb::post, "/api/v1/devices/{id}/enrollment-token", auth,
                     kChange, [s](Request& r, const Actor& a) { return new_token(*s, r, a); },
                     {.name = "devices.enrollment_token"});
  add_operator_route(router, http::Verb::post, "/api/v1/devices/{id}/revoke", auth, kChange,
                     [s](Request& r, const Actor& a) { return revoke_device(*s, r, a); },
                     {.name = "devices.revoke"});
}

}  // namespace ef::device_registry

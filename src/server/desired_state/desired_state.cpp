#include "server/desired_state/desired_state.hpp"

#include "core/crypto/hash.hpp"
#include "core/http/json_body.hpp"

namespace ef::desired_state {

using http::Request;
using http::Response;

Result<Document> desired_for(store::Store& store, const std::string& device_id,
                             const RepositoryUrls& urls) {
  EF_TRY(auto pin, store.assignment(device_id));
  json::Json body = {
      {"device_id", device_id},
      {"repository", {{"metadata_url", urls.metadata_url}, {"blobs_url", urls.blobs_url}}}};
  body["release"] = pin ? json::Json{{"version", pin->release}} : json::Json(nullptr);
  EF_TRY(auto canonical, json::canonical(body));
  return Document{std::move(body), "\"" + crypto::sha256_hex(canonical).substr(0, 32) + "\""};
}

namespace {

std::optional<Response> refuse_unless_operator(operator_auth::OperatorAuth& auth, const Request& r,
                                               operator_auth::Actor* actor) {
  auto who = auth.authorize(r, store::Role::operator_);
  if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
  *actor = std::get<operator_auth::Actor>(who);
  return std::nullopt;
}

Response assign(Services& s, Request& r) {
  operator_auth::Actor actor;
  if (auto refusal = refuse_unless_operator(s.auth, r, &actor)) return *refusal;
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  auto version = json::get_string(*body, "release");
  if (!version) return http::error_response(version.error());
  auto release = s.store.release(*version);
  if (!release) return http::error_response(release.error());
  if (!*release) {
    return Response::error(404, "unknown_release",
                           "release '" + *version + "' has not been published");
  }

  std::vector<std::string> ids;
  if (body->contains("devices")) {
    if (body->contains("site") || body->contains("cell")) {
      return Response::error(400, "bad_selector", "give either devices or site/cell, not both");
    }
    const auto& list = (*body)["devices"];
    if (!list.is_array() || list.empty() || list.size() > 10000) {
      return Response::error(400, "bad_selector",
                             "devices must be a list of 1 to 10000 device ids");
    }
    for (const auto& id : list) {
      if (!id.is_string())
        return Response::error(400, "bad_selector", "device ids must be strings");
      ids.push_back(id.get<std::string>());
    }
  } else {
    store::DeviceFilter filter;
    for (const char* key : {"site", "cell"}) {
      if (!body->contains(key)) continue;
      auto value = json::get_string(*body, key);
      if (!value) return http::error_response(value.error());
      (std::string_view(key) == "site" ? filter.site : filter.cell) = *value;
    }
    if (!filter.site && !filter.cell) {
      return Response::error(400, "bad_selector", "name the devices, or a site and/or cell");
    }
    auto matched = s.store.devices(filter);
    if (!matched) return http::error_response(matched.error());
    for (const auto& d : *matched) {
      if (d.status != store::DeviceStatus::revoked) ids.push_back(d.id);
    }
  }

  const auto now = utc_now();
  std::string problem;
  auto done = s.store.in_transaction([&]() -> Status {
    for (const auto& id : ids) {
      auto device = s.store.device(id);
      if (!device) return std::move(device).error();
      if (device->status == store::DeviceStatus::revoked) {
        return make_error(Errc::invalid_argument, "device " + id + " is revoked");
      }
      EF_CHECK(s.store.set_assignment({id, *version, now, actor.describe()}));
    }
    return s.log.record(actor.describe(), "release.assign", *version, r.peer->address,
                        {{"devices", ids}});
  });
  if (!done) return http::error_response(done.error());
  for (const auto& id : ids)
    s.hub.notify(id);
  return Response::json(200, {{"release", *version}, {"assigned", ids}});
}

Response unassign(Services& s, Request& r) {
  operator_auth::Actor actor;
  if (auto refusal = refuse_unless_operator(s.auth, r, &actor)) return *refusal;
  const std::string id(r.param("id"));
  auto done = s.store.in_transaction([&]() -> Status {
    EF_TRY(auto device, s.store.device(id));
    (void)device;
    EF_CHECK(s.store.clear_assignment(id));
    return s.log.record(actor.describe(), "release.unassign", id, r.peer->address);
  });
  if (!done) return http::error_response(done.error());
  s.hub.notify(id);
  return Response::no_content();
}

}  // namespace

void add_routes(http::Router& router, Services services) {
  auto s = std::make_shared<Services>(std::move(services));
  http::RouteOptions options;
  options.guard = s->auth.guard(store::Role::operator_);
  options.name = "assignments.create";
  router.add_sync(
      http::Verb::post, "/api/v1/assignments", [s](Request& r) { return assign(*s, r); }, options);
  options.name = "assignments.delete";
  router.add_sync(
      http::Verb::delete_, "/api/v1/devices/{id}/assignment",
      [s](Request& r) { return unassign(*s, r); }, options);
  options.guard = s->auth.guard(store::Role::read_only);
  options.name = "devices.desired_state";
  router.add_sync(
      http::Verb::get, "/api/v1/devices/{id}/desired-state",
      [s](Request& r) {
        const std::string id(r.param("id"));
        auto device = s->store.device(id);
        if (!device) return http::error_response(device.error());
        auto doc = desired_for(s->store, id, s->urls);
        if (!doc) return http::error_response(doc.error());
        auto response = Response::json(200, doc->body);
        response.set("ETag", doc->etag);
        return response;
      },
      options);
}

}  // namespace ef::desired_state

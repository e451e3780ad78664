#include "server/desired_state/desired_state.hpp"

#include <algorithm>

#include "core/crypto/hash.hpp"
#include "core/http/json_body.hpp"

namespace ef::desired_state {

using http::Request;
using http::Response;

Result<Document> desired_for(store::Store& store, const std::string& device_id,
                             const RepositoryUrls& urls) {
  EF_TRY(auto pin, store.assignment(device_id));
  return document_for(device_id, pin ? std::optional(pin->release) : std::nullopt, urls);
}

Result<Document> document_for(const std::string& device_id,
                              const std::optional<std::string>& pinned_release,
                              const RepositoryUrls& urls) {
  json::Json body = {
      {"device_id", device_id},
      {"repository", {{"metadata_url", urls.metadata_url}, {"blobs_url", urls.blobs_url}}}};
  body["release"] = pinned_release ? json::Json{{"version", *pinned_release}} : json::Json(nullptr);
  EF_TRY(auto canonical, json::canonical(body));
  return Document{std::move(body), "\"" + crypto::sha256_hex(canonical).substr(0, 32) + "\""};
}

namespace {

// The devices a selector names: a list of ids (checked in assign()), or every non-revoked device
// at a site and/or cell (*checked: read from the store just now). Returns the refusal to send when
// the selector is unusable.
std::optional<Response> select_devices(Services& s, const json::Json& body,
                                       std::vector<std::string>* ids, bool* checked) {
  *checked = false;
  if (body.contains("devices")) {
    if (body.contains("site") || body.contains("cell")) {
      return Response::error(400, "bad_selector", "give either devices or site/cell, not both");
    }
    const auto& list = body["devices"];
    if (!list.is_array() || list.empty() || list.size() > 10000) {
      return Response::error(400, "bad_selector",
                             "devices must be a list of 1 to 10000 device ids");
    }
    for (const auto& id : list) {
      if (!id.is_string())
        return Response::error(400, "bad_selector", "device ids must be strings");
      ids->push_back(id.get<std::string>());
    }
    return std::nullopt;
  }
  store::DeviceFilter filter;
  for (const char* key : {"site", "cell"}) {
    if (!body.contains(key)) continue;
    auto value = json::get_string(body, key);
    if (!value) return http::error_response(value.error());
    (std::string_view(key) == "site" ? filter.site : filter.cell) = *value;
  }
  if (!filter.site && !filter.cell) {
    return Response::error(400, "bad_selector", "name the devices, or a site and/or cell");
  }
  auto matched = s.store.devices(filter);
  if (!matched) return http::error_response(matched.error());
  for (const auto& d : *matched) {
    if (d.status != store::DeviceStatus::revoked) ids->push_back(d.id);
  }
  *checked = true;
  return std::nullopt;
}

// Every listed device exists and is not revoked.
Status check_assignable(store::Store& store, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    EF_TRY(auto device, store.device(id));
    if (device.status == store::DeviceStatus::revoked) {
      return make_error(Errc::invalid_argument, "device " + id + " is revoked");
    }
  }
  return {};
}

Response assign(Services& s, Request& r, const operator_auth::Actor& actor) {
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
  bool checked = false;
  if (auto refused = select_devices(s, *body, &ids, &checked)) return *refused;
  // One order for every writer: two servers assigning overlapping sets cannot deadlock.
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

  const auto now = utc_now();
  auto done = s.store.in_transaction([&]() -> Status {
    if (!checked) EF_CHECK(check_assignable(s.store, ids));
    EF_CHECK(s.store.set_assignments(ids, *version, now, actor.describe()));
    return s.log.record(actor.describe(), "release.assign", *version, r.peer->address,
                        {{"devices", ids}});
  });
  if (!done) return http::error_response(done.error());
  for (const auto& id : ids)
    s.hub.notify(id);
  return Response::json(200, {{"release", *version}, {"assigned", ids}});
}

Response unassign(Services& s, Request& r, const operator_auth::Actor& actor) {
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

Response show_desired_state(Services& s, Request& r) {
  const std::string id(r.param("id"));
  auto device = s.store.device(id);
  if (!device) return http::error_response(device.error());
  auto doc = desired_for(s.store, id, s.urls);
  if (!doc) return http::error_response(doc.error());
  auto response = Response::json(200, doc->body);
  response.set("ETag", doc->etag);
  return response;
}

}  // namespace

void add_routes(http::Router& router, Services services) {
  using operator_auth::Actor;
  auto s = std::make_shared<Services>(std::move(services));
  operator_auth::add_operator_route(
      router, http::Verb::post, "/api/v1/assignments", s->auth, store::Role::operator_,
      [s](Request& r, const Actor& actor) { return assign(*s, r, actor); },
      {.name = "assignments.create"});
  operator_auth::add_operator_route(
      router, http::Verb::delete_, "/api/v1/devices/{id}/assignment", s->auth,
      store::Role::operator_,
      [s](Request& r, const Actor& actor) { return unassign(*s, r, actor); },
      {.name = "assignments.delete"});
  operator_auth::add_operator_route(
      router, http::Verb::get, "/api/v1/devices/{id}/desired-state", s->auth,
      store::Role::read_only, [s](Request& r, const Actor&) { return show_desired_state(*s, r); },
      {.name = "devices.desired_state"});
}

}  // namespace ef::desired_state

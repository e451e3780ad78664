// Device authentication: a device proves who it is with the client certificate the fleet CA
// issued to it (mTLS), and may act only for itself.
//
// authenticate(request, device_id) admits the request when its TLS client certificate
//   - was presented (401 client_certificate_required otherwise),
//   - chains to the fleet CA and is within its validity (401 client_certificate_rejected, with
//     OpenSSL's reason: "certificate has expired", "unable to get local issuer certificate"),
//   - names device_id as its subject CN (403 wrong_device: a device calling another's endpoint),
//   - belongs to a device the store knows and has not revoked (403 device_revoked / unknown).
//
// Device routes are added with add_device_route (or take guard() in their RouteOptions): the guard
// authenticates once, on the request head, for the device named by the path parameter {id}, and
// the handler receives that device as the store held it then.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <variant>

#include "core/http/router.hpp"
#include "server/store/store.hpp"

namespace ef::device_auth {

std::variant<store::Device, http::Response> authenticate(const http::Request& request,
                                                         std::string_view device_id,
                                                         store::Store& store);

// authenticate's checks in two parts, for routes that read the device their own way (check-ins
// read only store::CheckinView): the certificate (the first three), then the device's standing
// given its status as read from the store (the fourth). nullopt admits.
std::optional<http::Response> check_certificate(const http::Request& request,
                                                std::string_view device_id);
std::optional<http::Response> check_standing(std::string_view device_id,
                                             const Result<store::DeviceStatus>& status);

// A route guard admitting the device named by the route's {id} parameter (see authenticate); it
// leaves the store::Device in request.principal.
http::Guard guard(store::Store& store);

using DeviceHandler = std::function<http::Response(http::Request&, const store::Device&)>;

// Adds a route for the device named by {id} in pattern: options.guard is set to guard(store), and
// handler runs with the admitted device.
void add_device_route(http::Router& router, http::Verb method, std::string_view pattern,
                      store::Store& store, DeviceHandler handler, http::RouteOptions options = {});

}  // namespace ef::device_auth

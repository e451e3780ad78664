#include "server/device_auth/device_auth.hpp"

#include "core/http/json_body.hpp"

namespace ef::device_auth {

std::variant<store::Device, http::Response> authenticate(const http::Request& request,
                                                         std::string_view device_id,
                                                         store::Store& store) {
  using http::Response;
  const auto& cert = request.peer->client_certificate;
  if (!request.peer->tls || !cert) {
    return Response::error(401, "client_certificate_required",
                           "device endpoints need the device's client certificate (mutual TLS)");
  }
  if (!cert->verified) {
    return Response::error(401, "client_certificate_rejected",
                           "the client certificate was not accepted: " + cert->verify_error +
                               " (a device with an expired certificate must enrol again)");
  }
  if (cert->subject_cn != device_id) {
    return Response::error(403, "wrong_device",
                           "the certificate of device '" + cert->subject_cn +
                               "' cannot act for device '" + std::string(device_id) + "'");
  }
  auto device = store.device(device_id);
  if (!device) {
    if (device.error().code == Errc::not_found) {
      return Response::error(403, "unknown_device",
                             "device '" + std::string(device_id) + "' is not registered");
    }
    return http::error_response(device.error());
  }
  if (device->status == store::DeviceStatus::revoked) {
    auto r = Response::error(403, "device_revoked",
                             "device '" + std::string(device_id) + "' has been revoked");
    r.close = true;
    return r;
  }
  return std::move(*device);
}

http::Guard guard(store::Store& store) {
  return [&store](http::Request& request) -> std::optional<http::Response> {
    auto result = authenticate(request, request.param("id"), store);
    if (auto* refusal = std::get_if<http::Response>(&result)) return std::move(*refusal);
    request.principal = std::get<store::Device>(std::move(result));
    return std::nullopt;
  };
}

std::optional<store::Device> take_device(http::Request& request) {
  auto* device = std::any_cast<store::Device>(&request.principal);
  if (device == nullptr) return std::nullopt;
  std::optional<store::Device> out(std::move(*device));
  request.principal.reset();
  return out;
}

void add_device_route(http::Router& router, http::Verb method, std::string_view pattern,
                      store::Store& store, DeviceHandler handler, http::RouteOptions options) {
  options.guard = guard(store);
  router.add_sync(
      method, pattern,
      [handler = std::move(handler)](http::Request& request) {
        const auto* device = std::any_cast<store::Device>(&request.principal);
        if (device == nullptr) {  // the guard always sets it: reaching here is a bug
          return http::error_response(
              make_error(Errc::internal, "no authenticated device for " + request.path));
        }
        return handler(request, *device);
      },
      std::move(options));
}

}  // namespace ef::device_auth

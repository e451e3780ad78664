#include "server/device_auth/device_auth.hpp"

#include "core/http/json_body.hpp"

namespace ef::device_auth {

std::optional<http::Response> check_certificate(const http::Request& request,
                                                std::string_view device_id) {
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
  return std::nullopt;
}

std::optional<http::Response> check_standing(std::string_view device_id,
                                             const Result<store::DeviceStatus>& status) {
  using http::Response;
  if (!status) {
    if (status.error().code == Errc::not_found) {
      return Response::error(403, "unknown_device",
                             "device '" + std::string(device_id) + "' is not registered");
    }
    return http::error_response(status.error());
  }
  if (*status == store::DeviceStatus::revoked) {
    auto r = Response::error(403, "device_revoked",
                             "device '" + std::string(device_id) + "' has been revoked");
    r.close = true;
    return r;
  }
  return std::nullopt;
}

std::variant<store::Device, http::Response> authenticate(const http::Request& request,
                                                         std::string_view device_id,
                                                         store::Store& store) {
  if (auto refused = check_certificate(request, device_id)) return std::move(*refused);
  auto device = store.device(device_id);
  auto status = device ? Result<store::DeviceStatus>(device->status)
                       : Result<store::DeviceStatus>(device.error());
  if (auto refused = check_standing(device_id, status)) return std::move(*refused);
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

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

}  // namespace ef::device_auth

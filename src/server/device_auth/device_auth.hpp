// Device authentication: a device proves who it is with the client certificate the fleet CA
// issued to it (mTLS), and may act only for itself.
//
// authenticate(request, device_id) admits the request when its TLS client certificate
//   - was presented (401 client_certificate_required otherwise),
//   - chains to the fleet CA and is within its validity (401 client_certificate_rejected, with
//     OpenSSL's reason: "certificate has expired", "unable to get local issuer certificate"),
//   - names device_id as its subject CN (403 wrong_device: a device calling another's endpoint),
//   - belongs to a device the store knows and has not revoked (403 device_revoked / unknown).
#pragma once

#include <string_view>
#include <variant>

#include "core/http/message.hpp"
#include "server/store/store.hpp"

namespace ef::device_auth {

std::variant<store::Device, http::Response> authenticate(const http::Request& request,
                                                         std::string_view device_id,
                                                         store::Store& store);

}  // namespace ef::device_auth

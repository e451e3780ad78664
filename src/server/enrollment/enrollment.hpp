// Enrollment (the provisioning service) and certificate renewal.
//
//   POST /api/v1/enroll {"device_id", "token", "csr"}   (no client certificate needed)
//     A device sends the one-time token an operator issued for it and a CSR for a key it
//     generated itself. The server checks the token (known, for this device id, unused, not
//     expired), the device (registered, not revoked) and the CSR (see pki.hpp), then consumes the
//     token and records the certificate in one transaction, and answers
//     {"device_id", "certificate", "ca_certificate", "serial", "not_before", "not_after",
//      "renew_after"}.
//     Refusals: 400 malformed body or CSR (including a CSR asking for a CA), 401 unknown, used or
//     expired token, 403 token for another device or revoked device, 429 (with Retry-After) after
//     too many failures from one address or for one device id. A refusal changes nothing.
//   POST /api/v1/devices/{id}/certificate {"csr"}   (mTLS as device {id}, see device_auth.hpp)
//     Renewal before expiry: the same answer, for the key in the new CSR.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "core/http/router.hpp"
#include "core/pki/pki.hpp"
#include "server/audit/audit.hpp"
#include "server/store/store.hpp"

namespace ef::enrollment {

struct Settings {
  std::chrono::seconds certificate_validity{std::chrono::hours(24 * 14)};
  std::size_t max_failures = 10;  // per address and per device id ...
  std::chrono::seconds failure_window{std::chrono::minutes(10)};  // ... in this window
};

struct Services {
  store::Store& store;
  const pki::CertificateAuthority& ca;
  audit::AuditLog& log;
  Settings settings;
  std::function<void(std::string_view outcome)> on_enrollment;  // "ok" / "refused" (metrics)
};

void add_routes(http::Router& router, Services services);

}  // namespace ef::enrollment

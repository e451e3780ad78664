// The device registry: operators register devices ahead of time (id, site, cell, location,
// labels) and get a one-time enrollment token for each; they list, show, edit and revoke them.
//
// Enrollment tokens are "eet_" + 32 hex characters (128 bits from the CSPRNG), returned once,
// stored as SHA-256, bound to one device id, valid once and until they expire (default 7 days,
// at most 30). Issuing a new token for a device voids its earlier unused ones. Revocation is
// immediate: the device's next request is refused and its open long-poll is woken to be refused.
//
// Routes (operator role to change, read-only to read; every change is audited):
//   POST  /api/v1/devices {"id", "site"?, "cell"?, "location"?, "labels"?, "token_ttl_seconds"?}
//         -> 201 {"device": {...}, "enrollment_token": "eet_...", "token_expires_at": "..."}
//   GET   /api/v1/devices?site=&cell=&status=      -> {"devices": [...]}
//   GET   /api/v1/devices/{id}                      -> the device, its last report and its pin
//   PATCH /api/v1/devices/{id} {"site"?, "cell"?, "location"?, "labels"?}
//   POST  /api/v1/devices/{id}/enrollment-token {"token_ttl_seconds"?} -> a new token
//   POST  /api/v1/devices/{id}/revoke
#pragma once

#include <chrono>
#include <functional>

#include "core/http/router.hpp"
#include "server/audit/audit.hpp"
#include "server/desired_state/change_hub.hpp"
#include "server/device_registry/presence.hpp"
#include "server/operator_auth/operator_auth.hpp"
#include "server/store/store.hpp"

namespace ef::device_registry {

struct Settings {
  std::chrono::seconds default_token_ttl{std::chrono::hours(24 * 7)};
  std::chrono::seconds max_token_ttl{std::chrono::hours(24 * 30)};
  OnlineWindows online;  // see presence.hpp
};

struct Services {
  store::Store& store;
  operator_auth::OperatorAuth& auth;
  audit::AuditLog& log;
  desired_state::ChangeHub& hub;
  Presence& presence;
  Settings settings;
};

// "online", "offline", "never seen" (registered, not enrolled), "revoked".
std::string connectivity(const store::Device& device, const Presence& presence, UtcTime now,
                         const OnlineWindows& windows);

// The device as the API shows it (no secrets).
json::Json device_json(const store::Device& device, const Presence& presence,
                       const Settings& settings);

void add_routes(http::Router& router, Services services);

}  // namespace ef::device_registry

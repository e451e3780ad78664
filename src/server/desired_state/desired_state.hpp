// Desired state: what each device should run. Today that is the release an operator pinned to it
// (rollouts build on this later); with no pin, a device keeps what it has.
//
// The document a device receives at check-in:
//   {"device_id": "cam-01",
//    "release": {"version": "1.2.0"} | null,
//    "repository": {"metadata_url": ".../repo/metadata/", "blobs_url": ".../repo/blobs/sha256/"}}
// Its ETag is a hash of its canonical JSON, so an unchanged answer is recognised without sending
// it (If-None-Match -> 304).
//
// Routes (operator role, audited; every change wakes the device's long-poll):
//   POST   /api/v1/assignments {"release": V, "devices": [ids]} or {"release": V, "site": S,
//          "cell": C} (selects every non-revoked device at that site/cell) -> {"assigned": [ids]}
//   DELETE /api/v1/devices/{id}/assignment
//   GET    /api/v1/devices/{id}/desired-state  (read-only role)
#pragma once

#include <optional>
#include <string>

#include "core/http/router.hpp"
#include "server/audit/audit.hpp"
#include "server/desired_state/change_hub.hpp"
#include "server/operator_auth/operator_auth.hpp"
#include "server/store/store.hpp"

namespace ef::desired_state {

struct RepositoryUrls {
  std::string metadata_url;
  std::string blobs_url;
};

struct Document {
  json::Json body;
  std::string etag;  // quoted, as HTTP sends it
};

Result<Document> desired_for(store::Store& store, const std::string& device_id,
                             const RepositoryUrls& urls);
// The same from the release pinned to the device, read elsewhere (store::CheckinView).
Result<Document> document_for(const std::string& device_id,
                              const std::optional<std::string>& pinned_release,
                              const RepositoryUrls& urls);

struct Services {
  store::Store& store;
  ChangeHub& hub;
  operator_auth::OperatorAuth& auth;
  audit::AuditLog& log;
  const RepositoryUrls& urls;  // filled in once the server knows its port
};

void add_routes(http::Router& router, Services services);

}  // namespace ef::desired_state

// Device check-in: the device reports its state and receives its desired state.
//
//   POST /api/v1/devices/{id}/checkin?wait=SECONDS   (mTLS as device {id}, see device_auth.hpp)
//   If-None-Match: "<etag of the desired state the device already has>"
//   body: the device's state (see normalize_report); unknown fields are ignored, known fields with
//         the wrong type or size are refused (400) and nothing is stored. Fields the body leaves
//         out keep their last reported value (so "{}" is a plain poll); null clears a field.
//
// The answer is 200 with the desired state (desired_state.hpp) and its ETag, or 304 when it still
// equals If-None-Match. With wait > 0 (at most Settings::max_wait) and a matching If-None-Match,
// the request is held until the desired state changes (200, within milliseconds of the change) or
// the wait ends (304): a long-poll. A revoked device's held request ends at once with 403.
// A changed report is answered only once it is durable; changed reports from many devices share
// one transaction (group commit). A report of no fields ("{}", an idle agent's check-in) costs one
// store read (Store::checkin_view: status and pin); a change of desired state committed after that
// read still ends the long-poll at once (ChangeHub tokens).
#pragma once

#include <chrono>
#include <functional>

#include "core/http/router.hpp"
#include "server/desired_state/change_hub.hpp"
#include "server/desired_state/desired_state.hpp"
#include "server/device_registry/presence.hpp"
#include "server/store/group_commit/group_commit.hpp"
#include "server/store/store.hpp"

namespace ef::checkin {

// Checks a reported state and keeps only the fields the control plane knows:
//   installed_release, trial_release (string or null, <= 64), model_version (<= 128),
//   agent_version (<= 64), last_failure_reason (string or null, <= 2048),
//   update: {phase (<= 32, [a-z_]), progress (0-100), release (<= 64)},
//   hardware: {make, model, serial, cpu (<= 128), memory_bytes, disk_bytes, disk_free_bytes (>=
//   0)},
//   runtime: {frames_per_second, latency_p99_seconds, frames_processed, frames_dropped,
//   uptime_seconds (numbers >= 0 or null), restarts (integer)},
//   last_update: {release, kind (full|model_swap), outcome (committed|rolled_back),
//   downloaded_bytes, duration_ms}.
Result<json::Json> normalize_report(const json::Json& body);

struct Settings {
  std::chrono::seconds max_wait{std::chrono::seconds(60)};
};

struct Services {
  store::Store& store;          // reads, on the calling thread's connection
  store::GroupCommit& reports;  // changed reports: answered once durable, one fsync per batch
  desired_state::ChangeHub& hub;
  device_registry::Presence& presence;
  const desired_state::RepositoryUrls& urls;
  Settings settings;
  std::function<void(unsigned status)> on_checkin;  // metrics
};

void add_routes(http::Router& router, Services services);

}  // namespace ef::checkin

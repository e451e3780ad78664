// The device telemetry endpoint.
//
//   POST /api/v1/devices/{id}/telemetry   (mTLS as device {id}, see device_auth.hpp)
//   Content-Type: application/x-edgefleet-telemetry-v1   body: one batch (batch_codec.hpp)
//
// Answers:
//   200 {"accepted": N, "refused": {"<reason>": N, ...}, "duplicate": false} when the batch is
//       durable in the relay queue (refused samples are counted and not retried: see stamp.hpp);
//       {"duplicate": true} for a batch whose collection rounds were all taken before (a replay
//       after a lost answer): nothing is queued twice.
//   400 malformed body, 413 larger than max_body, 415 another content type: final, the device
//       drops the batch and counts it.
//   409 a model_version the device has not reported yet: the device keeps the batch, checks in,
//       and sends it again.
//   503 with Retry-After: the relay queue is full (Prometheus down for long) or telemetry is not
//       configured on this server: the device keeps the batch in its spool.
// Everything is counted in edgefleet_server_telemetry_samples_total and
// edgefleet_server_telemetry_batches_total {outcome, reason}.
#pragma once

#include <functional>
#include <memory>

#include "core/http/router.hpp"
#include "core/metrics/metrics.hpp"
#include "server/store/store.hpp"
#include "server/telemetry_ingest/stamp.hpp"

namespace ef::telemetry_ingest {

struct Settings {
  std::size_t max_body = 1024 * 1024;
  StampLimits limits;
};

// Takes stamped series durably (the relay's enqueue); Errc::no_space when full.
using Sink = std::function<Status(const std::vector<telemetry::Series>&)>;

struct Services {
  store::Store& store;
  metrics::Registry& registry;
  Sink sink;  // empty: telemetry is not configured (503)
  Settings settings;
  // Called for every authenticated push, whatever its outcome (the device is alive).
  std::function<void(const std::string& device_id)> heard_from;
};

Status add_routes(http::Router& router, Services services);

}  // namespace ef::telemetry_ingest

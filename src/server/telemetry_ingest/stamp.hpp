// Turns a device's telemetry batch into the series the server relays: identity from the server,
// never from the payload.
//
// stamp() gives every series the labels device, site, cell (from the device's record, admitted by
// its certificate) and release (what the device ran at each sample's time, from its check-in
// history). Runtime series carry the model_version they were measured with, which must be one the
// device reported running; other series get the model_version of the history at each sample's
// time, so every figure can be split by model version. A series whose points span a release or
// model change is split at the change.
//
// Refused, and counted by reason (the rest of the batch is kept):
// - "forged_label": a series carrying device, site, cell, release, instance or job;
// - "foreign_metric": a name outside edgefleet_device_, edgefleet_agent_, edgefleet_runtime_;
// - "future_timestamp": a point later than now + max_future (a device clock far ahead);
// - "too_old": a point older than now - max_age (past what Prometheus would take);
// - "series_limit": series past max_series (a flood of metric names).
// A model_version the device never reported fails the whole batch with Errc::refused: the device
// keeps it and sends it again after its next check-in reported that model.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/telemetry/series.hpp"
#include "server/store/store.hpp"

namespace ef::telemetry_ingest {

struct StampLimits {
  std::size_t max_series = 2000;
  std::chrono::milliseconds max_future{std::chrono::minutes(10)};
  std::chrono::milliseconds max_age{std::chrono::hours(72) + std::chrono::minutes(50)};
};

struct Stamped {
  std::vector<telemetry::Series> series;
  std::uint64_t accepted_samples = 0;
  std::map<std::string, std::uint64_t> refused_samples;  // by reason
};

Result<Stamped> stamp(telemetry::Batch batch, const store::Device& device,
                      const std::vector<store::RunningVersion>& history, const StampLimits& limits,
                      std::int64_t now_ms);

}  // namespace ef::telemetry_ingest

// The relay from devices' telemetry to Prometheus: a durable, bounded queue on the server's disk
// and one worker thread that sends it as remote-write 1.0, oldest first, original timestamps kept.
//
// Contract:
// - enqueue() returns once the series are on disk (fsynced); Errc::no_space when the queue holds
//   max_queue_bytes already (the caller answers 503 and the device keeps the batch in its own
//   spool: back-pressure, not loss).
// - The worker seals what was enqueued into segments (at most every seal_interval), sends the
//   oldest segment, and removes it once Prometheus took it. 2xx: relayed. 400 and other 4xx but
//   429: final, the segment's samples are dropped and counted (reason "rejected"). 5xx, 429, a
//   network failure: retried with capped exponential back-off, the segment stays queued.
// - Samples older than out_of_order_window - safety_margin are dropped before sending and counted
//   (reason "older_than_window"): Prometheus 2.42 answers them with a 500 "too old sample", which
//   a sender that retries every 5xx would retry forever.
// - Every outcome is counted on the server's registry: edgefleet_server_telemetry_samples_total
//   {outcome="relayed"|"dropped", reason}, edgefleet_server_telemetry_queue_bytes,
//   edgefleet_server_telemetry_relay_oldest_age_seconds.
// - stop() (or the destructor) ends the worker; what was not sent stays queued for the next start.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/metrics/metrics.hpp"
#include "core/telemetry/series.hpp"

namespace ef::prometheus_relay {

struct Options {
  std::filesystem::path queue_dir;
  std::string remote_write_url;  // http://host:port/api/v1/write
  // Prometheus' storage.tsdb.out_of_order_time_window (deploy/prometheus/prometheus.yml).
  std::chrono::seconds out_of_order_window{std::chrono::hours(72)};
  std::chrono::seconds safety_margin{std::chrono::minutes(10)};
  std::uint64_t max_queue_bytes = 1024ull * 1024 * 1024;
  std::chrono::milliseconds seal_interval{1000};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{30'000};
  std::size_t max_samples_per_request = 20'000;
};

class Relay {
 public:
  static Result<std::unique_ptr<Relay>> start(Options options, metrics::Registry& registry);
  ~Relay();

  Status enqueue(const std::vector<telemetry::Series>& series);
  void stop();

  struct Impl;

 private:
  explicit Relay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ef::prometheus_relay

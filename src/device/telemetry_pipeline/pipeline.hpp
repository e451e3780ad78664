// The agent's telemetry path: every round (15 s) collect, append to the disk spool, seal batches,
// and deliver what is sealed to the server, oldest first, with the original timestamps.
//
// Contract:
// - round() returns once the round's figures are on disk: a power cut loses at most one round.
// - While the server takes batches, the log is sealed every live_rounds (one-minute batches);
//   while it does not (network down, 503, 409), every backlog_rounds (ten-minute batches, which
//   compress about twice as well), so 72 hours fit in the 32 MiB spool. Past the bound the oldest
//   batches are evicted and counted (edgefleet_agent_spool_evicted_scrapes_total).
// - A batch the server refuses for good (400, 413, 415) is dropped and counted
//   (edgefleet_agent_telemetry_dropped_batches_total); anything else is kept and retried.
// - Memory does not grow with the backlog: the spool keeps only an index, and a round delivers at
//   most max_batches_per_round batches.
// Not thread-safe: the agent's telemetry thread owns it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/common/backoff.hpp"
#include "core/common/result.hpp"
#include "core/spool/spool.hpp"
#include "core/telemetry/series.hpp"

namespace ef::telemetry_pipeline {

enum class Delivery { taken, refused, retry_later };

// Everything measured this round (system, GPU, runtime), stamped at now_ms.
using Collect = std::function<std::vector<telemetry::Series>(std::int64_t now_ms)>;
// Posts one encoded batch to the server.
using Send = std::function<Delivery(std::string_view batch)>;

struct Options {
  std::filesystem::path dir;
  std::uint64_t max_spool_bytes = 32 * 1024 * 1024;
  int live_rounds = 4;
  int backlog_rounds = 40;
  std::size_t max_batches_per_round = 64;
  std::chrono::milliseconds min_backoff{15'000};
  std::chrono::milliseconds max_backoff{120'000};
  bool sync = true;
  // After every round, hand the heap pages freed since (the round's own temporaries, and those of
  // the agent's other thread, which shares the one malloc arena) back to the kernel with
  // malloc_trim(0): without it they stay resident between rounds (bench/device/agent/README.md).
  bool trim_heap = true;
};

// Update outcomes the agent counts for edgefleet_agent_updates_total{result}.
struct UpdateCounts {
  std::atomic<std::uint64_t> committed{0}, failed{0}, rolled_back{0};
};

class Pipeline {
 public:
  static Result<std::unique_ptr<Pipeline>> open(Options options, Collect collect, Send send,
                                                const UpdateCounts* updates = nullptr);

  Status round(std::int64_t now_ms);

  // The next round tries the server at once (the agent's check-in just found it back).
  void retry_now();

  spool::Stats spool_stats() const { return spool_.stats(); }
  bool delivering() const { return delivering_; }
  std::uint64_t dropped_batches() const { return dropped_batches_; }

 private:
  Pipeline(Options options, spool::Spool spool, Collect collect, Send send,
           const UpdateCounts* updates);
  Status collect_spool_deliver(std::int64_t now_ms);
  std::vector<telemetry::Series> own_figures(std::int64_t now_ms) const;
  Status seal_if_due();
  void deliver(std::int64_t now_ms);

  Options options_;
  spool::Spool spool_;
  Collect collect_;
  Send send_;
  const UpdateCounts* updates_;
  Backoff backoff_;
  std::int64_t next_attempt_ms_ = 0;
  bool delivering_ = true;
  std::uint64_t dropped_batches_ = 0;
  std::uint64_t clock_skips_ = 0;
  std::uint64_t corrupt_rounds_ = 0;  // spooled rounds that no longer decoded when sealed
};

// Unix time in milliseconds.
std::int64_t unix_now_ms();

}  // namespace ef::telemetry_pipeline

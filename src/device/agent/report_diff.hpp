// What a check-in report carries: only the top-level fields that changed since the last report
// the server acknowledged (the server keeps the last value of a field left out, so "{}" is a
// plain poll). The live runtime figures ("runtime": frames/s, latency, counters, uptime) travel
// in telemetry, and so do "hardware" (its disk_free_bytes moves all the time); here they ride along
// only when the report is sent anyway for another reason, or every `runtime_every` (an hour by
// default), so `edgefleet status` shows figures at most that old.
//
// Protocol: next() gives the body to send; acknowledged() after the server answered it; lost()
// after a failed check-in (the next body is the full report). A new ReportDiff (agent start or
// restart) sends the full report first. Not thread-safe.
#pragma once

#include <chrono>

#include "core/json/json.hpp"

namespace ef::agent {

class ReportDiff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes kFiguresEvery{60};

  explicit ReportDiff(std::chrono::seconds runtime_every = kFiguresEvery)
      : runtime_every_(runtime_every) {}

  // The part of `full` (a JSON object) to send now: the fields that differ from the acknowledged
  // report, plus "runtime" when anything else changed or it is due. Everything when nothing has
  // been acknowledged yet.
  json::Json next(const json::Json& full, Clock::time_point now);
  // The server took the last body from next(): it becomes the acknowledged report.
  void acknowledged();
  // The last check-in failed: send everything next time.
  void lost();

 private:
  std::chrono::seconds runtime_every_;
  json::Json acked_;    // the report as the server has it; null = nothing known
  json::Json pending_;  // the body of the last next()
  Clock::time_point runtime_sent_{};
  Clock::time_point pending_at_{};
};

}  // namespace ef::agent

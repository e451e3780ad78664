// Statistics over a rolling time window (default: the last 5 minutes).
//
// The window is a ring of equal time slots; a slot older than the window is cleared when its
// place comes round again, so memory is bounded and nothing needs a background thread. Count,
// mean, standard deviation, min and max are exact over the window. Quantiles are exact while a
// slot holds at most max_samples_per_slot samples (at 30 frames/s and 30 s slots that is 900 of
// the default 4096); beyond that each slot keeps a uniform random sample (reservoir sampling).
// Because whole slots expire, the window covers between window - window/slots and window.
// Not thread-safe: Summary (metrics.hpp) wraps it with a lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace ef::metrics {

using Clock = std::chrono::steady_clock;

struct WindowOptions {
  std::chrono::milliseconds window{std::chrono::minutes(5)};
  int slots = 10;
  std::size_t max_samples_per_slot = 4096;
};

struct WindowStats {
  std::uint64_t count = 0;
  // NaN when count is 0 (the Prometheus convention for an empty summary).
  double mean, stddev, min, max, p50, p95, p99;
};

class WindowedSamples {
 public:
  explicit WindowedSamples(WindowOptions options = {});

  void add(double v, Clock::time_point now);
  WindowStats stats(Clock::time_point now) const;
  // Nearest-rank quantile (q in [0, 1]) over the window; NaN when empty.
  double quantile(double q, Clock::time_point now) const;

 private:
  struct Slot {
    std::int64_t index = -1;  // which slot-length period since the epoch it holds
    std::uint64_t seen = 0;
    double sum = 0, sum_squares = 0, min = 0, max = 0;
    std::vector<double> kept;
  };
  std::int64_t slot_index(Clock::time_point t) const;
  std::vector<double> live_samples(Clock::time_point now) const;

  WindowOptions options_;
  Clock::duration slot_length_;
  std::vector<Slot> slots_;
  std::uint64_t rng_state_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace ef::metrics

// Prometheus metrics: counters, gauges, classic histograms, rolling-window summaries, and the
// text exposition format (version 0.0.4) that Prometheus scrapes and the agent collects.
//
// Contract:
// - A Registry owns its metrics. The references it hands out stay valid for the Registry's
//   lifetime; asking again for the same name and label set returns the same metric, so callers
//   may cache the reference (and should, on hot paths: lookups take a lock, updates do not).
// - Updates (inc, set, observe) are thread-safe and lock-free, except Summary::observe which
//   takes a short per-summary lock. expose() may run concurrently with updates; a histogram's
//   _count always equals its +Inf bucket in one exposition.
// - Registration errors (a name or label name that Prometheus would refuse, a name already
//   registered with another type, help or label names, bucket bounds that are not increasing)
//   come back as errors, never exceptions.
// - Names follow Prometheus conventions: base units (seconds, bytes), counters end in _total.
//   Classic histograms with fixed bounds (see buckets.hpp) rather than native ones: Debian's
//   Prometheus 2.42 can only take late (replayed) samples for float series.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/result.hpp"
#include "core/metrics/window.hpp"

namespace ef::metrics {

// Label name/value pairs in the order they are exposed.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. inc() with a negative amount is ignored.
class Counter {
 public:
  void inc(double amount = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A classic histogram: one count per bucket (upper bounds inclusive, "le"), plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;       // without +Inf
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf last
    double sum = 0.0;
    std::uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0.0};
};

// Quantiles over a rolling time window (a Prometheus "summary"): exposes the window's
// p50/p95/p99 as {quantile="..."} series, and _sum/_count since start as Prometheus expects.
class Summary {
 public:
  explicit Summary(WindowOptions options) : window_(options) {}

  void observe(double v) { observe_at(v, Clock::now()); }
  void observe_at(double v, Clock::time_point now);

  // Statistics over the window ending at now (count, mean, stddev, quantiles).
  WindowStats window_stats(Clock::time_point now = Clock::now()) const;
  double sum() const;
  std::uint64_t count() const;

 private:
  mutable std::mutex mutex_;
  WindowedSamples window_;
  double sum_ = 0.0;
  std::uint64_t count_ = 0;
};

// The quantiles every Summary exposes.
inline constexpr double kSummaryQuantiles[] = {0.5, 0.95, 0.99};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Result<Counter*> counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Result<Gauge*> gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Result<Histogram*> histogram(std::string_view name, std::string_view help,
                               const std::vector<double>& upper_bounds, const Labels& labels = {});
  Result<Summary*> summary(std::string_view name, std::string_view help, const Labels& labels = {},
                           WindowOptions window = {});
  // A gauge whose value is read at exposition time (uptime, queue lengths, database counts).
  // read runs under the registry's lock: it must be quick and must not call back into it.
  Status gauge_fn(std::string_view name, std::string_view help, const Labels& labels,
                  std::function<double()> read);

  // A gauge family whose series are all read at exposition time, for sets that change while the
  // program runs (one series per device). read returns (labels, value) pairs; a pair whose label
  // names differ from label_names (in that order) is left out. Same rules as gauge_fn for read.
  using GaugeReadings = std::vector<std::pair<Labels, double>>;
  Status gauges_fn(std::string_view name, std::string_view help,
                   const std::vector<std::string>& label_names,
                   std::function<GaugeReadings()> read);

  // The text exposition format, families in registration order, children in creation order.
  std::string expose() const;

 private:
  struct Family;
  Result<Family*> family(std::string_view name, std::string_view help, int type,
                         const Labels& labels, const std::vector<double>* bounds);
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<Family>> families_;
};

// The content type of expose()'s output, for HTTP responses.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Checks a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and a label name ([a-zA-Z_][a-zA-Z0-9_]*, not
// starting with "__").
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// Formats a sample value the way Prometheus writes it: shortest round-trip, +Inf, -Inf, NaN.
std::string format_value(double v);

}  // namespace ef::metrics

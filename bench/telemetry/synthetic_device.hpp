// A synthetic edge box for the telemetry benchmarks and seed corpora: ~140 series shaped like the
// issue-19 inventory (/work/t19-metrics.md: system gauges, agent and runtime counters, two
// classic histograms of 13+1 buckets with _sum/_count, two 3-quantile summaries, camera,
// decisions, model_info), for the current model and the one it replaced (frozen, model_info 0).
//
// Values move like a real box's: counters grow by Poisson-ish amounts, gauges drift, quantiles
// wobble with full-precision noise; one collection round every 15 s with a few ms of jitter.
// Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "core/telemetry/series.hpp"

namespace ef::bench {

class SyntheticDevice {
 public:
  explicit SyntheticDevice(std::uint64_t seed, std::int64_t start_ms = 1'780'000'000'000);

  // One collection round: every series with one point; the sequence number grows by one.
  telemetry::Batch scrape();
  // rounds consecutive rounds, merged (what a 1-minute or 10-minute batch holds).
  telemetry::Batch batch(int rounds);

  std::size_t series_count() const { return series_.size(); }

 private:
  using Step = std::function<double(std::mt19937_64&, double previous)>;
  void add(std::string name, metrics::Labels labels, double initial, Step step);
  void add_system();
  void add_agent();
  void add_runtime();
  void add_model(const std::string& version, bool current);
  void add_histogram(const std::string& base, const metrics::Labels& labels,
                     const std::vector<double>& bounds, double median, double spread, bool live);
  void add_summary(const std::string& base, const metrics::Labels& labels, double median,
                   bool live);

  std::mt19937_64 rng_;
  std::int64_t next_ms_;
  std::uint64_t sequence_ = 0;
  std::vector<telemetry::Series> series_;  // names and labels; points filled per round
  std::vector<double> values_;
  std::vector<Step> steps_;
  // Frames scored in the current round, shared by the model's counters and histograms.
  double frames_this_round_ = 0;
};

}  // namespace ef::bench

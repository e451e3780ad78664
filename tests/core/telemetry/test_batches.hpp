// Random and hand-made batches for the telemetry tests.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "core/telemetry/series.hpp"

namespace ef::telemetry::testing {

inline constexpr std::uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;  // Prometheus' stale marker

inline double random_value(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0:
      return std::bit_cast<double>(kStaleNaNBits);
    case 1:
      return std::numeric_limits<double>::infinity();
    case 2:
      return -std::numeric_limits<double>::infinity();
    case 3:
      return -0.0;
    case 4:
      return std::bit_cast<double>(rng());  // any bits, NaN payloads included
    case 5:
      return static_cast<double>(rng() % 1000);
    default:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
  }
}

// series_count series, each with up to max_points points at strictly increasing times.
inline Batch random_batch(std::uint64_t seed, std::size_t series_count, std::size_t max_points) {
  std::mt19937_64 rng(seed);
  Batch batch;
  batch.first_sequence = rng() % 1000;
  batch.last_sequence = batch.first_sequence + rng() % 50;
  for (std::size_t i = 0; i < series_count; ++i) {
    Series s;
    s.name = "metric_" + std::to_string(i % 7) + "_total";
    s.labels = {{"a", "x" + std::to_string(i)}, {"job", "j" + std::to_string(rng() % 3)}};
    if (rng() % 2) s.labels.push_back({"zone", std::string(1 + rng() % 40, 'z')});
    const std::size_t n = rng() % (max_points + 1);
    // Timestamps anywhere in int64, including the extremes.
    std::int64_t t = (rng() % 4 == 0) ? std::numeric_limits<std::int64_t>::min()
                                      : static_cast<std::int64_t>(rng() % 2000000000000ULL);
    for (std::size_t k = 0; k < n; ++k) {
      s.points.push_back({t, random_value(rng)});
      const std::uint64_t step = (rng() % 5 == 0) ? (rng() >> 2) : 15000 + rng() % 50;
      if (t > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(step)) break;
      t += static_cast<std::int64_t>(step);
    }
    batch.series.push_back(std::move(s));
  }
  return batch;
}

// Compares values bit for bit (== would call two NaNs different and 0.0 equal to -0.0).
inline bool same_bits(const Batch& a, const Batch& b) {
  if (a.first_sequence != b.first_sequence || a.last_sequence != b.last_sequence) return false;
  if (a.series.size() != b.series.size()) return false;
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    const auto& x = a.series[i];
    const auto& y = b.series[i];
    if (x.name != y.name || x.labels != y.labels || x.points.size() != y.points.size())
      return false;
    for (std::size_t k = 0; k < x.points.size(); ++k) {
      if (x.points[k].timestamp_ms != y.points[k].timestamp_ms) return false;
      if (std::bit_cast<std::uint64_t>(x.points[k].value) !=
          std::bit_cast<std::uint64_t>(y.points[k].value)) {
        return false;
      }
    }
  }
  return true;
}

inline Batch small_batch() {
  Batch b;
  b.first_sequence = 7;
  b.last_sequence = 10;
  b.series.push_back({"edgefleet_device_cpu_usage_ratio", {}, {{1000, 0.25}, {16000, 0.5}}});
  b.series.push_back({"edgefleet_agent_updates_total",
                      {{"result", "committed"}},
                      {{1000, 3.0}, {16000, 3.0}, {31000, 4.0}}});
  return b;
}

}  // namespace ef::telemetry::testing

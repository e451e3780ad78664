// Telemetry samples as the agent collects them, the server relays them and Prometheus stores them.
//
// A Series is one metric name plus its labels (sorted by name, no "__name__", no duplicates) and
// its points, oldest first. A Batch is what travels from a device to the server in one request and
// what a sealed spool segment holds: the series of one or more consecutive collection rounds
// ("scrapes"), each round numbered by a per-device sequence that only grows, across restarts, so
// the server can tell a replayed batch from a new one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/metrics/metrics.hpp"

namespace ef::telemetry {

struct Point {
  std::int64_t timestamp_ms = 0;  // Unix time in milliseconds (Prometheus' unit)
  double value = 0.0;
  friend bool operator==(const Point&, const Point&) = default;
};

struct Series {
  std::string name;
  metrics::Labels labels;     // sorted by label name
  std::vector<Point> points;  // oldest first
  friend bool operator==(const Series&, const Series&) = default;
};

struct Batch {
  std::uint64_t first_sequence = 0;  // the first and last collection round it holds
  std::uint64_t last_sequence = 0;
  std::vector<Series> series;  // each (name, labels) at most once
  friend bool operator==(const Batch&, const Batch&) = default;
};

// Sorts labels by name (what every Series must hold before it is encoded).
void sort_labels(metrics::Labels& labels);

// Joins consecutive batches (given oldest first) into one: points of the same series are
// concatenated in order, the sequence range spans all of them.
Batch merge(std::vector<Batch> batches);

// Number of points over all series.
std::size_t point_count(const Batch& batch);

}  // namespace ef::telemetry

#include "core/telemetry/series.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace ef::telemetry {

void sort_labels(metrics::Labels& labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

Batch merge(std::vector<Batch> batches) {
  Batch out;
  if (batches.empty()) return out;
  out.first_sequence = batches.front().first_sequence;
  out.last_sequence = batches.front().last_sequence;
  // Series keep the order in which they first appear; the map only finds them again.
  std::map<std::pair<std::string, metrics::Labels>, std::size_t> index;
  for (auto& batch : batches) {
    out.first_sequence = std::min(out.first_sequence, batch.first_sequence);
    out.last_sequence = std::max(out.last_sequence, batch.last_sequence);
    for (auto& series : batch.series) {
      auto [it, inserted] = index.try_emplace({series.name, series.labels}, out.series.size());
      if (inserted) {
        out.series.push_back(std::move(series));
        continue;
      }
      auto& points = out.series[it->second].points;
      points.insert(points.end(), series.points.begin(), series.points.end());
    }
  }
  return out;
}

std::size_t point_count(const Batch& batch) {
  std::size_t n = 0;
  for (const auto& series : batch.series)
    n += series.points.size();
  return n;
}

}  // namespace ef::telemetry

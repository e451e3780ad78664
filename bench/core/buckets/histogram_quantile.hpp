// Prometheus' histogram_quantile over classic buckets, reimplemented for the bucket benchmark.
//
// Behaves as PromQL's bucketQuantile (promql/quantile.go) does, so that the error the benchmark
// measures is the error a dashboard will show:
// - q is NaN: NaN; q < 0: -Inf; q > 1: +Inf.
// - Buckets are sorted by upper bound; the highest must be +Inf, else NaN. Buckets sharing a bound
//   are merged (counts added); counts within a relative 1e-12 of the previous are set equal to it
//   (float noise from rate()), and any remaining decrease is flattened to the running maximum.
// - Fewer than 2 buckets, or a zero total (the +Inf bucket's count): NaN.
// - rank = q * total; the quantile lies in the first bucket whose cumulative count >= rank.
//   In the +Inf bucket: the highest finite bound. In the first bucket with a bound <= 0: that
//   bound. Otherwise linear interpolation between the previous bound (0 for the first bucket)
//   and this one.
// Counts are cumulative, as in the exposition's _bucket series.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace ef::bench {

struct CumulativeBucket {
  double upper_bound = 0;
  double count = 0;  // observations <= upper_bound
};

namespace detail {

inline std::vector<CumulativeBucket> merge_equal_bounds(std::vector<CumulativeBucket> sorted) {
  std::vector<CumulativeBucket> merged;
  for (const auto& b : sorted) {
    if (!merged.empty() && merged.back().upper_bound == b.upper_bound)
      merged.back().count += b.count;
    else
      merged.push_back(b);
  }
  return merged;
}

// Float noise first (a count within 1e-12 of the last kept one takes its value), then the envelope.
inline void make_monotonic(std::vector<CumulativeBucket>& buckets) {
  double previous = buckets.front().count;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    const double delta = std::abs(buckets[i].count - previous);
    if (delta == 0) continue;
    if (delta / buckets[i].count <= 1e-12)
      buckets[i].count = previous;
    else
      previous = buckets[i].count;
  }
  double highest = buckets.front().count;
  for (auto& b : buckets) {
    highest = std::max(highest, b.count);
    b.count = highest;
  }
}

}  // namespace detail

inline double histogram_quantile(double q, std::vector<CumulativeBucket> buckets) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  if (buckets.empty()) return kNaN;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const auto& a, const auto& b) { return a.upper_bound < b.upper_bound; });
  if (buckets.back().upper_bound != kInf) return kNaN;
  buckets = detail::merge_equal_bounds(std::move(buckets));
  detail::make_monotonic(buckets);
  if (buckets.size() < 2) return kNaN;
  const double total = buckets.back().count;
  if (total == 0) return kNaN;
  double rank = q * total;
  const std::size_t last = buckets.size() - 1;
  std::size_t b = 0;
  while (b < last && buckets[b].count < rank)
    ++b;
  if (b == last) return buckets[last - 1].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double start = 0;
  double count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (buckets[b].upper_bound - start) * (rank / count);
}

// Cumulative counts of sorted samples for finite bounds (ascending), with the +Inf bucket added.
inline std::vector<CumulativeBucket> bucketize_sorted(const std::vector<double>& sorted_samples,
                                                      const std::vector<double>& bounds) {
  std::vector<CumulativeBucket> out;
  out.reserve(bounds.size() + 1);
  for (double bound : bounds) {
    const auto it = std::upper_bound(sorted_samples.begin(), sorted_samples.end(), bound);
    out.push_back({bound, static_cast<double>(it - sorted_samples.begin())});
  }
  out.push_back(
      {std::numeric_limits<double>::infinity(), static_cast<double>(sorted_samples.size())});
  return out;
}

// The exact q-quantile of sorted samples, interpolating between neighbours as PromQL's quantile()
// aggregation does (rank q * (n - 1)). NaN when there are none.
inline double exact_quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty() || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(rank));
  const std::size_t upper = std::min(sorted.size() - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

}  // namespace ef::bench

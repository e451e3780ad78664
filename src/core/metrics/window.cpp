#include "core/metrics/window.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ef::metrics {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double nearest_rank(std::vector<double>& samples, double q) {
  if (samples.empty()) return kNaN;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  const std::size_t index = rank == 0 ? 0 : rank - 1;
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index),
                   samples.end());
  return samples[index];
}
}  // namespace

WindowedSamples::WindowedSamples(WindowOptions options) : options_(options) {
  if (options_.slots < 1) options_.slots = 1;
  if (options_.max_samples_per_slot < 1) options_.max_samples_per_slot = 1;
  if (options_.window.count() < options_.slots)
    options_.window = std::chrono::milliseconds(options_.slots);
  slot_length_ = std::chrono::duration_cast<Clock::duration>(options_.window) / options_.slots;
  slots_.resize(static_cast<std::size_t>(options_.slots));
}

std::int64_t WindowedSamples::slot_index(Clock::time_point t) const {
  return t.time_since_epoch() / slot_length_;
}

void WindowedSamples::add(double v, Clock::time_point now) {
  if (std::isnan(v)) return;
  const std::int64_t index = slot_index(now);
  Slot& slot = slots_[static_cast<std::size_t>(index % options_.slots)];
  if (slot.index != index) {
    slot.index = index;
    slot.seen = 0;
    slot.sum = slot.sum_squares = 0;
    slot.kept.clear();
  }
  if (slot.seen == 0) {
    slot.min = slot.max = v;
  } else {
    slot.min = std::min(slot.min, v);
    slot.max = std::max(slot.max, v);
  }
  ++slot.seen;
  slot.sum += v;
  slot.sum_squares += v * v;
  if (slot.kept.size() < options_.max_samples_per_slot) {
    slot.kept.push_back(v);
    return;
  }
  // Reservoir sampling (Algorithm R) with a xorshift64 generator: cheap and deterministic.
  rng_state_ ^= rng_state_ << 13;
  rng_state_ ^= rng_state_ >> 7;
  rng_state_ ^= rng_state_ << 17;
  const std::uint64_t j = rng_state_ % slot.seen;
  if (j < slot.kept.size()) slot.kept[j] = v;
}

std::vector<double> WindowedSamples::live_samples(Clock::time_point now) const {
  const std::int64_t newest = slot_index(now);
  std::vector<double> samples;
  for (const Slot& slot : slots_) {
    if (slot.index > newest - options_.slots && slot.index <= newest) {
      samples.insert(samples.end(), slot.kept.begin(), slot.kept.end());
    }
  }
  return samples;
}

double WindowedSamples::quantile(double q, Clock::time_point now) const {
  auto samples = live_samples(now);
  return nearest_rank(samples, q);
}

WindowStats WindowedSamples::stats(Clock::time_point now) const {
  WindowStats out{0, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  const std::int64_t newest = slot_index(now);
  double sum = 0, sum_squares = 0;
  for (const Slot& slot : slots_) {
    if (slot.index <= newest - options_.slots || slot.index > newest || slot.seen == 0) continue;
    if (out.count == 0) {
      out.min = slot.min;
      out.max = slot.max;
    } else {
      out.min = std::min(out.min, slot.min);
      out.max = std::max(out.max, slot.max);
    }
    out.count += slot.seen;
    sum += slot.sum;
    sum_squares += slot.sum_squares;
  }
  if (out.count == 0) return out;
  const double n = static_cast<double>(out.count);
  out.mean = sum / n;
  out.stddev = std::sqrt(std::max(0.0, sum_squares / n - out.mean * out.mean));
  auto samples = live_samples(now);
  out.p50 = nearest_rank(samples, 0.5);
  out.p95 = nearest_rank(samples, 0.95);
  out.p99 = nearest_rank(samples, 0.99);
  return out;
}

}  // namespace ef::metrics

#include "core/common/backoff.hpp"

#include <algorithm>

namespace ef {

Backoff::Backoff(Policy policy) : policy_(policy), rng_(std::random_device{}()) {
  policy_.initial = std::max(policy_.initial, std::chrono::milliseconds(1));
  policy_.max = std::max(policy_.max, policy_.initial);
}

std::chrono::milliseconds Backoff::peek_cap() const {
  // Doubling past 2^20 cannot stay under any sensible max; stop shifting before overflow.
  const int doublings = std::min(failures_, 20);
  const auto grown = policy_.initial.count() * (std::int64_t{1} << doublings);
  return std::min(policy_.max, std::chrono::milliseconds(grown));
}

std::chrono::milliseconds Backoff::next() {
  const auto cap = peek_cap();
  ++failures_;
  if (!policy_.jitter) return cap;
  std::uniform_int_distribution<std::int64_t> pick(cap.count() / 2, cap.count());
  return std::chrono::milliseconds(pick(rng_));
}

}  // namespace ef

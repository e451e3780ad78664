// Exponential back-off between retries: the agent reaching its server, the supervisor restarting
// the runtime, the camera reopening its source.
//
// Each failure doubles the wait, from `initial` up to `max`; success (reset) starts again at
// `initial`. With jitter, each wait is drawn uniformly from [cap/2, cap], so a fleet that lost its
// server together does not come back in step. Not thread-safe: one owner per Backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace ef {

class Backoff {
 public:
  struct Policy {
    std::chrono::milliseconds initial{1000};
    std::chrono::milliseconds max{60000};
    bool jitter = false;
  };

  explicit Backoff(Policy policy);

  // The wait before the next attempt, counting one more failure.
  std::chrono::milliseconds next();
  // The cap the next call to next() draws under (without jitter: exactly what it returns).
  std::chrono::milliseconds peek_cap() const;
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }
  const Policy& policy() const { return policy_; }

 private:
  Policy policy_;
  int failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace ef

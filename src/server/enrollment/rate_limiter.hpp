// Counts failures per key (a client address, a device id) in a sliding window and refuses a key
// that failed too often, so enrollment tokens cannot be guessed. Memory is bounded: at most
// max_keys keys are tracked; when full, the stalest key is dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

namespace ef::enrollment {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(std::size_t max_failures, std::chrono::seconds window, std::size_t max_keys = 100000)
      : max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

  // Seconds until key may try again, or 0 if it may try now.
  std::chrono::seconds retry_after(const std::string& key, Clock::time_point now);
  void failure(const std::string& key, Clock::time_point now);

 private:
  void prune(std::deque<Clock::time_point>& times, Clock::time_point now) const;

  std::size_t max_failures_;
  std::chrono::seconds window_;
  std::size_t max_keys_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace ef::enrollment

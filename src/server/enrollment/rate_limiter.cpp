#include "server/enrollment/rate_limiter.hpp"

#include <algorithm>

namespace ef::enrollment {

void RateLimiter::prune(std::deque<Clock::time_point>& times, Clock::time_point now) const {
  while (!times.empty() && now - times.front() >= window_)
    times.pop_front();
}

std::chrono::seconds RateLimiter::retry_after(const std::string& key, Clock::time_point now) {
  const auto it = failures_.find(key);
  if (it == failures_.end()) return std::chrono::seconds(0);
  prune(it->second, now);
  if (it->second.size() < max_failures_) {
    if (it->second.empty()) failures_.erase(it);
    return std::chrono::seconds(0);
  }
  // Wait until the oldest failure in the window leaves it.
  const auto wait = std::chrono::ceil<std::chrono::seconds>(it->second.front() + window_ - now);
  return std::max(wait, std::chrono::seconds(1));
}

void RateLimiter::failure(const std::string& key, Clock::time_point now) {
  if (failures_.size() >= max_keys_ && !failures_.contains(key)) {
    auto stalest =
        std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
          return (a.second.empty() ? Clock::time_point() : a.second.back()) <
                 (b.second.empty() ? Clock::time_point() : b.second.back());
        });
    failures_.erase(stalest);
  }
  auto& times = failures_[key];
  prune(times, now);
  times.push_back(now);
}

}  // namespace ef::enrollment

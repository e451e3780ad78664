#include "runtime/inspection/log_limiter.hpp"

#include <spdlog/spdlog.h>

namespace ef::inspection {

bool LogLimiter::warn(const std::string& key, const std::string& message,
                      std::chrono::steady_clock::time_point now) {
  auto& entry = entries_[key];
  if (entry.last != std::chrono::steady_clock::time_point{} && now - entry.last < interval_) {
    ++entry.suppressed;
    return false;
  }
  if (entry.suppressed > 0) {
    spdlog::warn("{} (and {} more like it in the last {} s)", message, entry.suppressed,
                 std::chrono::duration_cast<std::chrono::seconds>(interval_).count());
  } else {
    spdlog::warn("{}", message);
  }
  entry.last = now;
  entry.suppressed = 0;
  return true;
}

}  // namespace ef::inspection

// Logs a recurring problem (one key per kind) as a warning at most once per interval, with how many
// like it were not logged, so a camera sending bad frames at 30 fps cannot flood the log. Not
// thread-safe: one thread owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace ef::inspection {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::steady_clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // Returns whether the message was logged.
  bool warn(const std::string& key, const std::string& message,
            std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  std::chrono::steady_clock::duration interval_;
  std::map<std::string, Entry> entries_;
};

}  // namespace ef::inspection

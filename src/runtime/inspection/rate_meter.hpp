// Events per second over the last whole seconds, for "frames processed per second". One thread
// ticks; any thread reads. Lock-free; a read racing a slot reset may be off by one event.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace ef::inspection {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kSlots = 16;

  void tick(Clock::time_point now = Clock::now()) {
    const std::int64_t second = seconds(now);
    if (first_second_.load(std::memory_order_relaxed) < 0) {
      first_second_.store(second, std::memory_order_relaxed);
    }
    auto& slot = slots_[static_cast<std::size_t>(second % kSlots)];
    if (slot.second.load(std::memory_order_relaxed) != second) {
      slot.count.store(0, std::memory_order_relaxed);
      slot.second.store(second, std::memory_order_relaxed);
    }
    slot.count.fetch_add(1, std::memory_order_relaxed);
  }

  // Mean rate over the last `window` whole seconds before the current one (window < kSlots).
  // The second of the first tick is partial and left out; 0 until one whole second has passed.
  double per_second(int window = 10, Clock::time_point now = Clock::now()) const {
    const std::int64_t current = seconds(now);
    const std::int64_t first = first_second_.load(std::memory_order_relaxed);
    const std::int64_t from = std::max<std::int64_t>(first + 1, current - window);
    if (first < 0 || from >= current) return 0;
    std::uint64_t total = 0;
    for (const auto& slot : slots_) {
      const std::int64_t s = slot.second.load(std::memory_order_relaxed);
      if (s >= from && s < current) total += slot.count.load(std::memory_order_relaxed);
    }
    return static_cast<double>(total) / static_cast<double>(current - from);
  }

 private:
  static std::int64_t seconds(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }
  struct Slot {
    std::atomic<std::int64_t> second{-1};
    std::atomic<std::uint64_t> count{0};
  };
  std::array<Slot, kSlots> slots_;
  std::atomic<std::int64_t> first_second_{-1};
};

}  // namespace ef::inspection

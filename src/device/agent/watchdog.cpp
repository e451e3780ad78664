#include "device/agent/watchdog.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace ef::agent {

Watchdog::Watchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    interval_ = std::chrono::microseconds(usec);
    thread_ = std::thread([this] { loop(); });
  }
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  quit_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::alive() {
  last_alive_ = Clock::now().time_since_epoch().count();
}

void Watchdog::loop() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    const auto age = Clock::now().time_since_epoch() - Clock::duration(last_alive_.load());
    if (age < interval_) sd_notify(0, "WATCHDOG=1");
    // Woken at once on shutdown: a 40 s sleep here would outlast systemd's stop timeout.
    quit_cv_.wait_for(lock, interval_ / 3, [this] { return quit_; });
  }
}

}  // namespace ef::agent

#include "device/agent/watchdog.hpp"

#include <iostream>

#include "device/systemd_notify/systemd_notify.hpp"

namespace ef::agent {

Watchdog::Watchdog() {
  auto interval = systemd_notify::watchdog_interval();
  if (!interval) {
    std::cerr << "edgefleet-agent: no watchdog: " << interval.error().message << std::endl;
    return;
  }
  auto socket = systemd_notify::socket_from_env();
  if (!*interval || !socket) return;
  interval_ = **interval;
  socket_ = std::move(*socket);
  thread_ = std::thread([this] { loop(); });
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
  bool reported = false;  // a failing ping is logged once, not every few seconds
  std::unique_lock lock(mu_);
  while (!quit_) {
    const auto age = Clock::now().time_since_epoch() - Clock::duration(last_alive_.load());
    if (age < interval_) {
      auto sent = systemd_notify::notify_to(socket_, "WATCHDOG=1");
      if (!sent && !reported) {
        std::cerr << "edgefleet-agent: watchdog ping: " << sent.error().message << std::endl;
        reported = true;
      }
    }
    // Woken at once on shutdown: a 40 s sleep here would outlast systemd's stop timeout.
    quit_cv_.wait_for(lock, interval_ / 3, [this] { return quit_; });
  }
}

}  // namespace ef::agent

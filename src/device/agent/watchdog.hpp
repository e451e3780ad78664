// Feeds the systemd watchdog (WatchdogSec= in the unit) while the agent shows signs of life.
//
// A thread pings systemd every third of the watchdog interval for as long as alive() was called
// within one interval: a main loop that hangs stops the pings and systemd restarts the agent.
// Long waits (back-off, a runtime's health gate, a download) call alive() as they go, so waiting
// is not mistaken for hanging. Without a watchdog (not under systemd, or WATCHDOG_USEC garbled or
// meant for another process: systemd_notify.hpp) it starts no thread and does nothing. The
// environment is read once, when it is constructed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace ef::agent {

class Watchdog {
 public:
  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void alive();  // thread-safe

 private:
  void loop();

  using Clock = std::chrono::steady_clock;
  std::chrono::microseconds interval_{0};
  std::string socket_;  // $NOTIFY_SOCKET at construction
  std::atomic<Clock::rep> last_alive_{Clock::now().time_since_epoch().count()};
  std::mutex mu_;
  std::condition_variable quit_cv_;
  bool quit_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ef::agent

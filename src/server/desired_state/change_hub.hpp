// Wakes long-polls when a device's desired state changes.
//
// A waiting check-in costs one timer and one map entry; nothing polls. notify() wakes every
// waiter of one device at once, notify_all() every waiter (revocations, shutdown). Single-threaded:
// use it on the server's event loop only.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include "core/http/awaitable.hpp"

namespace ef::desired_state {

class ChangeHub {
 public:
  // Suspends until the device's desired state may have changed (true) or timeout passes (false).
  boost::asio::awaitable<bool> wait(const std::string& device_id,
                                    std::chrono::milliseconds timeout);

  void notify(const std::string& device_id);
  void notify_all();

  std::size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter {
    boost::asio::steady_timer* timer;
    bool* woken;
  };
  std::multimap<std::string, Waiter> waiters_;  // ordered: iterators stay valid while waiting
};

}  // namespace ef::desired_state

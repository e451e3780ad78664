// Wakes long-polls when a device's desired state changes.
//
// A waiting check-in costs one timer and one map entry; nothing polls. notify() wakes every
// waiter of one device at once, notify_all() every waiter (revocations, shutdown).
// Thread-safe: waiters may wait on several event loops (the server's threads) and notify() may be
// called from any thread; a waiter is woken on its own event loop, whose io_context must be run by
// one thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
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
  // Wakes every waiter, and from now on wait() returns true at once: at shutdown, a request that
  // was still on its way to a long-poll must not hold its thread for the whole wait.
  void shut_down();

  std::size_t waiting() const;

 private:
  struct Waiter;
  void wake(const std::shared_ptr<Waiter>& waiter);

  mutable std::mutex mutex_;
  bool shut_down_ = false;
  // Ordered: iterators stay valid while waiting.
  std::multimap<std::string, std::shared_ptr<Waiter>> waiters_;
};

}  // namespace ef::desired_state

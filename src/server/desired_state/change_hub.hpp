// Wakes long-polls when a device's desired state changes.
//
// A waiting check-in costs one timer and one map entry; nothing polls. notify() wakes every
// waiter of one device at once, notify_all() every waiter (revocations, shutdown).
// A change committed between reading a device's desired state and parking would be lost if the
// hub only woke requests already parked, so a waiter first takes a token (since()) before its read
// and hands it to wait(), which returns at once when the device was notified in between.
// Thread-safe: waiters may wait on several event loops (the server's threads) and notify() may be
// called from any thread; a waiter is woken on its own event loop, whose io_context must be run by
// one thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/http/awaitable.hpp"

namespace ef::desired_state {

// The notifications a device had when it was taken (see ChangeHub::since).
struct ChangeToken {
  std::uint64_t device_changes = 0;  // of the device's slot
  std::uint64_t all_changes = 0;     // notify_all() calls
};

class ChangeHub {
 public:
  ChangeHub();

  // Take before reading the device's desired state; pass to wait().
  ChangeToken since(const std::string& device_id) const;

  // Suspends until the device's desired state may have changed (true) or timeout passes (false).
  // Returns true at once when the device was notified after `since` was taken. Devices share
  // slots (4096 of them), so a notify for another device can also end a wait early: callers
  // re-read, as after any wake-up.
  boost::asio::awaitable<bool> wait(const std::string& device_id, std::chrono::milliseconds timeout,
                                    ChangeToken since);

  void notify(const std::string& device_id);
  void notify_all();
  // Wakes every waiter, and from now on wait() returns true at once: at shutdown, a request that
  // was still on its way to a long-poll must not hold its thread for the whole wait.
  void shut_down();

  std::size_t waiting() const;

 private:
  struct Waiter;
  void wake(const std::shared_ptr<Waiter>& waiter);
  std::uint64_t& changes_of(const std::string& device_id);
  ChangeToken token_locked(const std::string& device_id) const;

  mutable std::mutex mutex_;
  bool shut_down_ = false;
  std::vector<std::uint64_t> slot_changes_;  // notify() calls per slot of device ids
  std::uint64_t all_changes_ = 0;
  // Ordered: iterators stay valid while waiting.
  std::multimap<std::string, std::shared_ptr<Waiter>> waiters_;
};

}  // namespace ef::desired_state

// Receives the desired-state changes that any replica's PostgreSQL store commits (NOTIFY on
// kDesiredStateChannel, sent by store/postgres), so that a long-poll parked on this replica wakes
// when another replica assigns or revokes its device.
//
// Contract:
// - start() connects on a connection of its own and LISTENs before it returns: a change committed
//   after start() returned is delivered, unless the connection is lost (see on_resync). A database
//   that cannot be reached is an error (Errc::network), as for open_postgres_store.
// - The callbacks run on the listener's own thread, one at a time, never after stop() returned.
//   They must be quick and must not call stop(): the caller posts them to its event loop.
// - on_change(device_id): once per notification, in commit order (PostgreSQL folds identical
//   notifications of one transaction into one). A payload that is not a device id
//   (pki::check_device_id: empty, over 64 characters, other characters) is dropped and counted in
//   stats().ignored: any database user may NOTIFY on the channel.
// - A lost connection is re-made with jittered exponential backoff (Options), LISTENed on again,
//   and then on_resync() runs: notifications sent meanwhile are lost, so the caller treats every
//   device as changed (wakes every long-poll, which re-reads its device's state).
// - stop() and the destructor wake the thread through an eventfd and join it, promptly also while
//   it connects or backs off. stop() is idempotent; call it from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/common/result.hpp"

struct pg_conn;

namespace ef::store {

class ChangeListener {
 public:
  struct Callbacks {
    std::function<void(const std::string& device_id)> on_change;
    std::function<void()> on_resync;
  };
  struct Options {
    std::chrono::milliseconds min_backoff{100};  // the first wait after a loss
    std::chrono::milliseconds max_backoff{10'000};
    std::chrono::milliseconds connect_timeout{5'000};  // for one attempt, LISTEN included
  };
  struct Stats {
    std::uint64_t delivered = 0;   // on_change calls
    std::uint64_t ignored = 0;     // payloads that were not device ids
    std::uint64_t reconnects = 0;  // connections re-made after a loss (on_resync calls)
  };

  // conninfo: the same libpq URI or key=value string the store was opened with.
  static Result<std::unique_ptr<ChangeListener>> start(std::string conninfo, Callbacks callbacks,
                                                       Options options);
  static Result<std::unique_ptr<ChangeListener>> start(std::string conninfo, Callbacks callbacks) {
    return start(std::move(conninfo), std::move(callbacks), Options{});
  }
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  void stop();
  Stats stats() const;

 private:
  ChangeListener(std::string conninfo, Callbacks callbacks, Options options);
  enum class Wake { ready, stopped, timed_out };
  Wake wait_for(int fd, short events,
                std::optional<std::chrono::steady_clock::time_point> deadline) const;
  Result<pg_conn*> connect();
  Status listen(pg_conn* conn, std::chrono::steady_clock::time_point deadline);
  bool receive();
  void run();

  std::string conninfo_;
  Callbacks callbacks_;
  Options options_;
  int stop_fd_ = -1;         // an eventfd: readable once stop() was called
  pg_conn* conn_ = nullptr;  // owned by the thread once it runs
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> ignored_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::thread thread_;
};

}  // namespace ef::store

// Group commit: writes from many requests in shared transactions, one fsync per batch.
//
// A changed check-in report costing its own transaction caps a server at the disk's sync rate
// (about 1,800 reports/s here, whatever the cores). A GroupCommit queues writes from any thread
// and runs them on one writer thread with its own connection, as many as are queued in one
// transaction: a batch costs one fsync however many writes it holds, and under load the batches
// grow by themselves while the previous one syncs.
//
// Contract:
// - write(work) completes with work's status once the transaction holding it has committed
//   (durable: the request may be answered), or with the error that stopped it. work is given the
//   writer's Store and must touch nothing else: a batch whose transaction fails is rolled back and
//   each of its writes run again in a transaction of its own, so one bad write fails alone.
// - Writes run in the order they were queued.
// - The coroutine calling write() must run on a single-threaded executor (an io_context run by
//   one thread, as the server's are): its completion is posted there.
// - stop() runs what is queued, then ends the writer; write() after stop() fails with
//   Errc::closed. The destructor stops.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/http/awaitable.hpp"
#include "server/store/store.hpp"

namespace ef::store {

class GroupCommit {
 public:
  using Work = std::function<Status(Store&)>;

  // Starts the writer thread on `connection` (used by that thread only from now on).
  explicit GroupCommit(std::unique_ptr<Store> connection, std::size_t max_batch = 1024);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  boost::asio::awaitable<Status> write(Work work);

  void stop();

  struct Stats {
    std::uint64_t writes = 0;         // writes completed (either outcome)
    std::uint64_t transactions = 0;   // transactions committed or attempted
    std::uint64_t retried_alone = 0;  // writes run again on their own after their batch failed
  };
  Stats stats() const;

 private:
  struct Pending;
  void run();
  void commit(std::vector<std::shared_ptr<Pending>>& batch);
  void finish(std::shared_ptr<Pending> pending, Status outcome);

  std::unique_ptr<Store> store_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread writer_;
};

}  // namespace ef::store

#include "server/store/group_commit/group_commit.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ef::store {

namespace asio = boost::asio;

struct GroupCommit::Pending {
  Pending(Work w, asio::any_io_executor executor)
      : work(std::move(w)), done(std::move(executor), asio::steady_timer::time_point::max()) {}
  Work work;
  Status outcome;
  asio::steady_timer done;  // cancelled on the caller's executor once outcome is set
  bool finished = false;    // read and written on the caller's executor only
};

GroupCommit::GroupCommit(std::unique_ptr<Store> connection, std::size_t max_batch)
    : store_(std::move(connection)), max_batch_(std::max<std::size_t>(1, max_batch)) {
  writer_ = std::thread([this] { run(); });
}

GroupCommit::~GroupCommit() {
  stop();
}

void GroupCommit::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

asio::awaitable<Status> GroupCommit::write(Work work) {
  auto pending = std::make_shared<Pending>(std::move(work), co_await asio::this_coro::executor);
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      co_return make_error(Errc::closed, "the server is stopping; nothing was written");
    queue_.push_back(pending);
  }
  wake_.notify_one();
  while (!pending->finished) {
    boost::system::error_code ignored;
    co_await pending->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return std::move(pending->outcome);
}

void GroupCommit::run() {
  for (;;) {
    std::vector<std::shared_ptr<Pending>> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is written
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch);
  }
}

void GroupCommit::commit(std::vector<std::shared_ptr<Pending>>& batch) {
  const Status together = store_->in_transaction([&]() -> Status {
    for (auto& pending : batch)
      EF_CHECK(pending->work(*store_));
    return {};
  });
  std::vector<Status> outcomes(batch.size(), together);
  const bool retry_alone = !together && batch.size() > 1;
  if (retry_alone) {
    for (std::size_t i = 0; i < batch.size(); ++i)
      outcomes[i] = store_->in_transaction([&] { return batch[i]->work(*store_); });
  }
  {  // counted before anyone is answered, so an answered write is always in the figures
    std::lock_guard lock(mutex_);
    stats_.writes += batch.size();
    stats_.transactions += retry_alone ? 1 + batch.size() : 1;
    stats_.retried_alone += retry_alone ? batch.size() : 0;
  }
  for (std::size_t i = 0; i < batch.size(); ++i)
    finish(std::move(batch[i]), std::move(outcomes[i]));
}

// Hands the outcome to the caller's executor, keeping no reference here: the Pending (its timer)
// is then destroyed on the caller's thread.
void GroupCommit::finish(std::shared_ptr<Pending> pending, Status outcome) {
  pending->outcome = std::move(outcome);
  auto executor = pending->done.get_executor();
  asio::post(executor, [pending = std::move(pending)] {
    pending->finished = true;
    pending->done.cancel();
  });
}

}  // namespace ef::store

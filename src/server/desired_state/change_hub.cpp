#include "server/desired_state/change_hub.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

namespace ef::desired_state {

namespace asio = boost::asio;

struct ChangeHub::Waiter {
  explicit Waiter(asio::any_io_executor executor) : timer(std::move(executor)) {}
  asio::steady_timer timer;  // touched on its own executor only
  bool woken = false;        // likewise
};

namespace {
constexpr std::size_t kSlots = 4096;

std::size_t slot_of(const std::string& device_id) {
  return std::hash<std::string>{}(device_id) % kSlots;
}
}  // namespace

ChangeHub::ChangeHub() : slot_changes_(kSlots, 0) {}

std::uint64_t& ChangeHub::changes_of(const std::string& device_id) {
  return slot_changes_[slot_of(device_id)];
}

ChangeToken ChangeHub::token_locked(const std::string& device_id) const {
  return {slot_changes_[slot_of(device_id)], all_changes_};
}

ChangeToken ChangeHub::since(const std::string& device_id) const {
  std::lock_guard lock(mutex_);
  return token_locked(device_id);
}

asio::awaitable<bool> ChangeHub::wait(const std::string& device_id,
                                      std::chrono::milliseconds timeout, ChangeToken since) {
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  waiter->timer.expires_after(timeout);
  std::multimap<std::string, std::shared_ptr<Waiter>>::iterator it;
  {
    std::lock_guard lock(mutex_);
    const auto now = token_locked(device_id);
    if (shut_down_ || now.device_changes != since.device_changes ||
        now.all_changes != since.all_changes) {
      co_return true;
    }
    it = waiters_.emplace(device_id, waiter);
  }
  boost::system::error_code ec;
  co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  {
    std::lock_guard lock(mutex_);
    waiters_.erase(it);
  }
  co_return waiter->woken;
}

// Timers are not thread-safe objects: the wake-up runs on the waiter's own executor. A wake-up
// that arrives after the wait ended (timed out meanwhile) finds an expired timer and does nothing.
void ChangeHub::wake(const std::shared_ptr<Waiter>& waiter) {
  auto executor = waiter->timer.get_executor();
  asio::post(executor, [waiter] {
    waiter->woken = true;
    waiter->timer.cancel();
  });
}

void ChangeHub::notify(const std::string& device_id) {
  std::lock_guard lock(mutex_);
  ++changes_of(device_id);
  const auto [begin, end] = waiters_.equal_range(device_id);
  for (auto it = begin; it != end; ++it)
    wake(it->second);
}

void ChangeHub::notify_all() {
  std::lock_guard lock(mutex_);
  ++all_changes_;
  for (auto& [id, waiter] : waiters_)
    wake(waiter);
}

void ChangeHub::shut_down() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (auto& [id, waiter] : waiters_)
    wake(waiter);
}

std::size_t ChangeHub::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace ef::desired_state

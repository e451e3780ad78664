#include "server/desired_state/change_hub.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ef::desired_state {

namespace asio = boost::asio;

asio::awaitable<bool> ChangeHub::wait(const std::string& device_id,
                                      std::chrono::milliseconds timeout) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(timeout);
  bool woken = false;
  const auto it = waiters_.emplace(device_id, Waiter{&timer, &woken});
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  waiters_.erase(it);
  co_return woken;
}

void ChangeHub::notify(const std::string& device_id) {
  const auto [begin, end] = waiters_.equal_range(device_id);
  for (auto it = begin; it != end; ++it) {
    *it->second.woken = true;
    it->second.timer->cancel();
  }
}

void ChangeHub::notify_all() {
  for (auto& [id, waiter] : waiters_) {
    *waiter.woken = true;
    waiter.timer->cancel();
  }
}

}  // namespace ef::desired_state

#include "server/desired_state/change_hub.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace ef::desired_state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Starts a waiter for device_id; *result is set when it returns.
void start_wait(asio::io_context& context, ChangeHub& hub, const std::string& device_id,
                std::chrono::milliseconds timeout, std::optional<bool>* result) {
  asio::co_spawn(
      context,
      [&hub, device_id, timeout, result]() -> asio::awaitable<void> {
        *result = co_await hub.wait(device_id, timeout);
      },
      asio::detached);
}

TEST(ChangeHubTest, NotifyWakesOnlyThatDevicesWaitersAtOnce) {
  asio::io_context context;
  ChangeHub hub;
  std::optional<bool> a1, a2, b;
  start_wait(context, hub, "a", 10s, &a1);
  start_wait(context, hub, "a", 10s, &a2);
  start_wait(context, hub, "b", 200ms, &b);
  context.poll();
  EXPECT_EQ(hub.waiting(), 3u);
  const auto start = std::chrono::steady_clock::now();
  hub.notify("a");
  hub.notify("nobody");
  context.run_for(5s);
  EXPECT_EQ(a1, std::optional<bool>(true));
  EXPECT_EQ(a2, std::optional<bool>(true));
  EXPECT_EQ(b, std::optional<bool>(false));  // its timeout, not a's notify
  EXPECT_EQ(hub.waiting(), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ChangeHubTest, TimesOutWithoutANotify) {
  asio::io_context context;
  ChangeHub hub;
  std::optional<bool> result;
  start_wait(context, hub, "a", 50ms, &result);
  context.run_for(5s);
  EXPECT_EQ(result, std::optional<bool>(false));
  EXPECT_EQ(hub.waiting(), 0u);
}

TEST(ChangeHubTest, NotifyAllWakesEveryone) {
  asio::io_context context;
  ChangeHub hub;
  std::optional<bool> a, b;
  start_wait(context, hub, "a", 10s, &a);
  start_wait(context, hub, "b", 10s, &b);
  context.poll();
  hub.notify_all();
  context.run_for(5s);
  EXPECT_EQ(a, std::optional<bool>(true));
  EXPECT_EQ(b, std::optional<bool>(true));
}

TEST(ChangeHubTest, ANotifyBeforeTheWaitIsNotRemembered) {
  // A check-in compares ETags before waiting; the hub only wakes requests already parked.
  asio::io_context context;
  ChangeHub hub;
  hub.notify("a");
  std::optional<bool> result;
  start_wait(context, hub, "a", 50ms, &result);
  context.run_for(5s);
  EXPECT_EQ(result, std::optional<bool>(false));
}

}  // namespace
}  // namespace ef::desired_state

#include "server/desired_state/change_hub.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace ef::desired_state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Starts a waiter for device_id with a token taken now; *result is set when it returns.
void start_wait(asio::io_context& context, ChangeHub& hub, const std::string& device_id,
                std::chrono::milliseconds timeout, std::optional<bool>* result) {
  asio::co_spawn(
      context,
      [&hub, device_id, timeout, result, since = hub.since(device_id)]() -> asio::awaitable<void> {
        *result = co_await hub.wait(device_id, timeout, since);
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

TEST(ChangeHubTest, ANotifyBeforeTheTokenIsNotRemembered) {
  // A check-in takes its token, then reads the desired state: a change before that is in what it
  // read, so the wait does not end for it.
  asio::io_context context;
  ChangeHub hub;
  hub.notify("a");
  hub.notify_all();
  std::optional<bool> result;
  start_wait(context, hub, "a", 50ms, &result);
  context.run_for(5s);
  EXPECT_EQ(result, std::optional<bool>(false));
}

// A change committed after the check-in read the desired state but before it parked (another
// thread or replica, a changed report waiting for its group commit) ends the wait at once.
TEST(ChangeHubTest, ANotifyAfterTheTokenEndsTheWaitAtOnce) {
  for (const bool all : {false, true}) {
    asio::io_context context;
    ChangeHub hub;
    const auto token = hub.since("a");
    if (all) {
      hub.notify_all();
    } else {
      hub.notify("a");
    }
    std::optional<bool> result;
    asio::co_spawn(
        context, [&]() -> asio::awaitable<void> { result = co_await hub.wait("a", 10s, token); },
        asio::detached);
    const auto start = std::chrono::steady_clock::now();
    context.run_for(5s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << (all ? "notify_all" : "notify");
    EXPECT_EQ(result, std::optional<bool>(true));
    EXPECT_EQ(hub.waiting(), 0u);
  }
}

TEST(ChangeHubTest, ANotifyForAnotherDeviceAfterTheTokenDoesNotEndTheWait) {
  asio::io_context context;
  ChangeHub hub;
  // A device in another slot than "a" (4096 slots: among 64 names, one differs).
  std::string other;
  for (int i = 0; i < 64 && other.empty(); ++i) {
    const auto name = "cam-" + std::to_string(i);
    const auto before = hub.since("a");
    hub.notify(name);
    if (hub.since("a").device_changes == before.device_changes) other = name;
  }
  ASSERT_FALSE(other.empty());
  const auto token = hub.since("a");
  hub.notify(other);
  std::optional<bool> result;
  asio::co_spawn(
      context, [&]() -> asio::awaitable<void> { result = co_await hub.wait("a", 50ms, token); },
      asio::detached);
  context.run_for(5s);
  EXPECT_EQ(result, std::optional<bool>(false));
}

// The server waits on several threads, each running its own io_context: a notify() from any
// thread wakes every waiter on its own thread.
TEST(ChangeHubTest, NotifyFromAnotherThreadWakesWaitersOnEveryEventLoop) {
  ChangeHub hub;
  constexpr int kLoops = 3;
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<std::optional<bool>> woken(kLoops);
  std::vector<std::thread> threads;
  for (int i = 0; i < kLoops; ++i) {
    loops.push_back(std::make_unique<asio::io_context>(1));
    start_wait(*loops.back(), hub, "cam", 20s, &woken[i]);
  }
  for (auto& loop : loops)
    threads.emplace_back([&loop] { loop->run(); });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (hub.waiting() < kLoops && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(hub.waiting(), std::size_t{kLoops});
  const auto start = std::chrono::steady_clock::now();
  hub.notify("cam");
  for (auto& t : threads)
    t.join();  // each loop ends once its waiter has returned
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  for (const auto& w : woken)
    EXPECT_EQ(w, std::optional<bool>(true));
  EXPECT_EQ(hub.waiting(), 0u);
}

// A wake-up racing with the end of a wait must not touch a finished waiter (run under ASan).
TEST(ChangeHubTest, NotifyRacingWithTimeoutsIsSafe) {
  ChangeHub hub;
  asio::io_context loop(1);
  std::vector<std::optional<bool>> results(200);
  for (auto& r : results)
    start_wait(loop, hub, "cam", 1ms, &r);
  std::thread notifier([&] {
    for (int i = 0; i < 2000; ++i)
      hub.notify("cam");
  });
  loop.run();
  notifier.join();
  for (const auto& r : results)
    EXPECT_TRUE(r.has_value());
  EXPECT_EQ(hub.waiting(), 0u);
}

TEST(ChangeHubTest, AfterShutDownWaitsEndAtOnce) {
  asio::io_context context;
  ChangeHub hub;
  std::optional<bool> before, after;
  start_wait(context, hub, "a", 10s, &before);
  context.poll();
  hub.shut_down();
  start_wait(context, hub, "a", 10s, &after);
  const auto start = std::chrono::steady_clock::now();
  context.run_for(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(before, std::optional<bool>(true));
  EXPECT_EQ(after, std::optional<bool>(true));
  EXPECT_EQ(hub.waiting(), 0u);
}

}  // namespace
}  // namespace ef::desired_state

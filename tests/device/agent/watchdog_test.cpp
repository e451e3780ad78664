// The agent's watchdog feeder against a stand-in for systemd's notify socket: it pings while the
// agent shows signs of life, stops when the agent hangs, resumes when it comes back, and stays
// silent when the watchdog variables are not meant for it.
#include "device/agent/watchdog.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "notify_receiver.hpp"
#include "temp_dir_test.hpp"

namespace ef {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class WatchdogTest : public testing::TempDirTest {
 public:
  void SetUp() override {
    TempDirTest::SetUp();
    socket_ = (dir_ / "notify").string();
    ::setenv("NOTIFY_SOCKET", socket_.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "150000", 1);  // 150 ms: a ping every 50 ms while alive
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    TempDirTest::TearDown();
  }

  // Calls alive() every 20 ms for `span`.
  static void keep_alive(agent::Watchdog& watchdog, std::chrono::milliseconds span) {
    for (auto end = Clock::now() + span; Clock::now() < end;) {
      watchdog.alive();
      std::this_thread::sleep_for(20ms);
    }
  }

  std::string socket_;
};

TEST_F(WatchdogTest, PingsWhileAliveStopsWhenHungAndResumes) {
  testing::NotifyReceiver systemd(socket_);
  agent::Watchdog watchdog;
  keep_alive(watchdog, 500ms);
  EXPECT_EQ(systemd.receive(1s), "WATCHDOG=1");
  EXPECT_GE(systemd.drain(), 3);  // about ten in 500 ms; a loaded machine may manage fewer

  // A hang: no alive() for well over the interval. Pings stop within one interval.
  std::this_thread::sleep_for(600ms);
  systemd.drain();
  EXPECT_EQ(systemd.receive(600ms), std::nullopt);

  keep_alive(watchdog, 300ms);
  EXPECT_EQ(systemd.receive(1s), "WATCHDOG=1");
}

TEST_F(WatchdogTest, StopsPromptlyEvenWithALongInterval) {
  ::setenv("WATCHDOG_USEC", "120000000", 1);  // the unit's 120 s: pings 40 s apart
  testing::NotifyReceiver systemd(socket_);
  const auto start = Clock::now();
  {
    agent::Watchdog watchdog;
    EXPECT_EQ(systemd.receive(2s), "WATCHDOG=1");  // the first ping goes out at once
  }
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST_F(WatchdogTest, SilentWhenTheVariablesAreNotForIt) {
  testing::NotifyReceiver systemd(socket_);
  for (const char* usec : {"abc", "0", "-150000", "99999999999999999999999"}) {
    ::setenv("WATCHDOG_USEC", usec, 1);
    agent::Watchdog watchdog;
    keep_alive(watchdog, 100ms);
  }
  ::setenv("WATCHDOG_USEC", "150000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getppid()).c_str(), 1);  // the parent's watchdog
  {
    agent::Watchdog watchdog;
    keep_alive(watchdog, 200ms);
  }
  EXPECT_EQ(systemd.receive(100ms), std::nullopt);
}

TEST_F(WatchdogTest, NoSocketNoThreadNoCrash) {
  ::unsetenv("NOTIFY_SOCKET");
  agent::Watchdog watchdog;
  keep_alive(watchdog, 100ms);
  SUCCEED();
}

}  // namespace
}  // namespace ef

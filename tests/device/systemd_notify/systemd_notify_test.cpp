// systemd's notify protocol without libsystemd: datagrams to a real socket (path and abstract
// name), the no-systemd case, names that cannot work, and hostile watchdog variables.
#include "device/systemd_notify/systemd_notify.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "notify_receiver.hpp"
#include "temp_dir_test.hpp"

namespace ef {
namespace {

using namespace std::chrono_literals;
using systemd_notify::notify;
using systemd_notify::notify_to;
using systemd_notify::parse_watchdog;
using testing::NotifyReceiver;

// Sets (or with nothing, unsets) an environment variable for one test, then puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class SystemdNotify : public testing::TempDirTest {
 public:
  // A unique abstract name for this process and test.
  std::string abstract_name() const { return "@ef-notify-test-" + std::to_string(::getpid()); }
  // An absolute path under dir_ exactly `length` bytes long.
  std::string path_of_length(std::size_t length) const {
    std::string path = (dir_ / "s").string();
    path.append(length - path.size(), 'x');
    return path;
  }
};

TEST_F(SystemdNotify, SendsOneDatagramToASocketPath) {
  const std::string path = (dir_ / "notify").string();
  NotifyReceiver systemd(path);
  ASSERT_TRUE(notify_to(path, "READY=1"));
  ASSERT_TRUE(notify_to(path, "WATCHDOG=1"));
  EXPECT_EQ(systemd.receive(2s), "READY=1");
  EXPECT_EQ(systemd.receive(2s), "WATCHDOG=1");
  EXPECT_EQ(systemd.receive(0ms), std::nullopt);
}

TEST_F(SystemdNotify, SendsToAnAbstractNameWithTheExactAddressLength) {
  NotifyReceiver systemd(abstract_name());  // bound without a trailing NUL: the length must match
  ASSERT_TRUE(notify_to(abstract_name(), "STOPPING=1"));
  EXPECT_EQ(systemd.receive(2s), "STOPPING=1");
}

TEST_F(SystemdNotify, ReadsTheSocketFromTheEnvironment) {
  const std::string path = (dir_ / "notify").string();
  NotifyReceiver systemd(path);
  ScopedEnv env("NOTIFY_SOCKET", path);
  EXPECT_EQ(systemd_notify::socket_from_env(), path);
  ASSERT_TRUE(notify("READY=1"));
  EXPECT_EQ(systemd.receive(2s), "READY=1");
}

TEST_F(SystemdNotify, WithoutNotifySocketDoesNothingAndSucceeds) {
  const std::string path = (dir_ / "notify").string();
  NotifyReceiver systemd(path);
  {
    ScopedEnv env("NOTIFY_SOCKET", std::nullopt);
    EXPECT_EQ(systemd_notify::socket_from_env(), std::nullopt);
    EXPECT_TRUE(notify("READY=1"));
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "");
    EXPECT_EQ(systemd_notify::socket_from_env(), std::nullopt);
    EXPECT_TRUE(notify("READY=1"));
  }
  EXPECT_EQ(systemd.receive(100ms), std::nullopt);
}

TEST_F(SystemdNotify, AcceptsTheLongestAddressesAndRefusesLongerOnes) {
  // sun_path holds 108 bytes: a path of 107 and its NUL, or '@' plus 107 bytes of abstract name.
  const std::string longest_path = path_of_length(107);
  NotifyReceiver at_path(longest_path);
  ASSERT_TRUE(notify_to(longest_path, "READY=1"));
  EXPECT_EQ(at_path.receive(2s), "READY=1");

  const std::string longest_abstract =
      abstract_name() + std::string(108 - abstract_name().size(), 'y');
  NotifyReceiver at_abstract(longest_abstract);
  ASSERT_TRUE(notify_to(longest_abstract, "READY=1"));
  EXPECT_EQ(at_abstract.receive(2s), "READY=1");

  auto long_path = notify_to(path_of_length(108), "READY=1");
  ASSERT_FALSE(long_path);
  EXPECT_EQ(long_path.error().code, Errc::too_large);
  auto long_abstract = notify_to(longest_abstract + "y", "READY=1");
  ASSERT_FALSE(long_abstract);
  EXPECT_EQ(long_abstract.error().code, Errc::too_large);
  auto very_long = notify_to("/" + std::string(5000, 'z'), "READY=1");
  ASSERT_FALSE(very_long);
  EXPECT_EQ(very_long.error().code, Errc::too_large);
}

TEST_F(SystemdNotify, RefusesNamesItCannotUse) {
  for (const char* name : {"relative/notify", "notify", "vsock:2:1234", "./notify"}) {
    auto sent = notify_to(name, "READY=1");
    ASSERT_FALSE(sent) << name;
    EXPECT_EQ(sent.error().code, Errc::unsupported) << name;
  }
  ScopedEnv env("NOTIFY_SOCKET", "relative/notify");
  EXPECT_FALSE(notify("READY=1"));  // a manager that set a name we cannot use is told nothing
  EXPECT_FALSE(notify_to((dir_ / "notify").string(), ""));  // an empty state says nothing
}

TEST_F(SystemdNotify, NobodyListeningIsAnErrorNotACrash) {
  auto sent = notify_to((dir_ / "nobody").string(), "READY=1");
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, Errc::io);
  EXPECT_NE(sent.error().message.find("nobody"), std::string::npos) << sent.error().message;
}

TEST_F(SystemdNotify, AManagerThatStopsReadingGetsAnErrorNotAHungCaller) {
  const std::string path = (dir_ / "notify").string();
  NotifyReceiver systemd(path);  // never reads: its queue fills (net.unix.max_dgram_qlen)
  bool refused = false;
  for (int i = 0; i < 100000 && !refused; ++i) {
    auto sent = notify_to(path, "WATCHDOG=1");
    if (!sent) {
      EXPECT_EQ(sent.error().code, Errc::io);
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_GT(systemd.drain(), 0);
  EXPECT_TRUE(notify_to(path, "WATCHDOG=1"));  // and works again once the manager reads
}

TEST(SystemdWatchdog, UnsetMeansNoWatchdog) {
  auto none = parse_watchdog(std::nullopt, std::nullopt, 42);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, std::nullopt);
  auto pid_only = parse_watchdog(std::nullopt, "42", 42);
  ASSERT_TRUE(pid_only);
  EXPECT_EQ(*pid_only, std::nullopt);
}

TEST(SystemdWatchdog, ReadsTheIntervalMeantForThisProcess) {
  auto no_pid = parse_watchdog("120000000", std::nullopt, 42);
  ASSERT_TRUE(no_pid) << no_pid.error().message;
  EXPECT_EQ(*no_pid, std::chrono::microseconds(120000000));
  auto ours = parse_watchdog("1", "42", 42);
  ASSERT_TRUE(ours) << ours.error().message;
  EXPECT_EQ(*ours, std::chrono::microseconds(1));
  auto a_year = parse_watchdog("31536000000000", "42", 42);
  ASSERT_TRUE(a_year);
  EXPECT_EQ(*a_year, std::chrono::hours(24 * 365));
}

TEST(SystemdWatchdog, AnIntervalForAnotherProcessIsNotOurs) {
  auto theirs = parse_watchdog("120000000", "43", 42);
  ASSERT_TRUE(theirs) << theirs.error().message;
  EXPECT_EQ(*theirs, std::nullopt);
}

TEST(SystemdWatchdog, GarbledValuesAreErrors) {
  for (const char* usec : {"abc", "0", "-1", "-120000000", "+5", " 5", "5 ", "", "0x10", "1e6",
                           "12.5", "31536000000001", "18446744073709551615", "18446744073709551616",
                           "99999999999999999999999999"}) {
    auto parsed = parse_watchdog(usec, std::nullopt, 42);
    ASSERT_FALSE(parsed) << '"' << usec << '"';
    EXPECT_EQ(parsed.error().code, Errc::malformed);
    EXPECT_NE(parsed.error().message.find("WATCHDOG_USEC"), std::string::npos);
  }
  for (const char* pid : {"abc", "0", "-42", "", " 42", "42x", "4294967338", "99999999999999"}) {
    auto parsed = parse_watchdog("120000000", pid, 42);
    ASSERT_FALSE(parsed) << '"' << pid << '"';
    EXPECT_EQ(parsed.error().code, Errc::malformed);
    EXPECT_NE(parsed.error().message.find("WATCHDOG_PID"), std::string::npos);
  }
}

TEST(SystemdWatchdog, ReadsTheEnvironmentOfThisProcess) {
  ScopedEnv usec("WATCHDOG_USEC", "30000000");
  {
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()));
    auto ours = systemd_notify::watchdog_interval();
    ASSERT_TRUE(ours);
    EXPECT_EQ(*ours, std::chrono::seconds(30));
  }
  {
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getppid()));
    auto parents = systemd_notify::watchdog_interval();
    ASSERT_TRUE(parents);
    EXPECT_EQ(*parents, std::nullopt);
  }
  ScopedEnv garbled("WATCHDOG_USEC", "abc");
  EXPECT_FALSE(systemd_notify::watchdog_interval());
}

}  // namespace
}  // namespace ef

// Fail points: every one on the update path is listed (so arming checks names), none fires
// unless armed, and an armed one kills the process at exactly the n-th hit.
#include "device/agent/fail_point.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <regex>
#include <set>
#include <string>

#include "core/common/fs.hpp"

namespace ef::agent {
namespace {

// Runs body in a forked child; returns its wait status.
int in_child(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool killed(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(FailPoint, EveryFailPointOnTheUpdatePathIsListed) {
  auto source =
      read_file(std::string(EF_SOURCE_DIR) + "/src/device/agent/update_engine.cpp", 1 << 20);
  ASSERT_TRUE(source);
  std::set<std::string> used;
  const std::regex call(R"re(fail_point\("([a-z_]+)"\))re");
  for (std::sregex_iterator it(source->begin(), source->end(), call), end; it != end; ++it)
    used.insert((*it)[1]);
  const std::set<std::string> listed(kFailPoints.begin(), kFailPoints.end());
  EXPECT_EQ(used, listed);
}

TEST(FailPoint, UnknownNamesAndBadCountsAreRefused) {
  for (const char* bad : {"no_such_point", "staged:0", "staged:x", "staged:", "staged:2x"}) {
    ::setenv("EDGEFLEET_FAIL_POINT", bad, 1);
    auto armed = arm_fail_point_from_environment();
    ASSERT_FALSE(armed) << bad;
    EXPECT_EQ(armed.error().code, Errc::invalid_argument) << bad;
  }
  ::unsetenv("EDGEFLEET_FAIL_POINT");
  auto none = arm_fail_point_from_environment();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(FailPoint, NeverFiresUnlessArmed) {
  // The variable alone does not arm: only arm_fail_point_from_environment() does.
  const int status = in_child([] {
    ::setenv("EDGEFLEET_FAIL_POINT", "staged", 1);
    for (auto name : kFailPoints)
      fail_point(name);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(FailPoint, AnArmedPointKillsAtTheNthHitOnly) {
  if (!EF_FAIL_POINTS) GTEST_SKIP() << "built with EF_FAIL_POINTS=OFF";
  const int second = in_child([] {
    ::setenv("EDGEFLEET_FAIL_POINT", "blob_downloaded:2", 1);
    if (!arm_fail_point_from_environment()) ::_exit(3);
    fail_point("staged");           // another point: nothing
    fail_point("blob_downloaded");  // first hit: nothing
    fail_point("blob_downloaded");  // second hit: SIGKILL
    ::_exit(4);
  });
  EXPECT_TRUE(killed(second)) << second;
  const int once = in_child([] {
    ::setenv("EDGEFLEET_FAIL_POINT", "blob_downloaded:2", 1);
    if (!arm_fail_point_from_environment()) ::_exit(3);
    fail_point("blob_downloaded");
  });
  EXPECT_TRUE(WIFEXITED(once) && WEXITSTATUS(once) == 0) << once;
}

}  // namespace
}  // namespace ef::agent

// The supervisor with small shell commands as children: restarts with back-off, exit reasons,
// paused restarts, process groups, and an idle monitor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <thread>
#include "core/common/fs.hpp"
#include "device/supervisor/supervisor.hpp"
#include "temp_dir_test.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Dir = testing::TempDirTest;

using Supervisor = Dir;

TEST_F(Supervisor, RestartsACrashedChildWithBackoffAndStopsItsGroup) {
  supervisor::Supervisor sup;
  write("crash.sh", "#!/bin/sh\necho started >> starts.log\nsleep 0.2\nexit 7\n");
  fs::permissions(dir_ / "crash.sh", fs::perms::owner_all);
  sup.start({{(dir_ / "crash.sh").string()}, dir_, {}, dir_ / "out.log"});
  std::this_thread::sleep_for(2500ms);  // runs at 0, ~1.2 s, ~3.2 s: two or three starts
  auto snap = sup.snapshot();
  EXPECT_GE(snap.starts, 2);
  EXPECT_LE(snap.starts, 3);
  EXPECT_EQ(snap.last_exit.substr(0, 6), "exit 7");
  sup.stop();
  const int starts = snap.starts;
  std::this_thread::sleep_for(1500ms);
  EXPECT_LE(sup.snapshot().starts, starts + 1);
  EXPECT_FALSE(sup.snapshot().running);
}

TEST_F(Supervisor, NoRestartsWhilePausedAndExecFailuresAreReported) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  sup.start({{"/bin/sh", "-c", "exit 2"}, dir_, {}, {}});
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(sup.snapshot().starts, 1);
  EXPECT_EQ(sup.snapshot().last_exit, "exit 2");
  sup.start({{(dir_ / "missing").string()}, dir_, {}, {}});
  EXPECT_NE(sup.snapshot().last_exit.find("cannot start"), std::string::npos)
      << sup.snapshot().last_exit;
}

TEST_F(Supervisor, StopEndsTheWholeProcessGroup) {
  supervisor::Supervisor sup;
  sup.start({{"/bin/sh", "-c", "sleep 300 & echo $! > child.pid; wait"}, dir_, {}, {}});
  for (int i = 0; i < 50 && !fs::exists(dir_ / "child.pid"); ++i)
    std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(50ms);
  const pid_t child = std::stoi(*read_file(dir_ / "child.pid", 100));
  sup.stop(500ms);
  std::this_thread::sleep_for(100ms);
  // Gone, or a zombie waiting for init to reap it: either way no longer running.
  auto stat = read_file("/proc/" + std::to_string(child) + "/stat", 4096);
  const bool alive = stat && stat->find(") Z ") == std::string::npos;
  EXPECT_FALSE(alive) << "the runtime's own child survived";
}

// Voluntary context switches of every thread of this process: how often they went to sleep.
long voluntary_switches() {
  long total = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with("voluntary_ctxt_switches:")) total += std::stol(line.substr(24));
  }
  return total;
}

TEST_F(Supervisor, SleepsWhileTheChildRunsAndStillSeesItsExit) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  sup.start({{"/bin/sh", "-c", "sleep 1.5; exit 4"}, dir_, {}, {}});
  std::this_thread::sleep_for(100ms);
  const long before = voluntary_switches();
  std::this_thread::sleep_for(1000ms);
  // This thread's own sleep is one; a monitor that polled every 50 ms would add about 20.
  EXPECT_LE(voluntary_switches() - before, 4) << "the monitor woke up while nothing happened";
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (sup.snapshot().exits == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(sup.snapshot().last_exit, "exit 4");
  EXPECT_FALSE(sup.snapshot().running);
}

// Waits until the child has exited `exits` times (or 5 s passed).
void wait_exits(const supervisor::Supervisor& sup, int exits) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (sup.snapshot().exits < exits && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
}

TEST_F(Supervisor, NamesTheSignalThatKilledTheChild) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  sup.start({{"/bin/sh", "-c", "kill -SEGV $$"}, dir_, {}, {}});
  wait_exits(sup, 1);
  EXPECT_EQ(sup.snapshot().last_exit, "signal 11 (Segmentation fault)");
  sup.start({{"/bin/sh", "-c", "kill -KILL $$"}, dir_, {}, {}});
  wait_exits(sup, 1);
  EXPECT_EQ(sup.snapshot().last_exit, "signal 9 (Killed)");
}

TEST_F(Supervisor, ACwdThatIsGoneIsACannotStartNotACrash) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  sup.start({{"/bin/true"}, dir_ / "no-such-release", {}, {}});
  const auto snap = sup.snapshot();
  EXPECT_FALSE(snap.running);
  EXPECT_EQ(snap.exits, 1);
  EXPECT_EQ(snap.last_exit, "cannot start /bin/true: No such file or directory");
  sup.start({{}, dir_, {}, {}});
  EXPECT_EQ(sup.snapshot().last_exit, "cannot start: empty command");
}

TEST_F(Supervisor, RestartsOfAProgramThatCannotStartBackOffToo) {
  supervisor::Supervisor sup;
  sup.start({{(dir_ / "missing").string()}, dir_, {}, {}});
  std::this_thread::sleep_for(2500ms);  // tries at 0, ~1 s, ~3 s: not every second, not busy
  const auto snap = sup.snapshot();
  EXPECT_GE(snap.starts, 2);
  EXPECT_LE(snap.starts, 3);
  EXPECT_FALSE(snap.running);
}

TEST_F(Supervisor, TheChildGetsItsEnvironmentFolderAndLog) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  ::setenv("EF_SUPERVISOR_TEST_KEEP", "kept", 1);
  ::setenv("EF_SUPERVISOR_TEST_OVERRIDE", "agent", 1);
  sup.start(
      {{"/bin/sh", "-c",
        "echo \"$EF_SUPERVISOR_TEST_KEEP $EF_SUPERVISOR_TEST_OVERRIDE $(pwd)\"; echo err >&2"},
       dir_,
       {{"EF_SUPERVISOR_TEST_OVERRIDE", "spec"}},
       dir_ / "out.log"});
  wait_exits(sup, 1);
  EXPECT_EQ(sup.snapshot().last_exit, "exit 0");
  EXPECT_EQ(*read_file(dir_ / "out.log", 4096), "kept spec " + dir_.string() + "\nerr\n");
}

}  // namespace
}  // namespace ef

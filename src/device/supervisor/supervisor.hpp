// Runs the release's program (the runtime) as a child process and restarts it with back-off
// when it dies. The child gets its own process group (so stop() also ends its children), the
// release folder as working directory, and its output appended to a log file.
//
// Restarts wait 1 s, 2 s, 4 s ... up to 60 s; a child that ran for 60 s resets the back-off.
// While restarts are paused (during a release's trial) a crash is recorded and left alone, so
// the health gate sees it. Thread-safe.
//
// The monitor thread sleeps in poll() on a pidfd of the child and an eventfd for requests, so an
// idle device's agent does not wake up at all until the runtime exits or a restart is due.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/common/backoff.hpp"

namespace ef::supervisor {

struct LaunchSpec {
  std::vector<std::string> argv;  // argv[0] relative to cwd or absolute
  std::filesystem::path cwd;
  std::map<std::string, std::string> env;  // added to the agent's environment
  std::filesystem::path log_file;
};

struct Snapshot {
  bool running = false;
  pid_t pid = 0;
  int starts = 0;         // since the last start()
  int exits = 0;          // since the last start()
  std::string last_exit;  // "exit 3", "signal 11 (Segmentation fault)", "cannot exec: ..."
  std::chrono::steady_clock::time_point started_at{};
};

class Supervisor {
 public:
  Supervisor();
  ~Supervisor();  // stops the child
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Stops any running child and starts `spec` now, with fresh counters.
  void start(LaunchSpec spec);
  // Stops the child: SIGTERM to its group, SIGKILL after `grace`. No restarts until start().
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void set_restarts(bool enabled);

  Snapshot snapshot() const;

 private:
  void monitor();
  void spawn_locked();
  void start_failed_locked(std::string why);
  void kill_locked(std::chrono::milliseconds grace, std::unique_lock<std::mutex>& lock);
  void reaped_locked();
  void wake();

  mutable std::mutex mu_;
  int wake_fd_ = -1;   // eventfd: written whenever the monitor must look again
  int child_fd_ = -1;  // pidfd of the running child; -1 where the kernel has none (< 5.3)
  std::optional<LaunchSpec> spec_;
  Snapshot snap_;
  bool restarts_ = true;
  bool quit_ = false;
  // Restarts wait 1 s, doubling to 60 s; a run longer than 60 s starts again at 1 s.
  Backoff backoff_{{.initial = std::chrono::seconds(1), .max = std::chrono::seconds(60)}};
  std::optional<std::chrono::steady_clock::time_point> restart_at_;
  std::thread thread_;
};

}  // namespace ef::supervisor

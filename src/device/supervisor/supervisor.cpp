#include "device/supervisor/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

extern char** environ;

namespace ef::supervisor {

using Clock = std::chrono::steady_clock;

Supervisor::Supervisor()
    : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), thread_([this] { monitor(); }) {}

Supervisor::~Supervisor() {
  stop(std::chrono::seconds(5));
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake();
  thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Supervisor::wake() {
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
}

void Supervisor::start(LaunchSpec spec) {
  std::unique_lock lock(mu_);
  kill_locked(std::chrono::seconds(5), lock);
  spec_ = std::move(spec);
  snap_ = Snapshot{};
  backoff_.reset();
  restart_at_.reset();
  spawn_locked();
  wake();
}

void Supervisor::stop(std::chrono::milliseconds grace) {
  std::unique_lock lock(mu_);
  spec_.reset();
  restart_at_.reset();
  kill_locked(grace, lock);
  wake();
}

void Supervisor::set_restarts(bool enabled) {
  std::lock_guard lock(mu_);
  restarts_ = enabled;
  if (!enabled) restart_at_.reset();
  wake();
}

Snapshot Supervisor::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

namespace {

// Everything the child needs, prepared before fork: after it, only async-signal-safe calls.
struct ExecArgs {
  std::vector<std::string> env_strings;
  std::vector<std::string> args;
  std::vector<char*> envp, argv;
  std::string cwd, log;

  explicit ExecArgs(const LaunchSpec& spec) : args(spec.argv), cwd(spec.cwd), log(spec.log_file) {
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      const auto eq = entry.find('=');
      if (eq != std::string::npos && spec.env.contains(entry.substr(0, eq))) continue;
      env_strings.push_back(entry);
    }
    for (const auto& [k, v] : spec.env)
      env_strings.push_back(k + "=" + v);
    for (auto& s : env_strings)
      envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : args)
      argv.push_back(s.data());
    argv.push_back(nullptr);
  }
};

// In the forked child: its own process group, output to the log, then exec. On failure the errno
// goes up err_fd (close-on-exec, so the parent reads nothing when exec succeeds).
[[noreturn]] void exec_child(const ExecArgs& x, int err_fd) {
  ::setpgid(0, 0);
  // If the agent dies (kill -9, power cut of the service), its runtime goes too, so a restarted
  // agent never finds an orphan holding the control socket.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!x.log.empty()) {
    const int fd = ::open(x.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
  }
  if (::chdir(x.cwd.c_str()) == 0) ::execve(x.argv[0], x.argv.data(), x.envp.data());
  const int e = errno;
  (void)!::write(err_fd, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

void Supervisor::spawn_locked() {
  ExecArgs x(*spec_);
  int err_pipe[2];
  if (x.args.empty() || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    snap_.last_exit =
        "cannot start: " + std::string(x.args.empty() ? "empty command" : std::strerror(errno));
    ++snap_.exits;
    return;
  }
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(x, err_pipe[1]);
  const int fork_errno = errno;
  ::close(err_pipe[1]);
  int child_errno = 0;
  const bool exec_failed =
      pid > 0 && ::read(err_pipe[0], &child_errno, sizeof child_errno) == sizeof child_errno;
  ::close(err_pipe[0]);
  ++snap_.starts;
  snap_.started_at = Clock::now();
  if (pid < 0 || exec_failed) {
    if (pid > 0) ::waitpid(pid, nullptr, 0);
    start_failed_locked("cannot start " + x.args[0] + ": " +
                        std::strerror(pid < 0 ? fork_errno : child_errno));
    return;
  }
  snap_.running = true;
  snap_.pid = pid;
  // The child is ours to reap, so its pid cannot be reused before this opens it.
  // (glibc 2.36's <sys/pidfd.h> lacks extern "C", hence the raw system call.)
  child_fd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

void Supervisor::start_failed_locked(std::string why) {
  snap_.running = false;
  snap_.pid = 0;
  ++snap_.exits;
  snap_.last_exit = std::move(why);
  if (restarts_) restart_at_ = Clock::now() + backoff_.next();
}

void Supervisor::reaped_locked() {
  snap_.running = false;
  snap_.pid = 0;
  if (child_fd_ >= 0) ::close(child_fd_);
  child_fd_ = -1;
}

void Supervisor::kill_locked(std::chrono::milliseconds grace, std::unique_lock<std::mutex>& lock) {
  if (!snap_.running) return;
  const pid_t pid = snap_.pid;
  ::kill(-pid, SIGTERM);
  const auto deadline = Clock::now() + grace;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lock.lock();
  }
  ::kill(-pid, SIGKILL);  // anything left in its group
  reaped_locked();
  snap_.last_exit = "stopped";
}

void Supervisor::monitor() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    // Sleep until the child exits, a request arrives, or a pending restart is due. Without a
    // pidfd or eventfd, look every 50 ms. Whoever changes the state writes wake_fd_ afterwards,
    // so a pidfd closed while this polls it only costs one spurious look.
    int timeout_ms = -1;
    if (!snap_.running && restart_at_ && spec_ && restarts_) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*restart_at_ - Clock::now());
      timeout_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    if (wake_fd_ < 0 || (snap_.running && child_fd_ < 0))
      timeout_ms = timeout_ms < 0 ? 50 : std::min(timeout_ms, 50);
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {snap_.running ? child_fd_ : -1, POLLIN, 0}};
    lock.unlock();
    ::poll(fds, 2, timeout_ms);
    std::uint64_t drained = 0;
    (void)!::read(wake_fd_, &drained, sizeof drained);
    lock.lock();
    if (quit_) break;
    if (snap_.running) {
      int status = 0;
      const pid_t r = ::waitpid(snap_.pid, &status, WNOHANG);
      const bool lost = r < 0 && errno == ECHILD;  // reaped by someone else: gone all the same
      if (r == snap_.pid || lost) {
        ::kill(-snap_.pid, SIGKILL);
        reaped_locked();
        ++snap_.exits;
        if (lost) {
          snap_.last_exit = "exited (status unknown)";
        } else if (WIFEXITED(status)) {
          snap_.last_exit = "exit " + std::to_string(WEXITSTATUS(status));
        } else if (WIFSIGNALED(status)) {
          snap_.last_exit = "signal " + std::to_string(WTERMSIG(status)) + " (" +
                            strsignal(WTERMSIG(status)) + ")";
        }
        const auto ran = Clock::now() - snap_.started_at;
        if (ran > std::chrono::seconds(60)) backoff_.reset();
        if (restarts_ && spec_) restart_at_ = Clock::now() + backoff_.next();
      }
    }
    if (!snap_.running && restart_at_ && spec_ && restarts_ && Clock::now() >= *restart_at_) {
      restart_at_.reset();
      spawn_locked();
    }
  }
}

}  // namespace ef::supervisor

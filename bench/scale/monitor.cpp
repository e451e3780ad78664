#include "monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

namespace ef::scale {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

long long monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
double monotonic_seconds() {
  return static_cast<double>(monotonic_ns()) / 1e9;
}

Monitor::~Monitor() {
  for (auto& g : generators_) {
    if (g->input >= 0) ::close(g->input);
    if (g->pid > 0) ::kill(g->pid, SIGKILL);
    if (g->reader.joinable()) g->reader.join();
    if (g->pid > 0) ::waitpid(g->pid, nullptr, 0);
  }
}

Status Monitor::start_generators(const std::vector<fs::path>& identities,
                                 const std::vector<std::string>& args, const fs::path& log) {
  started_ = monotonic_seconds();
  count_ = identities.size();
  ::truncate(log.c_str(), 0);
  for (std::size_t g = 0; g < identities.size(); ++g) {
    std::vector<std::string> argv = {"/proc/self/exe", "--generator", identities[g].string(),
                                     "--offset", std::to_string(g)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv)
      cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
      return make_error(Errc::io, "pipes for a generator");
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err, 2);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err);
    if (pid < 0) return make_error(Errc::io, "fork for a generator");
    auto gen = std::make_unique<Generator>();
    gen->pid = pid;
    gen->input = in[1];
    std::lock_guard lock(mu_);  // the readers already running look at generators_
    generators_.push_back(std::move(gen));
    generators_.back()->reader = std::thread([this, g, fd = out[0]] { read(g, fd); });
  }
  return {};
}

void Monitor::read(std::size_t g, int fd) {
  FILE* in = ::fdopen(fd, "r");
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, in) != nullptr) {
    std::istringstream line(buffer);
    std::string kind;
    line >> kind;
    std::lock_guard lock(mu_);
    if (kind == "tick") {
      long checkins = 0, errors = 0, failures = 0, updates = 0, telemetry = 0;
      double p99 = 0;
      line >> generators_[g]->connected >> checkins >> errors >> failures >> updates >> p99 >>
          telemetry;
      pending_.telemetry += telemetry;
      pending_.checkins += checkins;
      pending_.errors += errors;
      pending_.io_failures += failures;
      pending_.updates += updates;
      pending_.p99_ms = std::max(pending_.p99_ms, p99);
    } else if (kind == "update") {
      std::size_t index = 0;
      Update u;
      line >> index >> u.first_ns >> u.count;
      const std::size_t device = index * count_ + g;
      if (updates_.size() <= device) updates_.resize(device + 1);
      updates_[device] = u;
    } else if (kind == "reconnected") {
      long long ns = 0;
      line >> ns;
      last_reconnect_ns_ = std::max(last_reconnect_ns_, ns);
    } else if (kind == "done") {
      generators_[g]->done = true;
    }
  }
  std::fclose(in);
}

long Monitor::connected() const {
  std::lock_guard lock(mu_);
  long sum = 0;
  for (const auto& g : generators_)
    sum += g->connected;
  return sum;
}

void Monitor::record(const std::string& phase) {
  Sample s;
  {
    std::lock_guard lock(mu_);
    s = pending_;
    pending_ = Sample{};
    for (const auto& g : generators_) {
      s.connected += g->connected;
      const auto stat = testing::read_proc(g->pid);
      s.generators.rss_kib += stat.rss_kib;
      s.generators.cpu_seconds += stat.cpu_seconds;
    }
  }
  s.t = monotonic_seconds() - started_;
  s.phase = phase;
  for (std::size_t r = 0; r < replicas_.size(); ++r)
    s.replicas.push_back(replicas_.stat(r));
  s.postgres = replicas_.postgres();
  samples_.push_back(std::move(s));
}

bool Monitor::sample_until(const std::string& phase, const std::function<bool()>& done,
                           double seconds) {
  const double start = monotonic_seconds();
  double next = start + 1;
  for (;;) {
    if (done()) {
      record(phase);  // what led to it counts in this phase, not the next
      return true;
    }
    const double now = monotonic_seconds();
    if (now >= next) {
      record(phase);
      next += 1;
    }
    if (now - start >= seconds) return false;
    std::this_thread::sleep_for(50ms);
  }
}

long Monitor::total(long Sample::*field, const std::string& since_phase) const {
  long sum = 0;
  bool counting = since_phase.empty();
  for (const auto& s : samples_) {
    counting = counting || s.phase == since_phase;
    if (counting) sum += s.*field;
  }
  std::lock_guard lock(mu_);
  return sum + pending_.*field;
}

Status Monitor::stop_generators() {
  for (auto& g : generators_) {
    ::close(g->input);
    g->input = -1;
  }
  std::string failed;
  for (auto& g : generators_) {
    g->reader.join();
    int status = 0;
    ::waitpid(g->pid, &status, 0);
    g->pid = -1;
    if (!g->done || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = "a generator failed";
  }
  if (!failed.empty()) return make_error(Errc::unhealthy, failed + " (see its log)");
  return {};
}

}  // namespace ef::scale

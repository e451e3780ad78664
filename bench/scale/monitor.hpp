// The coordinator's view of a run: it starts the generator processes (this program again, with
// --generator), reads their lines (generator.hpp), and once a second records a Sample of the
// whole system: the generators' counts summed, and each replica's and PostgreSQL's memory and CPU.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/result.hpp"
#include "replicas.hpp"

namespace ef::scale {

struct Sample {
  double t = 0;  // seconds since the generators started
  std::string phase;
  long connected = 0, checkins = 0, errors = 0, io_failures = 0, updates = 0, telemetry = 0;
  double p99_ms = 0;  // the highest of the generators' p99 of connecting check-ins
  std::vector<testing::ProcStat> replicas;
  testing::ProcStat postgres, generators;
};

// Per device that received the release: when first (CLOCK_MONOTONIC ns) and how many times.
struct Update {
  long long first_ns = 0;
  int count = 0;
};

class Monitor {
 public:
  explicit Monitor(const ReplicaSet& replicas) : replicas_(replicas) {}
  ~Monitor();

  // One generator per identities file; `args` are the generator's other options.
  Status start_generators(const std::vector<std::filesystem::path>& identities,
                          const std::vector<std::string>& args, const std::filesystem::path& log);
  // Records a sample every second until done() holds (checked every 50 ms) or `seconds` pass;
  // returns whether done() held.
  bool sample_until(const std::string& phase, const std::function<bool()>& done, double seconds);
  // Ends the generators (end-of-file on their stdin) and collects their final reports.
  Status stop_generators();

  long connected() const;
  long total(long Sample::*field, const std::string& since_phase = "") const;
  const std::vector<Sample>& samples() const { return samples_; }
  const std::vector<Update>& updates() const { return updates_; }
  long long last_reconnect_ns() const { return last_reconnect_ns_; }

 private:
  struct Generator {
    pid_t pid = -1;
    int input = -1;  // its stdin
    std::thread reader;
    long connected = 0;
    bool done = false;
  };
  void read(std::size_t g, int fd);
  void record(const std::string& phase);

  const ReplicaSet& replicas_;
  std::vector<std::unique_ptr<Generator>> generators_;
  mutable std::mutex mu_;
  Sample pending_;  // counts since the last sample (guarded by mu_)
  std::vector<Sample> samples_;
  std::vector<Update> updates_;  // indexed by device: generator g holds devices g, g+G, ...
  long long last_reconnect_ns_ = 0;
  double started_ = 0;
  std::size_t count_ = 0;  // generators
};

double monotonic_seconds();
long long monotonic_ns();

}  // namespace ef::scale

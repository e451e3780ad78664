// The system under test: a throwaway PostgreSQL cluster (tests/support/postgres_cluster) and R
// edgefleet-server processes on it, sharing one data folder (fleet CA, release repository) and one
// public URL, each on its own port on 127.0.0.1. Replica 0 is the Fleet (tests/support), whose
// CLI is the operator's; the others are started after it, once it has migrated the database.
// Everything is stopped, and the folders removed, when the ReplicaSet is destroyed.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "fleet_processes.hpp"
#include "postgres_cluster.hpp"
#include "proc_stat.hpp"

namespace ef::scale {

struct ReplicaOptions {
  int replicas = 3;
  int threads = 0;    // --threads of each replica (0: one per core)
  int max_wait = 60;  // --max-wait: how often an idle device renews its long-poll
  std::filesystem::path dir;
  std::vector<std::string> extra_args;  // for every replica, e.g. --prometheus-url
};

class ReplicaSet {
 public:
  static Result<std::unique_ptr<ReplicaSet>> start(const ReplicaOptions& options);
  ~ReplicaSet();

  testing::Fleet& fleet() { return *fleet_; }
  const std::vector<int>& ports() const { return ports_; }
  std::size_t size() const { return pids_.size(); }
  pid_t pid(std::size_t r) const { return pids_[r]; }
  // SIGKILL, as a crash or a lost machine: no graceful end of its long-polls.
  void kill(std::size_t r);
  bool alive(std::size_t r) const { return pids_[r] > 0; }
  // Zeros for a killed replica.
  testing::ProcStat stat(std::size_t r) const;
  // PostgreSQL's memory: the proportional set size (Pss, shared pages split between the
  // processes sharing them) summed over the postmaster and its children, and their CPU time.
  testing::ProcStat postgres() const;

 private:
  ReplicaSet() = default;
  Status start_replicas(const ReplicaOptions& options, const std::string& database);

  std::unique_ptr<testing::PostgresCluster> cluster_;
  std::unique_ptr<testing::Fleet> fleet_;
  std::vector<pid_t> pids_;
  std::vector<int> ports_;
};

}  // namespace ef::scale

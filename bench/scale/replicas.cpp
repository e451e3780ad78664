#include "replicas.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

namespace ef::scale {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kServer = std::string(EF_BINARY_DIR) + "/apps/edgefleet-server/edgefleet-server";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every device connects from 127.0.0.1, and after a failover one replica holds more than a
// third of them: no per-source bound, as behind one large NAT.
std::vector<std::string> server_args(const ReplicaOptions& o, const std::string& database) {
  std::vector<std::string> args = {"--database",
                                   database,
                                   "--public-url",
                                   "https://fleet.scale.example:8443",
                                   "--threads",
                                   std::to_string(o.threads),
                                   "--max-wait",
                                   std::to_string(o.max_wait),
                                   "--max-connections-per-source",
                                   "1000000"};
  args.insert(args.end(), o.extra_args.begin(), o.extra_args.end());
  return args;
}

// The replicas' pids for the signal handler: an interrupted coordinator (Ctrl-C, a ctest
// timeout) takes them with it instead of leaving them serving. Generators end by themselves when
// their stdin closes; the PostgreSQL cluster has its own watchdog.
constexpr int kMaxReplicas = 16;
std::atomic<pid_t> g_replicas[kMaxReplicas];

void remember(std::size_t r, pid_t pid) {
  if (r < kMaxReplicas) g_replicas[r] = pid;
}

extern "C" void kill_replicas_and_exit(int signal) {
  for (auto& pid : g_replicas)
    if (const pid_t p = pid.load(); p > 0) ::kill(p, SIGKILL);
  ::_exit(128 + signal);
}

long kib_field(const std::string& file, const std::string& name) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name, 0) == 0) return std::stol(line.substr(name.size()));
  return 0;
}

}  // namespace

Result<std::unique_ptr<ReplicaSet>> ReplicaSet::start(const ReplicaOptions& o) {
  std::unique_ptr<ReplicaSet> set(new ReplicaSet());
  EF_TRY(set->cluster_, testing::PostgresCluster::start());
  EF_TRY(auto name, set->cluster_->create_database());
  try {
    set->fleet_ = std::make_unique<testing::Fleet>(o.dir);
    set->fleet_->start_server(server_args(o, set->cluster_->url(name)));
  } catch (const std::exception& e) {
    return make_error(Errc::unhealthy, std::string("the first replica: ") + e.what());
  }
  for (int signal : {SIGINT, SIGTERM, SIGHUP})
    ::signal(signal, kill_replicas_and_exit);
  set->pids_.push_back(set->fleet_->server_pid());
  remember(0, set->pids_.back());
  set->ports_.push_back(std::stoi(set->fleet_->url().substr(set->fleet_->url().rfind(':') + 1)));
  EF_CHECK(set->start_replicas(o, set->cluster_->url(name)));
  return set;
}

Status ReplicaSet::start_replicas(const ReplicaOptions& o, const std::string& database) {
  for (int r = 1; r < o.replicas; ++r) {
    const fs::path port_file = o.dir / ("port-" + std::to_string(r));
    std::vector<std::string> argv = {kServer,           "--data",      (o.dir / "server").string(),
                                     "--listen",        "127.0.0.1:0", "--port-file",
                                     port_file.string()};
    for (auto& a : server_args(o, database))
      argv.push_back(a);
    const fs::path log = o.dir / ("server-" + std::to_string(r) + ".log");
    pids_.push_back(testing::spawn({argv, {}, log}));
    remember(pids_.size() - 1, pids_.back());
    for (int i = 0; i < 400 && slurp(port_file).empty(); ++i)
      std::this_thread::sleep_for(25ms);
    const std::string port = slurp(port_file);
    if (port.empty())
      return make_error(Errc::unhealthy,
                        "replica " + std::to_string(r) + " did not start: " + slurp(log));
    ports_.push_back(std::stoi(port));
  }
  return {};
}

ReplicaSet::~ReplicaSet() {
  for (std::size_t r = 0; r < pids_.size(); ++r)
    remember(r, -1);
  for (std::size_t r = 1; r < pids_.size(); ++r)
    if (pids_[r] > 0) testing::stop_process(pids_[r]);
  fleet_.reset();    // replica 0, then its folder
  cluster_.reset();  // the database last
}

void ReplicaSet::kill(std::size_t r) {
  remember(r, -1);
  if (r == 0) {
    ::kill(fleet_->server_pid(), SIGKILL);  // the Fleet reaps it at its end
  } else {
    testing::stop_process(pids_[r], SIGKILL);
  }
  pids_[r] = -1;
}

testing::ProcStat ReplicaSet::stat(std::size_t r) const {
  return pids_[r] > 0 ? testing::read_proc(pids_[r]) : testing::ProcStat{};
}

testing::ProcStat ReplicaSet::postgres() const {
  const pid_t postmaster = std::atoi(slurp(cluster_->dir() / "data" / "postmaster.pid").c_str());
  testing::ProcStat sum;
  if (postmaster <= 0) return sum;
  DIR* proc = ::opendir("/proc");
  for (dirent* e = proc ? ::readdir(proc) : nullptr; e != nullptr; e = ::readdir(proc)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::istringstream stat(slurp("/proc/" + std::to_string(pid) + "/stat"));
    std::string skip, comm_end;
    pid_t parent = 0;
    // pid (comm) state ppid: comm may hold spaces, so read up to the ") ".
    std::getline(stat, skip, ')');
    stat >> comm_end >> parent;
    if (pid != postmaster && parent != postmaster) continue;
    sum.rss_kib += kib_field("/proc/" + std::to_string(pid) + "/smaps_rollup", "Pss:");
    sum.cpu_seconds += testing::read_proc(pid).cpu_seconds;
  }
  if (proc) ::closedir(proc);
  return sum;
}

}  // namespace ef::scale

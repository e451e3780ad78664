// A load test of edgefleet-server replicas on one PostgreSQL: many simulated devices, each with
// its own key, a certificate enrolled through the API and a real mutual-TLS long-poll, spread over
// generator processes (this program again, with --generator; generator.hpp). Phases:
//   connect   every device connects to a replica (round-robin), checks in and parks a long-poll;
//   steady    S seconds of idle traffic: long-polls renewed every --max-wait seconds;
//   assign    a release assigned to all through replica 0's CLI: when does each device get it;
//   failover  the last replica SIGKILLed: when are its devices parked on the others again, and
//             does any device get the release a second time.
// The figures are printed as a table (and written into --readme), the time series to --out as
// CSV and, with gnuplot installed, PNG plots. Exit status 1 when a device errs, misses the
// release or gets it twice, or the failover does not complete.
//
//   scale_bench [--replicas 3] [--devices 3000] [--generators N] [--steady 60] [--max-wait 60]
//               [--threads 0] [--telemetry] [--no-kill] [--plan] [--out DIR] [--readme FILE]
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>

#include "enrol.hpp"
#include "fake_release.hpp"
#include "generator.hpp"
#include "monitor.hpp"
#include "replicas.hpp"
#include "report.hpp"
#include "test_http_server.hpp"

namespace ef::scale {
namespace {

namespace fs = std::filesystem;
const std::string kRelease = "1.0.0";

struct Options {
  int replicas = 3, devices = 3000, generators = 0, threads = 0, max_wait = 60;
  double steady = 60;
  bool kill = true, plan = false, telemetry = false;
  fs::path out = "scale-run", readme;
  std::string command;
};

// Every device holds one descriptor in a generator and one in a replica (two each with telemetry,
// as the agent keeps a second connection for it); both are bounded by the open-file limit of a
// process (raised here to the hard limit, as the server does itself).
Status check_limits(Options& o) {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  const long limit = static_cast<long>(files.rlim_cur);
  const long per_device = o.telemetry ? 2 : 1;  // the telemetry connection is a second one
  const long per_generator = (limit - 200) * 9 / 10 / per_device;
  if (o.generators == 0)
    o.generators = static_cast<int>(std::max(2L, (o.devices + per_generator - 1) / per_generator));
  if ((o.devices + o.generators - 1) / o.generators > per_generator)
    return make_error(Errc::invalid_argument,
                      "more than " + std::to_string(per_generator) +
                          " devices per generator: the open-file limit is " +
                          std::to_string(limit));
  // The server keeps a tenth of its descriptors for itself (docs/server.md, --max-connections).
  const int survivors = o.kill && o.replicas > 1 ? o.replicas - 1 : o.replicas;
  if ((o.devices + survivors - 1) / survivors * per_device > limit * 9 / 10)
    return make_error(Errc::invalid_argument,
                      std::to_string(o.devices) + " devices on " + std::to_string(survivors) +
                          " replicas exceed a replica's connections (open-file limit " +
                          std::to_string(limit) + ", a tenth kept)");
  return {};
}

// Enrols every device and deals them to the generators' identities files: device i to i % G.
Result<std::vector<fs::path>> enrol_all(ReplicaSet& set, const Options& o, double& seconds) {
  const double start = monotonic_seconds();
  EF_TRY(auto all, enrol({.devices = o.devices,
                          .parallel = 8,
                          .ports = set.ports(),
                          .ca_file = set.fleet().ca_file(),
                          .admin_token = set.fleet().admin_token()}));
  seconds = monotonic_seconds() - start;
  std::vector<fs::path> files;
  for (int g = 0; g < o.generators; ++g) {
    std::vector<IdentityPem> mine;
    for (std::size_t i = static_cast<std::size_t>(g); i < all.size();
         i += static_cast<std::size_t>(o.generators))
      mine.push_back(all[i]);
    files.push_back(set.fleet().dir() / ("devices-" + std::to_string(g) + ".jsonl"));
    EF_CHECK(write_identities(files.back(), mine));
  }
  return files;
}

Status publish_release(ReplicaSet& set) {
  const fs::path src = set.fleet().dir() / ("src-" + kRelease);
  testing::write_fake_release(src, {});
  const std::string cli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";
  auto built = testing::run_command(cli + " release build " + src.string() + " --version " +
                                    kRelease + " --keys " + set.fleet().keys().string() +
                                    " --repo " + set.fleet().repo().string());
  if (built.exit_code != 0) return make_error(Errc::unhealthy, "release build: " + built.err);
  auto published = set.fleet().cli("release publish --repo " + set.fleet().repo().string());
  if (published.exit_code != 0)
    return make_error(Errc::unhealthy, "release publish: " + published.err);
  return {};
}

// The phases after enrolment; fills f from the samples and the generators' reports.
class Run {
 public:
  Run(ReplicaSet& set, const Options& o, Figures& f) : set_(set), o_(o), f_(f), monitor_(set) {}

  Status go(const std::vector<fs::path>& identities) {
    for (std::size_t r = 0; r < set_.size(); ++r)
      before_.push_back(set_.stat(r));
    std::string ports;
    for (int p : set_.ports())
      ports += (ports.empty() ? "" : ",") + std::to_string(p);
    EF_CHECK(monitor_.start_generators(
        identities,
        {"--ports", ports, "--ca", set_.fleet().ca_file(), "--wait", std::to_string(o_.max_wait),
         "--release", kRelease, o_.telemetry ? "--telemetry" : "--no-telemetry"},
        o_.out / "generators.log"));
    const long all = o_.devices;
    const double start = monotonic_seconds();
    if (!monitor_.sample_until(
            "connect", [&] { return monitor_.connected() >= all; }, 120 + o_.devices / 20.0))
      return make_error(Errc::timeout, "connect: " + std::to_string(monitor_.connected()) + " of " +
                                           std::to_string(all) + " connected");
    f_.connect_s = monotonic_seconds() - start;  // to the 50 ms and the generators' 1 s ticks
    monitor_.sample_until(
        "steady", [] { return false; }, o_.steady);
    steady_figures();
    EF_CHECK(assign());
    if (o_.kill && set_.size() > 1) EF_CHECK(failover());
    EF_CHECK(monitor_.stop_generators());
    final_figures();
    return {};
  }
  const Monitor& monitor() const { return monitor_; }

 private:
  void steady_figures() {
    std::vector<const Sample*> steady;
    for (const auto& s : monitor_.samples())
      if (s.phase == "steady") steady.push_back(&s);
    if (steady.size() < 2) return;
    const Sample &first = *steady.front(), &last = *steady.back();
    long checkins = 0;
    for (const Sample* s : steady)
      checkins += s->checkins;
    f_.checkins_per_s = static_cast<double>(checkins) / o_.steady;
    if (o_.telemetry) {
      long batches = 0;
      for (const Sample* s : steady)
        batches += s->telemetry;
      f_.telemetry_per_s = static_cast<double>(batches) / o_.steady;
    }
    double grown_kib = 0;
    for (std::size_t r = 0; r < set_.size(); ++r) {
      f_.replica_mib.push_back(last.replicas[r].rss_kib / 1024.0);
      f_.replica_cpu_percent.push_back(
          100 * (last.replicas[r].cpu_seconds - first.replicas[r].cpu_seconds) /
          (last.t - first.t));
      grown_kib += static_cast<double>(last.replicas[r].rss_kib - before_[r].rss_kib);
    }
    f_.kib_per_device = grown_kib / o_.devices;
    f_.postgres_mib = last.postgres.rss_kib / 1024.0;
    f_.generator_kib_per_device = static_cast<double>(last.generators.rss_kib) / o_.devices;
  }

  Status assign() {
    assign_ns_ = monotonic_ns();
    auto assigned = set_.fleet().cli("assign " + kRelease + " --site bench");
    f_.assign_cli_ms = static_cast<double>(monotonic_ns() - assign_ns_) / 1e6;
    if (assigned.exit_code != 0) return make_error(Errc::unhealthy, "assign: " + assigned.err);
    const long all = o_.devices;
    monitor_.sample_until(
        "assign", [&] { return monitor_.total(&Sample::updates) >= all; }, 60);
    monitor_.sample_until(
        "assign", [] { return false; }, 2);  // late duplicates would show here
    return {};
  }

  // The last replica dies; done when every device is connected again after at least one of them
  // noticed (its connection failed), then 10 s more to see that they stay.
  Status failover() {
    f_.io_failures_before_kill = monitor_.total(&Sample::io_failures);
    kill_ns_ = monotonic_ns();
    set_.kill(set_.size() - 1);
    const long all = o_.devices, before = f_.io_failures_before_kill;
    const bool back = monitor_.sample_until(
        "failover",
        [&] {
          return monitor_.total(&Sample::io_failures) > before && monitor_.connected() >= all;
        },
        120);
    monitor_.sample_until(
        "after", [] { return false; }, 10);
    if (!back)
      return make_error(Errc::timeout, "failover: " + std::to_string(monitor_.connected()) +
                                           " of " + std::to_string(all) + " connected after 120 s");
    return {};
  }

  void final_figures() {
    std::vector<double> ms;
    for (const Update& u : monitor_.updates()) {
      if (u.count == 0) continue;
      ++f_.updated;
      if (u.count > 1) ++f_.duplicates;
      ms.push_back(static_cast<double>(u.first_ns - assign_ns_) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    if (!ms.empty()) {
      f_.assign_p50_ms = ms[ms.size() / 2];
      f_.assign_max_ms = ms.back();
    }
    f_.errors = monitor_.total(&Sample::errors);
    f_.io_failures = monitor_.total(&Sample::io_failures);
    if (kill_ns_ > 0)
      f_.failover_s =
          static_cast<double>(std::max(0LL, monitor_.last_reconnect_ns() - kill_ns_)) / 1e9;
  }

  ReplicaSet& set_;
  const Options& o_;
  Figures& f_;
  Monitor monitor_;
  std::vector<testing::ProcStat> before_;
  long long assign_ns_ = 0, kill_ns_ = 0;
};

// Prints the table, writes the CSV and plots to --out and the table to --readme.
Status report(const Options& o, const Figures& f, const Monitor& monitor) {
  const std::string table = markdown(f);
  std::printf("\n%s", table.c_str());
  std::fflush(stdout);
  fs::create_directories(o.out);
  EF_CHECK(write_csv(o.out / "scale.csv", monitor.samples()));
  const std::string plots = render_plots(o.out / "scale.csv", o.out, o.replicas);
  std::printf("time series: %s%s\n", (o.out / "scale.csv").c_str(),
              plots.empty() ? ", plots scale-*.png beside it" : ("; " + plots).c_str());
  if (o.readme.empty()) return {};
  return update_readme(o.readme,
                       "\n" + f.machine + "\n\n```\n" + f.command + "\n```\n\n" + table + "\n");
}

void print_plan(const Options& o) {
  const int survivors = o.kill && o.replicas > 1 ? o.replicas - 1 : o.replicas;
  std::printf(
      "plan: %d devices, %d generators (up to %d devices each), %d replicas (%d devices "
      "each, %d after the failover), %.0f s steady, long-polls of %d s\n",
      o.devices, o.generators, (o.devices + o.generators - 1) / o.generators, o.replicas,
      (o.devices + o.replicas - 1) / o.replicas,
      o.kill && o.replicas > 1 ? (o.devices + survivors - 1) / survivors : 0, o.steady, o.max_wait);
  if (o.steady < o.max_wait)
    std::printf("plan: a steady state shorter than --max-wait sees few or no renewals\n");
}

std::string machine() {
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  return std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " cores, load " +
         std::to_string(load).substr(0, 4) + " at the start";
}

// With telemetry on: a remote-write receiver that takes everything (204) and counts it, standing
// in for Prometheus, and the replicas' flag pointing at it.
std::vector<std::string> start_sink(const Options& o,
                                    std::unique_ptr<testing::TestHttpServer>& sink,
                                    std::atomic<long>& writes) {
  if (!o.telemetry) return {};
  sink = std::make_unique<testing::TestHttpServer>();
  sink->route("/api/v1/write", [&writes](const testing::Request&) {
    ++writes;
    return testing::Reply{.status = 204};
  });
  return {"--prometheus-url", "http://127.0.0.1:" + std::to_string(sink->port()) + "/api/v1/write"};
}

int coordinator(Options& o) {
  Figures f{.devices = o.devices,
            .replicas = o.replicas,
            .threads = o.threads,
            .max_wait = o.max_wait,
            .steady_s = o.steady,
            .command = o.command};
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "scale_bench: %s\n", e.message.c_str());
    return 1;
  };
  if (auto ok = check_limits(o); !ok) return fail(ok.error());
  print_plan(o);
  if (o.plan) return 0;
  f.generators = o.generators;
  f.machine = machine();
  fs::create_directories(o.out);
  std::unique_ptr<testing::TestHttpServer> sink;  // outlives the replicas relaying to it
  std::atomic<long> writes{0};
  auto set = ReplicaSet::start(
      {.replicas = o.replicas,
       .threads = o.threads,
       .max_wait = o.max_wait,
       .dir = fs::temp_directory_path() / ("ef-scale-" + std::to_string(::getpid())),
       .extra_args = start_sink(o, sink, writes)});
  if (!set) return fail(set.error());
  std::printf("scale_bench: %d replicas on PostgreSQL, %s\n", o.replicas, f.machine.c_str());
  auto identities = enrol_all(**set, o, f.enrol_s);
  if (!identities) return fail(identities.error());
  std::printf("enrolled %d devices in %.1f s\n", o.devices, f.enrol_s);
  if (auto ok = publish_release(**set); !ok) return fail(ok.error());
  Run run(**set, o, f);
  if (auto ok = run.go(*identities); !ok) return fail(ok.error());
  f.remote_writes = writes;
  if (auto ok = report(o, f, run.monitor()); !ok) return fail(ok.error());
  const bool passed = f.errors == 0 && f.updated == o.devices && f.duplicates == 0;
  return passed ? 0 : 1;
}

std::vector<int> ports_of(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(std::stoi(item));
  return out;
}

}  // namespace
}  // namespace ef::scale

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ef::scale::Options o;
  ef::scale::GeneratorOptions g;
  std::string ports;
  bool no_kill = false;
  CLI::App app{"edgefleet-server replicas under many simulated devices (bench/scale/README.md)"};
  app.add_option("--replicas", o.replicas)->check(CLI::Range(1, 16));
  app.add_option("--devices", o.devices)->check(CLI::Range(1, 1000000));
  app.add_option("--generators", o.generators, "generator processes (0: enough for the fd limit)");
  app.add_option("--steady", o.steady, "seconds of steady state");
  app.add_option("--max-wait", o.max_wait, "the replicas' --max-wait and the devices' wait");
  app.add_option("--threads", o.threads, "each replica's --threads (0: one per core)");
  app.add_flag("--no-kill", no_kill, "skip the failover phase");
  app.add_flag("--plan", o.plan, "check the limits, print the plan and exit");
  app.add_flag("--telemetry,!--no-telemetry", o.telemetry,
               "each device pushes a telemetry batch a minute (relayed to a stand-in receiver)");
  app.add_option("--out", o.out, "folder for scale.csv and the plots");
  app.add_option("--readme", o.readme, "write the table into this file between its markers");
  auto* generator = app.add_option("--generator", g.identities, "(internal) run as a generator");
  app.add_option("--offset", g.offset);
  app.add_option("--ports", ports);
  app.add_option("--ca", g.ca_file);
  app.add_option("--wait", g.wait_seconds);
  app.add_option("--release", g.release);
  CLI11_PARSE(app, argc, argv);
  if (*generator) {
    g.ports = ef::scale::ports_of(ports);
    g.telemetry = o.telemetry;
    return ef::scale::run_generator(g);
  }
  o.kill = !no_kill;
  for (int i = 0; i < argc; ++i)
    o.command += (i ? " " : "") + std::string(i ? argv[i] : "scale_bench");
  return ef::scale::coordinator(o);
}

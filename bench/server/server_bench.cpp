// The control plane under load: the real edgefleet-server on 127.0.0.1, and this program as a
// fleet of simulated devices, each with its own key, a certificate enrolled through the API with
// a real CSR, and its own mutual-TLS keep-alive connection.
//   - enrolment: devices registered and enrolled per second (8 operator/device connections);
//   - check-ins per second and latency p50/p99 for 10, 100 and 1000 devices checking in back to
//     back (wait=0), with an unchanged report (the server answers 304 from memory and SQLite
//     reads) and with a report that changes every time (the server also writes it to SQLite);
//   - the server memory held by N idle long-polls (its RSS with them held minus before), and its
//     CPU while they wait;
//   - an assignment of a release to all N: time until every held long-poll has its answer.
//   - with --against-nginx, the unchanged check-in answered by Debian's nginx (nginx_peer.hpp) on
//     the same certificates, generator, devices and request bytes: its rows and the ratios.
// Both processes share this machine's cores, so the figures are the pair's, side by side.
//
//   build/bench/server/server_bench [--idle N=10000] [--seconds S=10] [--devices 10,100,1000]
//                                   [--threads N=cores] [--against-nginx]
//                                   [--unchanged-report full|empty]
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <utility>  // first: Boost 1.74's awaitable.hpp needs std::exchange

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "agent_report.hpp"
#include "core/json/json.hpp"
#include "core/pki/pki.hpp"
#include "fake_release.hpp"
#include "fleet_processes.hpp"
#include "mtls_connection.hpp"
#include "nginx_peer.hpp"
#include "proc_stat.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ef::json::Json;
using namespace std::chrono_literals;

namespace {

using ef::testing::ProcStat;
using ef::testing::read_proc;

double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// A simulated device: its identity and the ETag of the last answer it holds.
struct Device : ef::bench::Identity {
  std::string etag;
};

using ef::bench::Connection;
using ef::bench::Response;

std::string device_id(int i) {
  char id[32];
  std::snprintf(id, sizeof id, "bench-%05d", i);
  return id;
}

std::string registration(const std::string& id) {
  return Json{{"id", id}, {"site", "bench"}}.dump();
}

std::string enrolment(const std::string& id, const Json& registered, const std::string& csr) {
  return Json{{"device_id", id},
              {"token", registered.at("enrollment_token").get<std::string>()},
              {"csr", csr}}
      .dump();
}

std::string certificate_of(const http::response<http::string_body>& enrolled) {
  auto body = ef::json::parse_strict(enrolled.body());
  if (enrolled.result_int() != 200 || !body || !body->contains("certificate"))
    throw std::runtime_error("enroll: " + enrolled.body());
  return (*body)["certificate"].get<std::string>();
}

std::string checkin_target(const Device& d, int wait) {
  return "/api/v1/devices/" + d.id + "/checkin?wait=" + std::to_string(wait);
}

// What an agent with a running runtime reports; `frames` changes the report when it changes.
std::string report(double frames) {
  return ef::bench::full_report(
      {.installed_release = "1.0.0", .model_version = "ae-1", .frames_processed = frames});
}

template <typename T>
std::shared_ptr<T> owned(T* p, void (*free)(T*)) {
  return std::shared_ptr<T>(p, free);
}

class Bench {
 public:
  explicit Bench(ef::testing::Fleet& fleet)
      : fleet_(fleet), tls_(ssl::context::tls_client), work_(asio::make_work_guard(io_)) {
    tls_.load_verify_file(fleet.ca_file());
    // The chain is verified against the fleet CA; the host name check is the agent's (tested in
    // its own suites), not what is measured here.
    tls_.set_verify_mode(ssl::verify_peer);
    const std::string port = fleet.url().substr(fleet.url().rfind(':') + 1);
    server_ = tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                            static_cast<unsigned short>(std::stoi(port)));
    io_thread_ = std::thread([this] { io_.run(); });
  }
  ~Bench() {
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  // Registers and enrols `count` devices through the API, `parallel` at a time.
  void enrol(int count, int parallel) {
    devices_.resize(static_cast<std::size_t>(count));
    std::atomic<int> next{0}, done{0}, failed{0}, workers_finished{0};
    std::string first_error;
    std::mutex mu;
    for (int w = 0; w < parallel; ++w) {
      asio::co_spawn(
          io_,
          [&]() -> asio::awaitable<void> {
            Connection c(io_, tls_);
            try {
              co_await c.open(server_, nullptr);
              for (int i = next++; i < count; i = next++) {
                Device& d = devices_[static_cast<std::size_t>(i)];
                d.id = device_id(i);
                // (GCC 12 cannot keep array temporaries such as literals across co_await.)
                const std::string add_body = registration(d.id);
                auto added = co_await c.send(http::verb::post, devices_path_, add_body,
                                             fleet_.admin_token());
                auto token = ef::json::parse_strict(added.body());
                if (!token || (added.result_int() != 201 && added.result_int() != 200))
                  throw std::runtime_error(added.body());
                auto key = ef::pki::generate_ec_key();
                auto csr = ef::pki::make_csr(key->private_key_pem, d.id);
                const std::string enrol_body = enrolment(d.id, *token, *csr);
                auto enrolled = co_await c.send(http::verb::post, enroll_path_, enrol_body);
                const std::string pem = certificate_of(enrolled);
                std::shared_ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                         BIO_free);
                d.certificate =
                    owned(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
                bio.reset(BIO_new_mem_buf(key->private_key_pem.data(),
                                          static_cast<int>(key->private_key_pem.size())),
                          BIO_free);
                d.key = owned(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                              EVP_PKEY_free);
                ++done;
              }
            } catch (const std::exception& e) {
              std::lock_guard lock(mu);
              if (first_error.empty()) first_error = e.what();
              ++failed;
            }
            c.close();
            ++workers_finished;  // last: the caller's locals may go once all have counted
          },
          asio::detached);
    }
    const auto start = Clock::now();
    while (workers_finished < parallel)
      std::this_thread::sleep_for(20ms);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed > 0) throw std::runtime_error("enrolment failed: " + first_error);
    std::printf("enrolment: %d devices registered and enrolled (real CSRs) in %.1f s: %.0f/s\n",
                count, seconds, count / seconds);
  }

  struct LoadFigures {
    double per_second = 0, p50_ms = 0, p99_ms = 0, server_cpu = 0, bench_cpu = 0;
    long errors = 0;
    std::string first_error;  // the first wrong answer or failure, for the message
  };

  // Where the check-ins go, and that server's CPU time so far (all its processes and threads).
  struct Target {
    std::string name;
    tcp::endpoint endpoint;
    std::function<double()> cpu_seconds;
  };

  Target edgefleet() {
    return {"edgefleet-server", server_,
            [this] { return read_proc(fleet_.server_pid()).cpu_seconds; }};
  }

  // `count` devices, each on its own connection, check in back to back for `seconds`. Every
  // answer is checked: after the first (200, the device's ETag), each must be 304 with the
  // device's ETag and the Cache-Control of edgefleet's first answer; anything else is an error.
  LoadFigures load(const Target& target, int count, bool changing_report, double seconds) {
    LoadRun run;
    for (int i = 0; i < count; ++i)
      asio::co_spawn(io_, drive(target, run, i, changing_report), asio::detached);
    while (run.ready < count)
      std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(1s);  // warm-up
    const double server_before = target.cpu_seconds();
    const double bench_before = own_cpu_seconds();
    run.measuring = true;
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    run.measuring = false;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double server_after = target.cpu_seconds();
    const double bench_after = own_cpu_seconds();
    run.stop = true;
    while (run.finished < count)
      std::this_thread::sleep_for(10ms);
    std::lock_guard lock(run.mu);
    LoadFigures f;
    f.per_second = static_cast<double>(run.latencies_ms.size()) / elapsed;
    f.p50_ms = percentile(run.latencies_ms, 0.50);
    f.p99_ms = percentile(run.latencies_ms, 0.99);
    f.server_cpu = (server_after - server_before) / elapsed;
    f.bench_cpu = (bench_after - bench_before) / elapsed;
    f.errors = run.errors;
    f.first_error = run.first_error;
    return f;
  }

  const std::vector<Device>& devices() const { return devices_; }
  // The body of an unchanged check-in after the first: the full report again, or "{}" as an idle
  // agent sends (docs/agent.md, "Quiet when idle").
  void send_empty_when_unchanged(bool empty) { empty_when_unchanged_ = empty; }
  // Cache-Control of edgefleet's first check-in answer; empty before a load ran.
  const std::string& cache_control() const { return cache_control_; }

  // `count` devices each hold a long-poll; returns when all were sent. Each one's answer is
  // recorded in answered_.
  void hold_long_polls(int count, int wait_seconds) {
    answered_ms_.assign(static_cast<std::size_t>(count), -1);
    statuses_.assign(static_cast<std::size_t>(count), 0);
    next_ = 0;
    held_ = 0;
    failed_ = 0;
    // At most 64 connections being set up at once, as devices coming online over minutes would.
    for (int w = 0; w < 64; ++w) {
      asio::co_spawn(
          io_,
          [this, count, wait_seconds]() -> asio::awaitable<void> {
            for (int i = next_++; i < count; i = next_++) {
              auto c = std::make_shared<Connection>(io_, tls_);
              Device& d = devices_[static_cast<std::size_t>(i)];
              try {
                co_await c->open(server_, &d);
                auto first = co_await c->send(http::verb::post, checkin_target(d, 0), report(0));
                d.etag = std::string(first[http::field::etag]);
              } catch (const std::exception&) {
                ++failed_;
                continue;
              }
              asio::co_spawn(
                  io_,
                  [this, c, i, wait_seconds]() -> asio::awaitable<void> {
                    Device& d = devices_[static_cast<std::size_t>(i)];
                    try {
                      ++held_;
                      auto r = co_await c->send(http::verb::post, checkin_target(d, wait_seconds),
                                                report(0), {}, d.etag);
                      statuses_[static_cast<std::size_t>(i)] = r.result_int();
                      answered_ms_[static_cast<std::size_t>(i)] =
                          std::chrono::duration<double, std::milli>(Clock::now() - wake_start_)
                              .count();
                    } catch (const std::exception&) {
                      ++failed_;
                    }
                    c->close();
                  },
                  asio::detached);
            }
          },
          asio::detached);
    }
    while (held_ + failed_ < count)
      std::this_thread::sleep_for(20ms);
    if (failed_ > 0) throw std::runtime_error(std::to_string(failed_) + " long-polls failed");
  }

  void start_wake_clock() { wake_start_ = Clock::now(); }
  // Answers so far (status, ms after start_wake_clock), read on the io thread.
  std::vector<std::pair<unsigned, double>> answers() {
    std::promise<std::vector<std::pair<unsigned, double>>> p;
    asio::post(io_, [&] {
      std::vector<std::pair<unsigned, double>> out;
      for (std::size_t i = 0; i < answered_ms_.size(); ++i)
        if (answered_ms_[i] >= 0) out.emplace_back(statuses_[i], answered_ms_[i]);
      p.set_value(std::move(out));
    });
    return p.get_future().get();
  }
  int failed() const { return failed_; }

  // One load's shared state; the devices' coroutines all run on io_thread_.
  struct LoadRun {
    std::atomic<int> ready{0}, finished{0};
    std::atomic<long> errors{0};
    std::atomic<bool> measuring{false}, stop{false};
    std::mutex mu;
    std::vector<double> latencies_ms;
    std::string first_error;
  };

  // What is wrong with a device's first answer (no If-None-Match): empty when it is 200 with an
  // ETag, the same as the device already held if it held one.
  std::string wrong_first_answer(const Response& r, Device& d) {
    const std::string etag(r[http::field::etag]), cache(r[http::field::cache_control]);
    if (r.result_int() != 200 || etag.empty() || (!d.etag.empty() && etag != d.etag) ||
        (!cache_control_.empty() && cache != cache_control_))
      return describe(r, 200, d);
    d.etag = etag;
    if (cache_control_.empty()) cache_control_ = cache;
    return {};
  }

  // What is wrong with an answer to a check-in with the device's ETag: empty when it is 304 with
  // the same ETag and Cache-Control.
  std::string wrong_unchanged_answer(const Response& r, const Device& d) const {
    if (r.result_int() == 304 && r[http::field::etag] == d.etag &&
        r[http::field::cache_control] == cache_control_)
      return {};
    return describe(r, 304, d);
  }

  std::string describe(const Response& r, int expected, const Device& d) const {
    return "answered " + std::to_string(r.result_int()) + " ETag " +
           std::string(r[http::field::etag]) + " Cache-Control " +
           std::string(r[http::field::cache_control]) + " (expected " + std::to_string(expected) +
           " with ETag " + (d.etag.empty() ? "any" : d.etag) + " and Cache-Control " +
           (cache_control_.empty() ? "any" : cache_control_) + "): " + r.body().substr(0, 200);
  }

  // One device of a load: its connection, its first check-in, then check-ins back to back.
  asio::awaitable<void> drive(const Target& target, LoadRun& run, int i, bool changing_report) {
    Device& d = devices_[static_cast<std::size_t>(i)];
    Connection c(io_, tls_);
    std::vector<double> mine;
    double frames = i * 1e6;
    long errors = 0;
    std::string first_error;
    bool ready = false;
    auto wrong = [&](std::string what) {
      ++errors;
      if (first_error.empty()) first_error = target.name + ": " + d.id + " " + std::move(what);
    };
    try {
      co_await c.open(target.endpoint, &d);
      auto first = co_await c.send(http::verb::post, checkin_target(d, 0), report(frames));
      if (auto w = wrong_first_answer(first, d); !w.empty()) wrong(std::move(w));
      ready = true;
      ++run.ready;
      while (!run.stop) {
        if (changing_report) frames += 30;
        const auto begin = Clock::now();
        const std::string body =
            changing_report || !empty_when_unchanged_ ? report(frames) : std::string("{}");
        auto r = co_await c.send(http::verb::post, checkin_target(d, 0), body, {}, d.etag);
        if (auto w = wrong_unchanged_answer(r, d); !w.empty()) wrong(std::move(w));
        if (run.measuring)
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
      }
    } catch (const std::exception& e) {
      wrong(e.what());
    }
    c.close();
    {
      std::lock_guard lock(run.mu);
      run.latencies_ms.insert(run.latencies_ms.end(), mine.begin(), mine.end());
      if (run.first_error.empty()) run.first_error = first_error;
      run.errors += errors;
    }
    if (!ready) ++run.ready;
    ++run.finished;  // last: the caller's run may go once all have counted
  }

 private:
  ef::testing::Fleet& fleet_;
  const std::string devices_path_ = "/api/v1/devices", enroll_path_ = "/api/v1/enroll";
  asio::io_context io_;
  ssl::context tls_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread io_thread_;
  tcp::endpoint server_;
  std::vector<Device> devices_;
  std::vector<double> answered_ms_;
  std::vector<unsigned> statuses_;
  std::atomic<int> next_{0}, held_{0}, failed_{0};
  Clock::time_point wake_start_ = Clock::now();
  std::string cache_control_;
  bool empty_when_unchanged_ = false;
};

struct Options {
  int idle = 10000;
  double seconds = 10;
  std::vector<int> loads = {10, 100, 1000};
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool against_nginx = false;
  int nginx_status = 304;
  std::string unchanged_report = "full";
};

const std::string kServer = std::string(EF_BINARY_DIR) + "/apps/edgefleet-server/edgefleet-server";

// Whether this edgefleet-server takes --threads (serving on several cores is issue 20's work).
bool server_takes_threads() {
  return ef::testing::run_command(kServer + " --help").out.find("--threads") != std::string::npos;
}

void print_row(int devices, const char* report, const Bench::LoadFigures& f) {
  std::printf("%8d  %-10s %12.0f %9.2f %9.2f %10.0f%% %10.0f%% %7ld\n", devices, report,
              f.per_second, f.p50_ms, f.p99_ms, 100 * f.server_cpu, 100 * f.bench_cpu, f.errors);
}

// Debian's nginx answering the unchanged check-in as edgefleet does (nginx_peer.hpp), on the
// server's certificate and key and the fleet CA, with each device's ETag and the Cache-Control
// edgefleet answered (the caller had every device check in with edgefleet first).
ef::Result<std::unique_ptr<ef::bench::NginxPeer>> start_nginx(const Bench& bench,
                                                              const ef::testing::Fleet& fleet,
                                                              const Options& o) {
  ef::bench::NginxSettings s;
  s.dir = fleet.dir() / "nginx";
  s.certificate = fleet.dir() / "server/pki/server.crt";
  s.key = fleet.dir() / "server/pki/server.key";
  s.client_ca = fleet.ca_file();
  s.workers = o.threads;
  s.max_connections = *std::max_element(o.loads.begin(), o.loads.end());
  for (const auto& d : bench.devices())
    if (!d.etag.empty()) s.etags[d.id] = d.etag;
  s.cache_control = bench.cache_control();
  s.status = o.nginx_status;
  return ef::bench::NginxPeer::start(s);
}

// The check-in table. Per load: edgefleet's unchanged row, nginx's (when given: measured right
// after ours, so both see the same machine, and printed under our rows), edgefleet's changed row;
// then the ratios. False when a load erred (said on stderr); nginx's errors end the run at once:
// the comparison must not measure them.
// Long because: one table read top to bottom, its rows in the order they are measured.
bool check_in_rows(Bench& bench, const Options& o, ef::bench::NginxPeer* nginx) {
  std::printf(
      "\ncheck-ins back to back over mTLS keep-alive, %.0f s each (wait=0); unchanged ones send "
      "%s\n",
      o.seconds, o.unchanged_report == "empty" ? "{} (an idle agent's)" : "the full report");
  std::printf("%8s  %-10s %12s %9s %9s %11s %11s %7s\n", "devices", "report", "check-ins/s",
              "p50 ms", "p99 ms", "server CPU", "bench CPU", "errors");
  std::optional<Bench::Target> theirs;
  if (nginx != nullptr)
    theirs =
        Bench::Target{"nginx", tcp::endpoint(asio::ip::make_address("127.0.0.1"), nginx->port()),
                      [nginx] { return nginx->cpu_seconds(); }};
  std::vector<std::pair<int, Bench::LoadFigures>> nginx_figures;
  std::string ratios;
  long errors = 0;
  for (int n : o.loads) {
    for (bool changing : {false, true}) {
      auto f = bench.load(bench.edgefleet(), n, changing, o.seconds);
      errors += f.errors;
      print_row(n, changing ? "changed" : "unchanged", f);
      if (f.errors > 0) std::fprintf(stderr, "server_bench: %s\n", f.first_error.c_str());
      if (changing || !theirs) continue;
      auto g = bench.load(*theirs, n, false, o.seconds);
      if (g.errors > 0 || g.per_second <= 0) {
        print_row(n, "nginx", g);
        std::fprintf(stderr,
                     "server_bench: nginx did not answer as edgefleet does, nothing to compare: "
                     "%s\nnginx's error log:\n%s",
                     g.first_error.c_str(), nginx->error_log().c_str());
        return false;
      }
      char ratio[64];
      std::snprintf(ratio, sizeof ratio, "%s%.2fx at %d devices", ratios.empty() ? "" : ", ",
                    f.per_second / g.per_second, n);
      ratios += ratio;
      nginx_figures.emplace_back(n, g);
    }
  }
  if (nginx != nullptr) {
    std::printf("%s, %d workers, ssl_verify_client on, same certificates, devices and requests:\n",
                ef::bench::nginx_version()->c_str(), o.threads);
    for (const auto& [n, g] : nginx_figures)
      print_row(n, "unchanged", g);
    std::printf("edgefleet/nginx, unchanged check-ins/s: %s\n", ratios.c_str());
  }
  return errors == 0;
}

// N devices park a long-poll; the server's memory and CPU while they wait; then an assignment to
// all of them and how soon each hears of it. False when one failed or missed the assignment.
bool idle_and_assign(Bench& bench, ef::testing::Fleet& fleet, int idle) {
  std::this_thread::sleep_for(2s);
  const ProcStat before = read_proc(fleet.server_pid());
  const auto setup_start = Clock::now();
  bench.hold_long_polls(idle, 300);
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
  std::this_thread::sleep_for(3s);  // the last requests reach the server and are parked
  const ProcStat held = read_proc(fleet.server_pid());
  std::this_thread::sleep_for(10s);
  const ProcStat after_idle = read_proc(fleet.server_pid());
  const double delta_bytes = static_cast<double>(held.rss_kib - before.rss_kib) * 1024.0;
  std::printf("\n%d idle long-polls (mTLS, wait=300): connected and parked in %.1f s\n", idle,
              setup_s);
  std::printf("  server RSS %.1f MiB before, %.1f MiB with them held: %.1f KiB per long-poll\n",
              before.rss_kib / 1024.0, held.rss_kib / 1024.0, delta_bytes / idle / 1024.0);
  std::printf("  server CPU while they wait: %.2f%% of a core over 10 s; RSS then %.1f MiB\n",
              10 * (after_idle.cpu_seconds - held.cpu_seconds), after_idle.rss_kib / 1024.0);

  // An assignment to all of them: how soon does every parked device hear of it?
  const std::string cli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";
  const fs::path src = fleet.dir() / "src-1.0.0";
  ef::testing::write_fake_release(src, {});
  if (ef::testing::run_command(cli + " release build " + src.string() + " --version 1.0.0 --keys " +
                               fleet.keys().string() + " --repo " + fleet.repo().string())
              .exit_code != 0 ||
      fleet.cli("release publish --repo " + fleet.repo().string()).exit_code != 0) {
    std::fprintf(stderr, "server_bench: could not publish a release\n");
    return false;
  }
  bench.start_wake_clock();
  const auto assign_start = Clock::now();
  auto assigned = fleet.cli("assign 1.0.0 --site bench");
  const double assign_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - assign_start).count();
  if (assigned.exit_code != 0) {
    std::fprintf(stderr, "server_bench: assign failed: %s\n", assigned.err.c_str());
    return false;
  }
  std::vector<std::pair<unsigned, double>> answers;
  for (int i = 0; i < 600; ++i) {
    answers = bench.answers();
    if (static_cast<int>(answers.size()) + bench.failed() >= idle) break;
    std::this_thread::sleep_for(100ms);
  }
  std::vector<double> wake_ms;
  long changed = 0;
  for (auto [status, ms] : answers) {
    wake_ms.push_back(ms);
    if (status == 200) ++changed;
  }
  std::printf(
      "\nassign 1.0.0 to all %d (edgefleet assign --site, a CLI process): %ld answered 200 "
      "with the new release, %zu in all\n",
      idle, changed, answers.size());
  std::printf(
      "  the CLI took %.0f ms; answers after it started: first %.0f ms, median %.0f ms, "
      "last %.0f ms\n",
      assign_ms, percentile(wake_ms, 0), percentile(wake_ms, 0.5), percentile(wake_ms, 1.0));
  return changed == idle;
}

}  // namespace

// Exit status: 0 when every measurement ran without an error, 1 otherwise, 2 for a bad option,
// 77 (ctest's "skipped") for --against-nginx without nginx installed.
int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured, even in a pipe
  Options o;
  CLI::App app{"server_bench: the edgefleet server under a fleet of simulated devices"};
  app.add_option("--idle", o.idle, "devices holding a long-poll (0: skip that part)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", o.seconds, "seconds per load")->check(CLI::PositiveNumber);
  app.add_option("--devices", o.loads, "loads to drive back to back")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads,
                 "server threads: nginx's workers, and edgefleet-server's --threads when it has it")
      ->check(CLI::PositiveNumber);
  app.add_flag("--against-nginx", o.against_nginx,
               "also drive Debian's nginx answering the unchanged check-in (rows and ratios)");
  app.add_option("--nginx-status", o.nginx_status,
                 "what nginx answers instead of 304 (only to test that the bench refuses it)");
  app.add_option("--unchanged-report", o.unchanged_report,
                 "what an unchanged check-in sends: the full report again, or {} as an idle "
                 "agent does")
      ->check(CLI::IsMember({"full", "empty"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.against_nginx) {
    if (auto v = ef::bench::nginx_version(); !v) {
      std::fprintf(stderr, "server_bench: --against-nginx skipped: %s\n",
                   v.error().message.c_str());
      return 77;
    }
  }
  // Every simulated device holds a socket here, as every real one does at the server.
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (static_cast<long>(files.rlim_cur) < o.idle + 200) {
    std::fprintf(stderr, "server_bench: %d idle devices need an open-file limit above %ld\n",
                 o.idle, static_cast<long>(files.rlim_cur));
    return 2;
  }

  ef::testing::Fleet fleet(fs::temp_directory_path() /
                           ("ef-server-bench-" + std::to_string(::getpid())));
  // Long-polls outlast the measurements; the server keeps its SQLite file as in production.
  std::vector<std::string> server_args = {"--max-wait", "300"};
  const bool threads_option = server_takes_threads();
  if (threads_option)
    server_args.insert(server_args.end(), {"--threads", std::to_string(o.threads)});
  fleet.start_server(server_args);
  Bench bench(fleet);
  bench.send_empty_when_unchanged(o.unchanged_report == "empty");
  std::printf("edgefleet-server bench: %ld cores, server pid %d, %s, load %.2f at start\n",
              ::sysconf(_SC_NPROCESSORS_ONLN), fleet.server_pid(),
              threads_option ? ("--threads " + std::to_string(o.threads)).c_str()
                             : "no --threads option (its own default)",
              [] {
                double l = 0;
                std::ifstream("/proc/loadavg") >> l;
                return l;
              }());

  const int most = *std::max_element(o.loads.begin(), o.loads.end());
  bench.enrol(std::max(o.idle, most), 8);
  std::unique_ptr<ef::bench::NginxPeer> nginx;
  if (o.against_nginx) {
    // Every device checks in with edgefleet once: nginx answers with the ETags it gave them.
    if (const auto f = bench.load(bench.edgefleet(), most, false, 0); f.errors > 0) {
      std::fprintf(stderr, "server_bench: %s\n", f.first_error.c_str());
      return 1;
    }
    auto started = start_nginx(bench, fleet, o);
    if (!started) {
      std::fprintf(stderr, "server_bench: %s\n", started.error().message.c_str());
      return 1;
    }
    nginx = std::move(*started);
  }
  const bool loads_ok = check_in_rows(bench, o, nginx.get());
  if (nginx != nullptr && !loads_ok) return 1;
  nginx.reset();
  if (o.idle > 0 && !idle_and_assign(bench, fleet, o.idle)) return 1;
  return loads_ok ? 0 : 1;
}

#include "device/agent/agent.hpp"

#include <systemd/sd-daemon.h>

#include <iostream>

#include <thread>

#include "core/bootstrap/bootstrap.hpp"
#include "core/common/backoff.hpp"
#include "core/common/fs.hpp"
#include "core/trust/trusted_set.hpp"
#include "device/agent/update_engine.hpp"
#include "device/credentials/credentials.hpp"
#include "device/hwinfo/hwinfo.hpp"
#include "device/server_link/server_link.hpp"
#include "device/supervisor/supervisor.hpp"
#include "device/update_journal/journal.hpp"

namespace ef::agent {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

void log(const std::string& line) {
  std::cerr << "edgefleet-agent: " << line << std::endl;
}

// Waits `d`, waking early when asked to stop.
void sleep_for(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  const auto until = Clock::now() + d;
  while (!stop && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// Pings the systemd watchdog while the main loop shows signs of life.
class Watchdog {
 public:
  Watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      interval_ = std::chrono::microseconds(usec);
      thread_ = std::thread([this] { loop(); });
    }
  }
  ~Watchdog() {
    quit_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void alive() { last_alive_ = Clock::now().time_since_epoch().count(); }

 private:
  void loop() {
    while (!quit_) {
      const auto age = Clock::now().time_since_epoch() - Clock::duration(last_alive_.load());
      if (age < interval_) sd_notify(0, "WATCHDOG=1");
      std::this_thread::sleep_for(
          std::chrono::duration_cast<std::chrono::milliseconds>(interval_ / 3));
    }
  }
  std::chrono::microseconds interval_{0};
  std::atomic<Clock::rep> last_alive_{Clock::now().time_since_epoch().count()};
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

}  // namespace

Status run_agent(const AgentConfig& config, const std::atomic<bool>& stop) {
  EF_CHECK(make_dirs(config.data_dir, 0700));
  auto root_json = read_file(config.trust_root, trust::kMaxRootBytes);
  if (!root_json) return std::move(root_json).error().context("trust root");
  if (auto check = trust::TrustedSet::create(*root_json, utc_now()); !check) {
    return std::move(check).error().context("trust root " + config.trust_root.string());
  }

  // Identity: enrol on first start with the bootstrap token.
  credentials::Paths paths{config.data_dir / "identity"};
  server_link::Client api({});
  // Jittered, so a fleet that lost its server together does not come back in step.
  Backoff backoff({.initial = std::chrono::seconds(1), .max = config.max_backoff, .jitter = true});
  Watchdog watchdog;
  auto identity = credentials::load(paths);
  while (!identity && !stop) {
    auto boot = bootstrap::load(config.bootstrap_dir, true);
    if (!boot) return std::move(boot).error();
    identity = credentials::enroll(paths, *boot, api);
    if (identity) {
      log("enrolled as " + identity->device_id);
      break;
    }
    if (api.last_rejected()) return std::move(identity).error().context("enrollment refused");
    log("enrollment failed, will retry: " + identity.error().message);
    if (config.once) return std::move(identity).error();
    sleep_for(backoff.next(), stop);
  }
  if (stop) return {};
  api.set_endpoint(credentials::endpoint(paths, identity->server_url, true));
  backoff.reset();

  supervisor::Supervisor supervisor;
  EF_TRY(auto journal, update_journal::Journal::open(config.data_dir));
  EngineConfig engine_config;
  engine_config.data_dir = config.data_dir;
  engine_config.device_id = identity->device_id;
  engine_config.control_socket = config.control_socket.empty()
                                     ? config.data_dir / "run" / "runtime.sock"
                                     : config.control_socket;
  engine_config.trust_root_json = *root_json;
  engine_config.server_options = api.options();
  engine_config.download_limits = config.download_limits;
  engine_config.cancel = &stop;
  UpdateEngine engine(engine_config, std::move(journal), supervisor);
  if (auto st = engine.recover(); !st) log("recovery: " + st.error().message);
  sd_notify(0, "READY=1");

  std::string etag;
  std::optional<Target> desired;
  auto last_progress_report = Clock::now() - std::chrono::hours(1);
  auto make_report = [&] {
    json::Json r = engine.report();
    r["agent_version"] = kAgentVersion;
    r["hardware"] = hwinfo::to_json(hwinfo::collect(config.data_dir));
    return r;
  };
  // While an update runs, tell the server how far it got: at once when the phase changes, else at
  // most every 2 s (download progress), never long-polling.
  std::string last_phase;
  engine.set_progress([&](std::string_view phase, int) {
    watchdog.alive();
    const bool new_phase = phase != last_phase;
    if (!new_phase && Clock::now() - last_progress_report < std::chrono::seconds(2)) return;
    last_phase = std::string(phase);
    last_progress_report = Clock::now();
    (void)api.checkin(identity->device_id, make_report(), etag, std::chrono::seconds(0));
  });

  bool report_now = true;
  while (!stop) {
    watchdog.alive();
    // Renew the certificate once it is due (two thirds into its life).
    if (utc_now() >= identity->renew_after) {
      if (auto renewed = credentials::renew(paths, *identity, api)) {
        identity = renewed;
        engine_config.server_options = api.options();
        log("certificate renewed until " + format_utc(identity->not_after));
      } else {
        log("certificate renewal failed, will retry: " + renewed.error().message);
      }
    }
    engine.refresh_runtime_facts();
    const auto wait = report_now ? std::chrono::seconds(0) : config.checkin_wait;
    auto result =
        api.checkin(identity->device_id, make_report(), report_now ? std::string() : etag, wait);
    if (!result) {
      if (stop) break;
      if (api.last_rejected()) {
        log("the server refused this device (" + result.error().message + "); waiting");
      } else {
        log("check-in failed, will retry: " + result.error().message);
      }
      if (config.once) return std::move(result).error();
      sleep_for(backoff.next(), stop);
      report_now = true;
      continue;
    }
    backoff.reset();
    report_now = false;
    if (!result->etag.empty()) etag = result->etag;
    if (result->changed && result->desired) {
      const auto& d = *result->desired;
      if (auto st = engine.note_desired(d.release); !st) log("journal: " + st.error().message);
      desired = d.release ? std::optional<Target>(Target{*d.release, d.metadata_url, d.blobs_url})
                          : std::nullopt;
    }
    if (desired) {
      const auto& s = engine.state();
      const bool pending = s.committed != desired->release || s.update.has_value();
      if (pending && !s.failed.contains(desired->release)) {
        log("updating to " + desired->release);
        if (auto st = engine.apply(*desired); !st) {
          log(st.error().message);
          if (st.error().code == Errc::network || st.error().code == Errc::timeout)
            sleep_for(backoff.next(), stop);
        } else {
          log("release " + desired->release + " committed");
        }
        report_now = true;  // tell the server at once how it went
      }
    }
    if (config.once && !report_now) break;
  }
  sd_notify(0, "STOPPING=1");
  return {};
}

}  // namespace ef::agent

#include "device/agent/agent.hpp"

#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "core/bootstrap/bootstrap.hpp"
#include "core/common/fs.hpp"
#include "core/trust/trusted_set.hpp"
#include "device/hwinfo/hwinfo.hpp"
#include "device/systemd_notify/systemd_notify.hpp"
#include "device/update_journal/journal.hpp"

namespace ef::agent {

using Clock = std::chrono::steady_clock;

namespace {

void log(const std::string& line) {
  std::cerr << "edgefleet-agent: " << line << std::endl;
}

// A failed notification is logged, not fatal: systemd times the start out and says so itself.
void notify_systemd(std::string_view state) {
  auto sent = systemd_notify::notify(state);
  if (!sent) log("telling systemd " + std::string(state) + ": " + sent.error().message);
}

bool transient(const Error& e) {
  return e.code == Errc::network || e.code == Errc::timeout;
}

server_choice::Random system_random() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng] { return (*rng)(); };
}

}  // namespace

Agent::Agent(AgentConfig config, const std::atomic<bool>& stop)
    : config_(std::move(config)),
      stop_(stop),
      servers_({.base = std::chrono::seconds(1), .cap = config_.max_backoff}, system_random()),
      paths_{config_.data_dir / "identity"},
      report_(config_.report_figures_every) {
  // A check-in is held for minutes: SIGTERM must not wait for it, nor the watchdog bite.
  api_.set_long_poll_hooks(&stop_, [this] { watchdog_.alive(); });
}

Agent::~Agent() {
  stop_telemetry();
}

Status Agent::run() {
  EF_CHECK(make_dirs(config_.data_dir, 0700));
  EF_CHECK(load_trust_root());
  EF_CHECK(load_or_enrol());
  if (stop_) return {};
  EF_CHECK(start_engine());
  start_telemetry();
  notify_systemd("READY=1");
  while (!stop_) {
    watchdog_.alive();
    renew_if_due();
    auto round = check_in();
    if (!round) return std::move(round).error();
    if (*round == Round::done) break;
  }
  notify_systemd("STOPPING=1");
  stop_telemetry();
  return {};
}

// Telemetry runs beside the main loop on its own thread and connections (telemetry_loop.hpp).
void Agent::start_telemetry() {
  if (!config_.telemetry || config_.once) return;
  TelemetryConfig t;
  t.interval = config_.telemetry_interval;
  t.data_dir = config_.data_dir;
  t.control_socket = config_.control_socket.empty() ? config_.data_dir / "run" / "runtime.sock"
                                                    : config_.control_socket;
  t.device_id = identity_->device_id;
  t.endpoint = credentials::endpoint(paths_, servers_.current(), true);
  t.server_url = [this] {
    std::lock_guard lock(server_mutex_);
    return server_now_;
  };
  telemetry_thread_ =
      std::thread([this, t] { run_telemetry(t, update_counts_, server_back_, telemetry_stop_); });
}

void Agent::stop_telemetry() {
  telemetry_stop_ = true;
  if (telemetry_thread_.joinable()) telemetry_thread_.join();
}

// The trust root baked into the image must parse before anything else: without it no release can
// ever be verified, and retrying will not change that.
Status Agent::load_trust_root() {
  auto root_json = read_file(config_.trust_root, trust::kMaxRootBytes);
  if (!root_json) return std::move(root_json).error().context("trust root");
  if (auto check = trust::TrustedSet::create(*root_json, utc_now()); !check) {
    return std::move(check).error().context("trust root " + config_.trust_root.string());
  }
  trust_root_json_ = std::move(*root_json);
  return {};
}

// The identity from the data folder, or, on first start, enrolment with the bootstrap token.
Status Agent::load_or_enrol() {
  auto identity = credentials::load(paths_);
  while (!identity && !stop_) {
    EF_TRY(auto boot, bootstrap::load(config_.bootstrap_dir, true));
    choose_from(boot.server_urls);
    identity = credentials::enroll(paths_, boot, servers_.current(), api_);
    if (identity) {
      log("enrolled as " + identity->device_id);
      break;
    }
    if (identity.error().code == Errc::refused)
      return std::move(identity).error().context("enrollment refused");
    log("enrollment failed, will retry: " + identity.error().message);
    if (!back_off(server_choice::server_down(api_.last_status())))
      return std::move(identity).error();
  }
  if (!identity) return {};  // stopped
  identity_ = std::move(*identity);
  choose_from(identity_->server_urls);  // also gives the API client the device certificate
  servers_.succeeded();
  return {};
}

// A new list draws a server at random (the same list keeps the choice), and says which.
void Agent::choose_from(const std::vector<std::string>& urls) {
  const auto before = servers_.urls();
  servers_.use(urls);
#if EF_FAIL_POINTS
  if (const char* first = std::getenv("EDGEFLEET_FIRST_SERVER"); first && before.empty())
    servers_.start_at(std::strtoul(first, nullptr, 10));
#endif
  if (servers_.urls() != before) {
    log("server " + servers_.current() + " (" + std::to_string(servers_.index() + 1) + " of " +
        std::to_string(servers_.urls().size()) + ")");
  }
  follow_current_server();
}

// Points the API client (once enrolled) and the telemetry thread at the current server.
void Agent::follow_current_server() {
  if (identity_) api_.set_endpoint(credentials::endpoint(paths_, servers_.current(), true));
  std::lock_guard lock(server_mutex_);
  server_now_ = servers_.current();
}

// The update engine over the journal; finishes or undoes whatever update a kill interrupted.
Status Agent::start_engine() {
  EF_TRY(auto journal, update_journal::Journal::open(config_.data_dir));
  EngineConfig c;
  c.data_dir = config_.data_dir;
  c.device_id = identity_->device_id;
  c.control_socket = config_.control_socket.empty() ? config_.data_dir / "run" / "runtime.sock"
                                                    : config_.control_socket;
  c.trust_root_json = trust_root_json_;
  c.server_options = api_.options();
  c.download_limits = config_.download_limits;
  c.cancel = &stop_;
  c.alive = [this] { watchdog_.alive(); };
  engine_ = std::make_unique<UpdateEngine>(std::move(c), std::move(journal), supervisor_);
  engine_->set_progress([this](std::string_view phase, int) { report_progress(phase); });
  if (auto st = engine_->recover(); !st) log("recovery: " + st.error().message);
  return {};
}

// Renews the certificate once two thirds of its life have passed; a failure is retried next
// round while the old certificate still works.
void Agent::renew_if_due() {
  if (utc_now() < identity_->renew_after) return;
  if (auto renewed = credentials::renew(paths_, *identity_, servers_.current(), api_)) {
    identity_ = std::move(*renewed);
    log("certificate renewed until " + format_utc(identity_->not_after));
  } else {
    log("certificate renewal failed, will retry: " + renewed.error().message);
  }
}

// One check-in: reports at once after a change, else long-polls; then applies what it was told.
Result<Agent::Round> Agent::check_in() {
  engine_->refresh_runtime_facts();
  const auto wait = report_now_ ? std::chrono::seconds(0) : config_.checkin_wait;
  auto result = api_.checkin(identity_->device_id, report_.next(make_report(), Clock::now()),
                             report_now_ ? std::string() : etag_, wait);
  if (!result) {
    report_.lost();
    if (stop_) return Round::done;
    if (result.error().code == Errc::refused) {
      log("the server refused this device (" + result.error().message + "); waiting");
    } else {
      log("check-in failed, will retry: " + result.error().message);
    }
    if (!back_off(server_choice::server_down(api_.last_status()))) return std::move(result).error();
    report_now_ = true;
    return Round::again;
  }
  report_.acknowledged();
  if (servers_.failures() > 0) ++server_back_;
  servers_.succeeded();
  report_now_ = false;
  if (!result->etag.empty()) etag_ = result->etag;
  if (result->changed && result->desired) {
    const auto& d = *result->desired;
    if (auto st = engine_->note_desired(d.release); !st) log("journal: " + st.error().message);
    desired_ = d.release ? std::optional<Target>(Target{*d.release, d.metadata_url, d.blobs_url})
                         : std::nullopt;
  }
  apply_desired();
  return config_.once && !report_now_ ? Round::done : Round::again;
}

// Updates to the desired release unless the device runs it or it failed before.
void Agent::apply_desired() {
  if (!desired_) return;
  const auto& s = engine_->state();
  const bool pending = s.committed != desired_->release || s.update.has_value();
  if (!pending || s.failed.contains(desired_->release)) return;
  log("updating to " + desired_->release);
  Target target = *desired_;  // from a listed server: fetched from the current one
  target.metadata_url = servers_.rebase(target.metadata_url);
  target.blobs_url = servers_.rebase(target.blobs_url);
  if (auto st = engine_->apply(target); !st) {
    log(st.error().message);
    if (st.error().code == Errc::rolled_back)
      ++update_counts_.rolled_back;
    else if (!transient(st.error()))
      ++update_counts_.failed;
    if (transient(st.error())) sleep_for(servers_.same_server());
  } else {
    ++update_counts_.committed;
    log("release " + desired_->release + " committed");
  }
  report_now_ = true;  // tell the server at once how it went
}

// After a failure: moves to the next server if this one is down, then waits. Returns false when
// a --once run should give up instead (every server failed, or this one refused).
bool Agent::back_off(bool down) {
  const std::string failed = servers_.current();
  const auto wait = down ? servers_.next_server() : servers_.same_server();
  if (config_.once && servers_.rounds() > 0) return false;
  if (servers_.current() != failed) {
    log("server " + failed + " unreachable; trying " + servers_.current() + " in " +
        std::to_string(wait.count()) + " ms");
    follow_current_server();
  }
  sleep_for(wait);
  return true;
}

// Waits, waking early when asked to stop, and keeps the watchdog fed: a 60 s back-off is
// waiting, not hanging.
void Agent::sleep_for(std::chrono::milliseconds wait) {
  const auto until = Clock::now() + wait;
  while (!stop_ && Clock::now() < until) {
    watchdog_.alive();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// While an update runs, tells the server how far it got: at once when the phase changes, else at
// most every 2 s (download progress), never long-polling.
void Agent::report_progress(std::string_view phase) {
  watchdog_.alive();
  const bool new_phase = phase != last_phase_;
  if (!new_phase && Clock::now() - last_progress_report_ < std::chrono::seconds(2)) return;
  last_phase_ = std::string(phase);
  last_progress_report_ = Clock::now();
  auto sent = api_.checkin(identity_->device_id, report_.next(make_report(), Clock::now()), etag_,
                           std::chrono::seconds(0));
  if (sent)
    report_.acknowledged();
  else
    report_.lost();
}

json::Json Agent::make_report() const {
  json::Json r = engine_->report();
  r["agent_version"] = kAgentVersion;
  r["hardware"] = hwinfo::to_json(hwinfo::collect(config_.data_dir));
  return r;
}

Status run_agent(const AgentConfig& config, const std::atomic<bool>& stop) {
  return Agent(config, stop).run();
}

}  // namespace ef::agent

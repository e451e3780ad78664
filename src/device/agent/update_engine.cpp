#include "device/agent/update_engine.hpp"

#include <sys/statvfs.h>

#include <set>
#include <thread>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/fetch/fetch.hpp"
#include "core/release_verify/materialize.hpp"
#include "core/release_verify/verify.hpp"
#include "core/trust/trusted_set.hpp"
#include "device/agent/fail_point.hpp"

namespace ef::agent {

namespace fs = std::filesystem;
using update_journal::Kind;
using update_journal::Phase;
using update_journal::State;

namespace {
constexpr int kMaxTrialStarts = 3;

// The version in a release's model/model.json, which the runtime checks before swapping.
std::string model_version_of(const fs::path& model_dir) {
  auto text = read_file(model_dir / "model.json", 1024 * 1024);
  if (!text) return {};
  auto j = json::parse_strict(*text, {.max_bytes = 1024 * 1024});
  if (!j || !j->is_object() || !j->contains("version") || !(*j)["version"].is_string()) return {};
  return (*j)["version"].get<std::string>();
}
constexpr std::uint64_t kDiskReserve = 32 * 1024 * 1024;
}  // namespace

UpdateEngine::UpdateEngine(EngineConfig config, update_journal::Journal journal,
                           supervisor::Supervisor& supervisor)
    : config_(std::move(config)),
      journal_(std::move(journal)),
      supervisor_(supervisor),
      layout_(config_.data_dir),
      runtime_(config_.control_socket) {}

Status UpdateEngine::journal(State next, std::string_view event) {
  return journal_.commit(std::move(next), event);
}

void UpdateEngine::report_progress(std::string_view phase, int percent) {
  phase_for_report_ = std::string(phase);
  percent_for_report_ = percent;
  if (progress_) progress_(phase, percent);
}

json::Json UpdateEngine::report() const {
  const State& s = journal_.state();
  json::Json r{
      {"installed_release", s.committed ? json::Json(*s.committed) : json::Json(nullptr)},
      {"trial_release", nullptr},
      {"model_version", model_version_.empty() ? json::Json(nullptr) : json::Json(model_version_)},
      {"last_failure_reason", s.last_failure ? json::Json(*s.last_failure) : json::Json(nullptr)},
      {"update", nullptr}};
  if (s.update) {
    const Phase p = s.update->phase;
    if (p == Phase::switching || p == Phase::trial || p == Phase::committing)
      r["trial_release"] = s.update->target;
    const bool downloading = p == Phase::downloading;
    r["update"] = json::Json{
        {"phase", std::string(update_journal::phase_name(p))},
        {"progress", downloading ? percent_for_report_ : (p >= Phase::staging ? 100 : 0)},
        {"release", s.update->target}};
  }
  if (runtime_stats_) {
    auto number = [](const std::optional<double>& v) { return v ? json::Json(*v) : json::Json(); };
    const auto& st = *runtime_stats_;
    r["runtime"] = json::Json{{"frames_per_second", number(st.frames_per_second)},
                              {"latency_p99_seconds", number(st.latency_p99_seconds)},
                              {"frames_processed", number(st.frames_processed)},
                              {"frames_dropped", number(st.frames_dropped)},
                              {"uptime_seconds", number(st.uptime_seconds)},
                              {"restarts", supervisor_.snapshot().exits}};
  } else {
    r["runtime"] = nullptr;
  }
  if (!last_update_.is_null()) r["last_update"] = last_update_;
  return r;
}

void UpdateEngine::note_outcome(const update_journal::Update& u, std::string_view outcome) {
  const auto took = std::chrono::steady_clock::now() - update_started_;
  last_update_ = json::Json{
      {"release", u.target},
      {"kind", u.kind == Kind::model_swap ? "model_swap" : "full"},
      {"outcome", std::string(outcome)},
      {"downloaded_bytes", downloaded_bytes_},
      {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(took).count()}};
}

void UpdateEngine::refresh_runtime_facts() {
  runtime_stats_.reset();
  if (!supervisor_.snapshot().running) return;
  if (auto h = runtime_.health(); h && !h->model_version.empty()) model_version_ = h->model_version;
  if (auto st = runtime_.stats(model_version_)) runtime_stats_ = *st;
}

Status UpdateEngine::note_desired(const std::optional<std::string>& release) {
  State s = state_copy();
  if (s.desired == release) return {};
  s.desired = release;
  // A failed release may be tried again once the operator has asked for something else.
  s.failed.clear();
  return journal(std::move(s), "desired " + release.value_or("none"));
}

Result<release::Release> UpdateEngine::trusted_release(const std::string& version) {
  EF_TRY(std::string bytes,
         read_file(config_.data_dir / "trust/metadata/targets.json", trust::kMaxTargetsBytes));
  EF_TRY(trust::Envelope env, trust::parse_envelope(bytes, trust::kMaxTargetsBytes));
  EF_TRY(trust::Targets targets, trust::parse_targets(env.signed_json));
  return release::release_from_targets(targets, version);
}

Status UpdateEngine::apply(const Target& target) {
  last_target_ = target;
  const State& s = journal_.state();
  if (s.update && s.update->target != target.release) {
    if (s.update->phase >= Phase::switching) {
      return make_error(Errc::internal, "another update is past its switch; recover() first");
    }
    State next = state_copy();
    next.update.reset();  // nothing was switched yet: the device still runs what it ran
    EF_CHECK(journal(std::move(next), "update abandoned for " + target.release));
  }
  if (s.committed == target.release && !s.update) return {};
  if (s.failed.contains(target.release)) return {};
  return run(target);
}

Status UpdateEngine::fail_update(const std::string& reason) {
  State s = state_copy();
  const std::string target = s.update ? s.update->target : std::string("?");
  s.failed[target] = reason;
  s.last_failure = "release " + target + ": " + reason;
  s.update.reset();
  report_progress("failed", 0);
  EF_CHECK(journal(std::move(s), "update failed: " + reason));
  return make_error(Errc::refused, "release " + target + " refused: " + reason);
}

Status UpdateEngine::run(const Target& target) {
  EF_CHECK(begin(target));
  report_progress("verifying", 0);
  release::Release rel;
  if (auto st = verify(target, rel); !st) return fail_update(st.error().message);
  fail_point("release_verified");
  EF_CHECK(download_phase(target, rel));
  fail_point("downloads_complete");
  EF_CHECK(stage_phase(rel));
  fail_point("staged");
  State s = state_copy();
  s.update->kind = model_only_change(*s.update, rel) ? Kind::model_swap : Kind::full;
  s.update->phase = Phase::switching;
  EF_CHECK(journal(s, "switching"));
  fail_point("switch_journaled");
  return switch_and_trial();
}

Status UpdateEngine::begin(const Target& target) {
  update_started_ = std::chrono::steady_clock::now();
  downloaded_bytes_ = 0;
  State s = state_copy();
  if (s.update && s.update->target == target.release) return {};  // resuming
  s.update =
      update_journal::Update{target.release, s.committed, Phase::verifying, Kind::full, 0, {}};
  EF_CHECK(journal(s, "update started"));
  fail_point("update_started");
  return {};
}

Status UpdateEngine::download_phase(const Target& target, const release::Release& rel) {
  State s = state_copy();
  if (s.update->phase < Phase::downloading) {
    s.update->phase = Phase::downloading;
    EF_CHECK(journal(s, "downloading"));
    fail_point("download_journaled");
  }
  auto st = download(target, rel);
  if (st) return {};
  const Errc code = st.error().code;
  if (code != Errc::network && code != Errc::timeout) return fail_update(st.error().message);
  // Transient: keep the partial downloads and the journal; the next attempt resumes.
  State t = state_copy();
  t.last_failure = "release " + target.release + ": " + st.error().message + " (will retry)";
  EF_CHECK(journal(std::move(t), "download interrupted"));
  return st;
}

Status UpdateEngine::stage_phase(const release::Release& rel) {
  State s = state_copy();
  s.update->phase = Phase::staging;
  EF_CHECK(journal(s, "staging"));
  fail_point("staging_journaled");
  if (auto st = stage(rel); !st) return fail_update(st.error().message);
  return {};
}

bool UpdateEngine::model_only_change(const update_journal::Update& u, const release::Release& rel) {
  // Only the model changed (code and config identical) and the running release can swap it.
  if (!u.from || !supervisor_.snapshot().running) return false;
  auto from = trusted_release(*u.from);
  auto launch = load_launch(layout_.release(u.target));
  if (!from || !launch || !launch->model_hot_swap) return false;
  auto all_but_model = [](const release::Release& r) {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& f : r.files)
      if (f.part != release::Part::model) out.emplace(f.path, f.sha256);
    return out;
  };
  return all_but_model(*from) == all_but_model(rel);
}

Status UpdateEngine::verify(const Target& target, release::Release& out) {
  const fs::path trust_dir = config_.data_dir / "trust";
  if (!fs::exists(trust_dir / "metadata/root.json")) {
    EF_CHECK(trust::init_trusted_root(trust_dir / "metadata", config_.trust_root_json));
  }
  auto options = config_.server_options;
  options.cancel = config_.cancel;
  fetch::HttpMetadataSource source(target.metadata_url, options);
  trust::UpdaterOptions u;
  u.metadata_dir = trust_dir / "metadata";
  u.not_before = release::build_time();
  u.strict_role_names = true;
  trust::Updater updater(u, source);
  EF_CHECK(updater.refresh());
  EF_TRY(out, release::release_from_targets(*updater.trusted().targets("targets"), target.release));
  EF_TRY(std::int64_t highest, release::read_highest_epoch(trust_dir));
  EF_CHECK(release::check_epoch(out, highest));
  EF_CHECK(launch_file_present(out));
  return {};
}

Status UpdateEngine::launch_file_present(const release::Release& rel) {
  for (const auto& f : rel.files) {
    if (f.path == "config/launch.json" && !f.symlink) return {};
  }
  return make_error(Errc::malformed,
                    "release " + rel.version + " has no config/launch.json (how to run it)");
}

Status UpdateEngine::download(const Target& target, const release::Release& rel) {
  const fs::path cache = config_.data_dir / "blobs";
  EF_CHECK(make_dirs(cache, 0700));
  // Space for what is missing plus the installed copy, and a reserve.
  std::uint64_t total = 0, have = 0;
  std::set<std::string> seen;
  for (const auto& f : rel.files) {
    if (!seen.insert(f.sha256).second) continue;
    total += f.length;
    have += std::min<std::uint64_t>(blob_download::bytes_on_disk(cache, f.sha256), f.length);
  }
  struct statvfs vfs {};
  if (::statvfs(config_.data_dir.c_str(), &vfs) == 0) {
    const std::uint64_t available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    const std::uint64_t needed = (total - have) + rel.bytes() + kDiskReserve;
    if (available < needed) {
      return make_error(Errc::no_space, "not enough disk space: release " + rel.version +
                                            " needs " + std::to_string(needed / (1024 * 1024)) +
                                            " MiB, " + std::to_string(available / (1024 * 1024)) +
                                            " MiB free");
    }
  }
  seen.clear();
  std::uint64_t done_before = 0;
  for (const auto& f : rel.files) {
    if (!seen.insert(f.sha256).second) continue;
    const std::string url = fetch::join_url(target.blobs_url, f.sha256);
    bool first_chunk = true;
    auto progress = [&](std::uint64_t on_disk) {
      if (first_chunk && on_disk < f.length) {
        first_chunk = false;
        fail_point("blob_partial");
      }
      const int pct = total == 0 ? 100 : static_cast<int>(100 * (done_before + on_disk) / total);
      report_progress("downloading", pct);
    };
    auto options = config_.server_options;
    options.cancel = config_.cancel;
    const std::uint64_t had =
        std::min<std::uint64_t>(blob_download::bytes_on_disk(cache, f.sha256), f.length);
    EF_CHECK(blob_download::fetch_blob(http_, url, f.sha256, f.length, cache, options,
                                       config_.download_limits, progress));
    downloaded_bytes_ += f.length - had;
    done_before += f.length;
    fail_point("blob_downloaded");
  }
  report_progress("downloading", 100);
  return {};
}

Status UpdateEngine::stage(const release::Release& rel) {
  if (layout_.installed(rel.version)) return {};  // materialize creates it complete, in one rename
  EF_CHECK(make_dirs(layout_.releases()));
  return release::materialize(rel, config_.data_dir / "blobs", layout_.release(rel.version));
}

Status UpdateEngine::switch_and_trial() {
  State s = state_copy();
  EF_CHECK(layout_.switch_to(s.update->target));
  fail_point("current_switched");
  s.update->phase = Phase::trial;
  s.update->trial_starts += 1;
  EF_CHECK(journal(s, "trial"));
  fail_point("trial_journaled");
  return trial();
}

Status UpdateEngine::start_runtime(const std::string& version) {
  EF_TRY(Launch launch, load_launch(layout_.release(version)));
  const fs::path dir = layout_.release(version);
  // sockaddr_un holds 108 bytes: a longer path would fail inside the runtime, obscurely.
  if (config_.control_socket.string().size() >= 100) {
    return make_error(Errc::invalid_argument,
                      "control socket path " + config_.control_socket.string() +
                          " is too long for a Unix socket (100 bytes at most)");
  }
  EF_CHECK(make_dirs(config_.data_dir / "log"));
  EF_CHECK(make_dirs(config_.control_socket.parent_path()));
  ::unlink(config_.control_socket.c_str());
  supervisor_.start(launch_spec(launch, dir,
                                {{"control_socket", config_.control_socket.string()},
                                 {"release", version},
                                 {"release_dir", dir.string()},
                                 {"device_id", config_.device_id},
                                 {"data_dir", config_.data_dir.string()}},
                                config_.data_dir / "log" / "runtime.log"));
  return {};
}

Status UpdateEngine::health_gate(const std::string& version, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last = "no answer yet";
  while (std::chrono::steady_clock::now() < until) {
    const auto snap = supervisor_.snapshot();
    if (!snap.running && snap.exits > 0) {
      return make_error(Errc::unhealthy, "the runtime of " + version +
                                             " stopped during its trial (" + snap.last_exit + ")");
    }
    if (auto h = runtime_.health()) {
      if (h->up && h->inferring) {
        model_version_ = h->model_version;
        return {};
      }
      last = h->up ? "up but not inferring" : "not up";
      if (!h->detail.empty()) last += ": " + h->detail;
    } else {
      last = h.error().message;
    }
    if (config_.cancel != nullptr && config_.cancel->load())
      return make_error(Errc::timeout, "stopping");
    if (config_.alive) config_.alive();
    std::this_thread::sleep_for(config_.health_poll);
  }
  return make_error(Errc::unhealthy, "the runtime of " + version +
                                         " was not up and inferring within " +
                                         std::to_string(deadline.count()) + " s (" + last + ")");
}

Status UpdateEngine::trial() {
  const update_journal::Update u = *state_copy().update;
  if (u.trial_starts > kMaxTrialStarts) {
    return roll_back("the agent restarted " + std::to_string(u.trial_starts - 1) +
                     " times during the trial (crash loop)");
  }
  auto launch = load_launch(layout_.release(u.target));
  if (!launch) return roll_back(launch.error().message);
  report_progress("trial", 100);
  supervisor_.set_restarts(false);
  // A hot-swap needs the running runtime to be up; one that is still starting (say, right after
  // an agent restart) gets the chance to come up, and otherwise the new release starts afresh.
  bool swap = u.kind == Kind::model_swap && supervisor_.snapshot().running;
  if (swap && u.from) {
    auto from_launch = load_launch(layout_.release(*u.from));
    swap = from_launch && health_gate(*u.from, from_launch->health_deadline).has_value();
  }
  if (swap) {
    fail_point("swap_requested");
    const fs::path model_dir = layout_.release(u.target) / "model";
    if (auto st =
            runtime_.swap_model(model_dir, model_version_of(model_dir), launch->health_deadline);
        !st) {
      return roll_back(st.error().message);
    }
  } else {
    if (auto st = start_runtime(u.target); !st) return roll_back(st.error().message);
    fail_point("runtime_started");
  }
  if (auto st = health_gate(u.target, launch->health_deadline); !st)
    return roll_back(st.error().message);
  fail_point("health_passed");
  return commit();
}

Status UpdateEngine::commit() {
  State s = state_copy();
  s.update->phase = Phase::committing;
  EF_CHECK(journal(s, "committing"));
  fail_point("commit_journaled");
  supervisor_.set_restarts(true);
  const std::string target = s.update->target;
  // The epoch is recorded once the release is committed: from now on nothing older may install.
  if (auto rel = trusted_release(target)) {
    EF_CHECK(release::record_epoch(config_.data_dir / "trust", rel->epoch));
  }
  if (s.update->from && *s.update->from != target) s.previous = s.update->from;
  note_outcome(*s.update, "committed");
  s.committed = target;
  s.update.reset();
  s.last_failure.reset();
  EF_CHECK(journal(s, "committed " + target));
  report_progress("idle", 0);
  fail_point("committed");
  // Keep the committed release and the previous one (for rollback); keep the committed
  // release's blobs, which the next release mostly shares.
  std::set<std::string> keep{target};
  if (s.previous) keep.insert(*s.previous);
  EF_CHECK(layout_.remove_all_but(keep));
  if (auto rel = trusted_release(target)) {
    std::set<std::string> blobs;
    for (const auto& f : rel->files)
      blobs.insert(f.sha256);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(config_.data_dir / "blobs", ec)) {
      if (!blobs.contains(e.path().filename().string())) fs::remove(e.path(), ec);
    }
  }
  fail_point("cleaned");
  return {};
}

Status UpdateEngine::roll_back(const std::string& reason) {
  State s = state_copy();
  const std::string target = s.update->target;
  s.update->phase = Phase::rolling_back;
  s.update->failure_reason = reason;
  EF_CHECK(journal(s, "rolling back: " + reason));
  fail_point("rollback_journaled");
  report_progress("rolling_back", 0);
  supervisor_.stop();
  if (s.update->from && layout_.installed(*s.update->from)) {
    EF_CHECK(layout_.switch_to(*s.update->from));
    fail_point("rollback_switched");
    EF_CHECK(start_runtime(*s.update->from));
    supervisor_.set_restarts(true);
    fail_point("rollback_runtime_started");
  } else {
    std::error_code ec;
    fs::remove(layout_.current(), ec);  // a first install that failed: nothing to run
  }
  s = state_copy();
  note_outcome(*s.update, "rolled_back");
  s.failed[target] = reason;
  s.last_failure = "release " + target + " rolled back: " + reason;
  s.update.reset();
  EF_CHECK(journal(s, "rolled back " + target));
  fail_point("rollback_done");
  std::set<std::string> keep;
  if (s.committed) keep.insert(*s.committed);
  if (s.previous) keep.insert(*s.previous);
  EF_CHECK(layout_.remove_all_but(keep));
  report_progress("idle", 0);
  return make_error(Errc::rolled_back, "release " + target + " rolled back: " + reason);
}

Status UpdateEngine::start_committed() {
  const State& s = journal_.state();
  if (!s.committed) return {};
  if (!layout_.installed(*s.committed)) {
    return make_error(Errc::not_found,
                      "the committed release " + *s.committed + " is not installed");
  }
  if (layout_.current_version() != s.committed) EF_CHECK(layout_.switch_to(*s.committed));
  supervisor_.set_restarts(true);
  return start_runtime(*s.committed);
}

Status UpdateEngine::recover() {
  State s = state_copy();
  if (!s.update) return start_committed();
  switch (s.update->phase) {
    case Phase::verifying:
    case Phase::downloading:
    case Phase::staging:
      // Nothing was switched: run the committed release; apply() resumes the update.
      return start_committed();
    case Phase::switching:
      if (!layout_.installed(s.update->target)) {
        return roll_back("release " + s.update->target + " was not completely installed");
      }
      return switch_and_trial();
    case Phase::trial:
      s.update->trial_starts += 1;
      EF_CHECK(journal(s, "trial resumed after a restart"));
      return trial();
    case Phase::committing:
      EF_CHECK(commit());
      // The runtime that passed the trial died with the agent: start the committed release.
      return start_committed();
    case Phase::rolling_back:
      return roll_back(s.update->failure_reason);
  }
  return {};
}

}  // namespace ef::agent

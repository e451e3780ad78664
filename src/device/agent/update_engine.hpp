// The device's update engine: from a desired release to a committed one, or back.
//
// apply() walks the journaled phases: verifying (TUF refresh from the baked-in trust root,
// strict release checks, security epoch, disk space), downloading (only missing blobs, resumable,
// each checked), staging (materialize releases/<v> atomically), switching (`current` renamed in
// one step), trial (restart the runtime on the new release, or hot-swap the model when only the
// model changed, then the health gate: up and inferring within the release's deadline) and
// committing. A trial that fails (crash, hang, deadline) switches back to the previous release,
// restarts it and records the reason; that release is not retried until the desired state
// changes. recover() finishes or undoes whatever the journal says was in flight when the agent
// last stopped, so after a kill or power cut the device runs the old release or the new one.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"
#include "core/release_format/release.hpp"
#include "device/agent/launch.hpp"
#include "device/blob_download/blob_download.hpp"
#include "device/installed_releases/layout.hpp"
#include "device/runtime_link/runtime_link.hpp"
#include "device/supervisor/supervisor.hpp"
#include "device/update_journal/journal.hpp"

namespace ef::agent {

struct EngineConfig {
  std::filesystem::path data_dir;
  std::string device_id;
  std::filesystem::path control_socket;
  std::string trust_root_json;          // the root baked into the device image
  http_client::Options server_options;  // TLS settings for metadata and blobs
  blob_download::Limits download_limits;
  std::chrono::milliseconds health_poll{200};
  const std::atomic<bool>* cancel = nullptr;
  // Called while a long step makes progress (each health poll, each download chunk), so a
  // watchdog can tell waiting from hanging.
  std::function<void()> alive;
};

struct Target {
  std::string release;
  std::string metadata_url;
  std::string blobs_url;
};

// Progress for reports: phase name and percent of the download.
using ProgressFn = std::function<void(std::string_view phase, int percent)>;

class UpdateEngine {
 public:
  UpdateEngine(EngineConfig config, update_journal::Journal journal,
               supervisor::Supervisor& supervisor);

  // After a start: completes or rolls back an interrupted update and starts the committed release.
  Status recover();
  // Brings the device to target.release unless it is there already or failed before. Errors:
  // refused (verification, a bad download or staging: the release is marked failed), rolled_back
  // (its trial failed and the previous release runs again), network or timeout (transient: the
  // journal and partial downloads are kept and the next apply() resumes), anything else for the
  // device itself (disk, journal).
  Status apply(const Target& target);
  // Records the desired release named by the server (clears a failure when it changes).
  Status note_desired(const std::optional<std::string>& release);

  const update_journal::State& state() const { return journal_.state(); }
  // The check-in report's update fields: installed/trial release, phase, progress, failure.
  json::Json report() const;
  std::string model_version() const { return model_version_; }
  // Polls the runtime's health and figures (model version, frames/s, p99 latency for reports).
  void refresh_runtime_facts();

  void set_progress(ProgressFn fn) { progress_ = std::move(fn); }

 private:
  Status run(const Target& target);
  Status begin(const Target& target);
  Status download_phase(const Target& target, const release::Release& rel);
  Status stage_phase(const release::Release& rel);
  bool model_only_change(const update_journal::Update& u, const release::Release& rel);
  Status verify(const Target& target, release::Release& out);
  Status download(const Target& target, const release::Release& rel);
  Status stage(const release::Release& rel);
  Status switch_and_trial();
  Status trial();
  Status commit();
  Status roll_back(const std::string& reason);
  Status start_committed();
  Status start_runtime(const std::string& version);
  Status health_gate(const std::string& version, std::chrono::seconds deadline);
  Status journal(update_journal::State next, std::string_view event);
  Result<release::Release> trusted_release(const std::string& version);
  update_journal::State state_copy() const { return journal_.state(); }
  void report_progress(std::string_view phase, int percent);
  Status fail_update(const std::string& reason);
  Status launch_file_present(const release::Release& rel);

  EngineConfig config_;
  update_journal::Journal journal_;
  supervisor::Supervisor& supervisor_;
  installed_releases::Layout layout_;
  runtime_link::RuntimeLink runtime_;
  http_client::HttpClient http_;
  ProgressFn progress_;
  std::string phase_for_report_ = "idle";
  int percent_for_report_ = 0;
  std::string model_version_;
  std::optional<runtime_link::Stats> runtime_stats_;
  std::optional<Target> last_target_;
  // The last update this process finished (committed or rolled back), for reports: what it cost.
  std::uint64_t downloaded_bytes_ = 0;
  std::chrono::steady_clock::time_point update_started_{};
  json::Json last_update_;
  void note_outcome(const update_journal::Update& u, std::string_view outcome);
};

}  // namespace ef::agent

// The TUF client workflow (specification section 5) over a metadata source and a local folder
// of trusted metadata.
//
// refresh() walks root versions one at a time (at most max_root_rotations), then timestamp,
// snapshot and top-level targets, persisting each accepted file exactly as received with an
// atomic, fsynced write. find_target() searches the delegation graph in pre-order depth-first
// order. One reference time is fixed per Updater: max(clock, options.not_before, the persisted
// clock floor), so a device whose clock falls back cannot accept metadata that already expired.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/trust/metadata.hpp"
#include "core/trust/trusted_set.hpp"

namespace ef::trust {

// Where metadata files come from: a repository URL, a folder, a test double.
class MetadataSource {
 public:
  virtual ~MetadataSource() = default;
  // Returns the file's bytes ("3.root.json", "timestamp.json", "2.targets.json"); a missing file
  // is an Errc::not_found error. Must refuse more than max_bytes.
  virtual Result<std::string> fetch(const std::string& file_name, std::uint64_t max_bytes) = 0;
};

struct UpdaterOptions {
  std::filesystem::path metadata_dir;  // trusted copies: root.json, timestamp.json, ...
  int max_root_rotations = 64;
  int max_delegations = 32;
  std::function<UtcTime()> clock = utc_now;
  std::optional<UtcTime> not_before;  // e.g. the build time of the program
  bool persist_clock_floor = true;    // keep the reference time of the last good refresh
  // true: refuse delegated role names that are not plain file names (edgefleet's own
  // repositories); false: percent-encode them in file names and URLs (standard TUF repositories).
  bool strict_role_names = false;
};

class Updater {
 public:
  Updater(UpdaterOptions options, MetadataSource& source);

  // Runs the workflow; on error, what was accepted before the failing step stays persisted.
  Status refresh();

  // The target's signed description, found through the delegation graph; refreshes first if
  // refresh() has not run. not_found when no role that may hold it lists it.
  Result<TargetFile> find_target(const std::string& target_path);

  // Valid after a successful refresh().
  const TrustedSet& trusted() const { return *trusted_; }
  UtcTime reference_time() const { return reference_time_; }

  // The local file name for a role's metadata ("targets.json", "a%2Fb.json").
  static std::string metadata_file_name(const std::string& role);

 private:
  Status load_root();
  Status load_timestamp();
  Status load_snapshot();
  Status load_targets(const std::string& role, const std::string& delegator);
  Result<std::string> read_local(const std::string& role, std::size_t max_bytes) const;
  Status persist(const std::string& role, std::string_view bytes) const;
  Status check_role_name(const std::string& role) const;
  UtcTime compute_reference_time() const;

  UpdaterOptions options_;
  MetadataSource& source_;
  UtcTime reference_time_;
  std::optional<TrustedSet> trusted_;
  bool refreshed_ = false;
};

// Writes root_bytes as the trusted root of an empty metadata folder, after checking that it
// parses and is signed by a threshold of its own keys.
Status init_trusted_root(const std::filesystem::path& metadata_dir, std::string_view root_bytes);

}  // namespace ef::trust

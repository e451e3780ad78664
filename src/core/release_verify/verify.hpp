// Verifying a release end to end from a trusted root, and installing it.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/release_format/release.hpp"
#include "core/trust/updater.hpp"

namespace ef::release {

// The build time of this program: the lowest clock any verification will accept.
UtcTime build_time();

struct VerifyOptions {
  std::filesystem::path repo_dir;  // metadata/ and blobs/sha256/
  std::string root_json;           // the trusted root (bytes)
  std::string version;
  std::optional<std::filesystem::path> into;       // materialize here
  std::optional<std::filesystem::path> state_dir;  // trusted metadata + highest epoch, kept
  std::function<UtcTime()> clock = utc_now;
};

// Refreshes trusted metadata from repo_dir (TUF workflow, strict role names, build-time clock
// floor), extracts the release, refuses it if its security epoch is below the highest epoch
// recorded in state_dir, checks every blob, and with `into` materializes it. With state_dir, the
// trusted metadata and the epoch are kept there for the next verification (rollback defence).
Result<Release> verify_release(const VerifyOptions& options);

// The highest security epoch recorded in a state folder (0 if none), and recording a new one.
Result<std::int64_t> read_highest_epoch(const std::filesystem::path& state_dir);
Status record_epoch(const std::filesystem::path& state_dir, std::int64_t epoch);

// Refuses a release whose epoch is below `highest`.
Status check_epoch(const Release& release, std::int64_t highest);

}  // namespace ef::release

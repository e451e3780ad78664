// A release repository folder, as `edgefleet release build` writes it and the server stores it:
//
//   REPO/metadata/N.root.json, root.json        every root version; the newest as root.json
//   REPO/metadata/N.targets.json, N.snapshot.json, timestamp.json   (TUF, consistent snapshots)
//   REPO/blobs/sha256/<hex>                      every file of every release, stored once
//   REPO/targets/releases/V/<part>/.../<hex>.<name>   hard links to the blobs, so that standard
//                                                TUF clients find targets where the spec says
//
// Writers hold REPO/.lock. Blobs and targets are written before snapshot, and timestamp last,
// each atomically, so a crash mid-build leaves the previous release set valid.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/release_format/release.hpp"
#include "core/release_signing/keyring.hpp"

namespace ef::release {

struct Expiries {
  std::chrono::days targets{365};
  std::chrono::days snapshot{30};
  std::chrono::days timestamp{7};
};

struct BuildOptions {
  std::filesystem::path source_dir;  // holds code/, model/, config/
  std::string version;
  std::filesystem::path keys_dir;
  std::filesystem::path repo_dir;
  std::optional<std::int64_t> epoch;  // default: the repository's highest epoch
  Expiries expiries;
};

struct BuildSummary {
  Release release;
  std::int64_t targets_version = 0;
  std::uint64_t new_blob_bytes = 0;     // bytes added to blobs/
  std::uint64_t reused_blob_bytes = 0;  // bytes already stored by an earlier release
  bool signed_snapshot = false;         // false when KEYS holds no snapshot/timestamp keys
};

Result<BuildSummary> build_release(const BuildOptions& options, UtcTime now);

// Signs a new snapshot naming the newest targets, and a new timestamp naming it, with the
// keyring's snapshot and timestamp keys (the server's online keys, or KEYS offline).
Status sign_snapshot_and_timestamp(const std::filesystem::path& repo_dir, const Keyring& keys,
                                   const Expiries& expiries, UtcTime now);

// Signs a new timestamp for the current snapshot (keeps metadata fresh against freeze attacks).
Status refresh_timestamp(const std::filesystem::path& repo_dir, const Keyring& keys,
                         const Expiries& expiries, UtcTime now);

// The newest version N of N.<role>.json in REPO/metadata (0 if none).
std::int64_t latest_version(const std::filesystem::path& repo_dir, const std::string& role);

}  // namespace ef::release

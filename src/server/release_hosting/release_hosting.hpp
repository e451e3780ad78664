// The server's release repository: stores what `edgefleet release build` signed and serves it to
// devices in the TUF HTTP layout.
//
// The server never holds root or targets keys and never alters what they signed: uploaded targets
// metadata is stored byte for byte after checking it against the trusted root. It holds the
// online snapshot and timestamp keys, signs a new snapshot and timestamp for every publish, and
// re-signs them before they expire (refresh_if_due, called on a timer).
//
// On disk (DIR is the server's data folder):
//   DIR/repository/metadata/N.root.json, root.json, N.targets.json, N.snapshot.json, timestamp.json
//   DIR/repository/blobs/sha256/<hex>       content-addressed, written only after hashing
//   DIR/repository-keys/snapshot-N.key, timestamp-N.key   (mode 0600, folder 0700)
//
// Routes:
//   PUT  /api/v1/repository/blobs/sha256/{hex}  (operator) upload one blob; its SHA-256 must be
//        {hex}. 201 stored, 200 already present, 400 mismatch. Up to Settings::max_blob_bytes.
//   POST /api/v1/repository/blobs/missing {"sha256": [hex...]} (operator) -> {"missing": [...]}
//   PUT  /api/v1/repository/root                 (operator) body N+1.root.json: a root rotation,
//        accepted when signed by a threshold of the current root's keys and of its own.
//   POST /api/v1/releases                        (operator) body N.targets.json: publish. Checked:
//        signed by a threshold of the root's targets keys, version above the current one, not
//        expired, no delegations, every earlier target kept unchanged (releases are immutable),
//        every new release well-formed, every blob present with the listed length (its SHA-256
//        was checked at upload). Then snapshot and timestamp are signed and the new releases
//        recorded. 201 {"targets_version", "releases": [new versions]}.
//   GET  /api/v1/releases                        (read-only) the published releases
//   GET  /repo/metadata/{name}                   N.root.json, root.json, N.targets.json,
//        N.snapshot.json, timestamp.json
//   GET  /repo/blobs/sha256/{hex}                a blob; Range for resumed downloads
//   The /repo/ URLs need an enrolled device's certificate or a read-only operator token. Names
//   that are not exactly one of the above (traversal, encodings, other files) get 400/404.
#pragma once

#include <chrono>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/http/router.hpp"
#include "core/release_signing/repository.hpp"
#include "server/audit/audit.hpp"
#include "server/operator_auth/operator_auth.hpp"
#include "server/store/store.hpp"

namespace ef::release_hosting {

struct Settings {
  release::Expiries expiries;
  std::uint64_t max_blob_bytes = std::uint64_t{8} << 30;
};

// The one-time local setup on the server machine: copies every N.root.json from keys_source (the
// folder `edgefleet keys init` made) into repo_dir/metadata, and only the snapshot and timestamp
// keys into online_keys_dir. Refuses a repository that already has a root.
Status init(const std::filesystem::path& repo_dir, const std::filesystem::path& online_keys_dir,
            const std::filesystem::path& keys_source);

struct Published {
  std::int64_t targets_version = 0;
  std::vector<store::ReleaseRecord> releases;  // the versions this publish added
};

class Repository {
 public:
  Repository(std::filesystem::path repo_dir, std::filesystem::path online_keys_dir,
             Settings settings)
      : repo_(std::move(repo_dir)), keys_dir_(std::move(online_keys_dir)), settings_(settings) {}

  // Why the repository cannot take publishes yet ("" when it can).
  std::string not_ready_reason() const;

  // Moves an uploaded file into the blob store if its SHA-256 is expected_hex. Returns false when
  // the blob was already there.
  Result<bool> store_blob(std::string_view expected_hex, const std::filesystem::path& upload);

  Status add_root(std::string_view bytes);

  // Checks and stores targets metadata, then signs snapshot and timestamp. Refused (Errc::refused)
  // while not_ready_reason() is not empty.
  Result<Published> publish(std::string_view targets_bytes, UtcTime now);

  // Re-signs timestamp (and snapshot) when less than half of their lifetime is left.
  Status refresh_if_due(UtcTime now);

  std::filesystem::path metadata_dir() const { return repo_ / "metadata"; }
  std::filesystem::path blob_dir() const { return repo_ / "blobs" / "sha256"; }

 private:
  // Writes accepted targets metadata, then signs snapshot and timestamp for it.
  Result<Published> store_targets(std::string_view bytes, std::int64_t version, UtcTime now,
                                  Published published);

  std::filesystem::path repo_;
  std::filesystem::path keys_dir_;
  Settings settings_;
};

struct Services {
  store::Store& store;
  Repository& repository;
  operator_auth::OperatorAuth& auth;
  audit::AuditLog& log;
  Settings settings;
};

void add_routes(http::Router& router, Services services);

}  // namespace ef::release_hosting

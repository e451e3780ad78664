// The trusted metadata set: the security core of the TUF client workflow.
//
// It accepts metadata only in the order the specification allows (root updates, then timestamp,
// then snapshot, then targets and delegated targets), each checked against what is already
// trusted: signatures by a threshold of the delegating role's keys, monotonic versions, hashes
// and lengths listed by the referring role, and expiry against one reference time fixed for the
// whole refresh. Nothing is trusted before a root is loaded. It does no I/O; updater.hpp feeds it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/trust/metadata.hpp"

namespace ef::trust {

inline constexpr std::size_t kMaxRootBytes = 512 * 1024;
inline constexpr std::size_t kMaxTimestampBytes = 16 * 1024;
inline constexpr std::size_t kMaxSnapshotBytes = 2 * 1024 * 1024;
inline constexpr std::size_t kMaxTargetsBytes = 8 * 1024 * 1024;

// The outcome of offering a timestamp that is valid but not newer than the trusted one.
enum class TimestampUpdate { updated, unchanged };

class TrustedSet {
 public:
  // Trusts root_bytes as the initial root if it is signed by a threshold of its own root keys.
  // Its expiry is not checked here: an expired local root must still be able to update itself.
  static Result<TrustedSet> create(std::string_view root_bytes, UtcTime reference_time);

  // Accepts root version N+1, signed by a threshold of the trusted root's keys AND of its own.
  Status update_root(std::string_view bytes);

  // Accepts a timestamp signed by the root's timestamp keys, not older than the trusted one and
  // not pointing to an older snapshot. The final root must not be expired. An expired timestamp
  // is remembered for rollback checks but reported as an error.
  Result<TimestampUpdate> update_timestamp(std::string_view bytes);

  // Accepts a snapshot that matches timestamp's hashes/length (unless it comes from the local
  // cache, which was checked when it was downloaded), signed by the snapshot keys, that drops no
  // role and lowers no version of the trusted snapshot. Then checks it is the version timestamp
  // names and not expired; a snapshot failing only those is remembered for rollback checks.
  Status update_snapshot(std::string_view bytes, bool from_local_cache);

  // Accepts "targets" (delegator "root") or a delegated role reached from `delegator`: listed in
  // snapshot with matching hashes/length and version, signed by the delegator's keys for it, and
  // not expired.
  Status update_targets(std::string_view bytes, const std::string& role,
                        const std::string& delegator);

  // Checks an already trusted delegated role against another delegator's keys for it (the same
  // role can be reached along two delegation paths that name different keys).
  Status verify_delegated_again(const std::string& role, const std::string& delegator) const;

  const Root& root() const { return root_; }
  const Timestamp* timestamp() const { return timestamp_ ? &*timestamp_ : nullptr; }
  const Snapshot* snapshot() const { return snapshot_ ? &*snapshot_ : nullptr; }
  const Targets* targets(const std::string& role) const;
  // The delegator that verified role, or nullptr if role is not trusted.
  const std::string* verified_by(const std::string& role) const;
  UtcTime reference_time() const { return reference_time_; }

 private:
  TrustedSet() = default;
  Status check_timestamp_final() const;
  Status check_snapshot_final() const;
  Result<std::pair<KeyMap, RoleKeys>> delegation_keys(const std::string& role,
                                                      const std::string& delegator) const;

  UtcTime reference_time_;
  Root root_;
  std::optional<Timestamp> timestamp_;
  std::optional<Snapshot> snapshot_;
  struct TrustedTargets {
    Targets targets;
    Envelope envelope;
    std::string delegator;
  };
  std::map<std::string, TrustedTargets> targets_;
};

}  // namespace ef::trust

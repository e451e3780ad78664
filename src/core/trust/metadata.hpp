// TUF metadata: the envelope every role shares and the four top-level roles plus delegations,
// parsed strictly from JSON (https://theupdateframework.github.io/specification/latest/).
//
// Parsing checks shape only (types, required fields, formats); whether metadata is trusted is
// decided by verify.hpp and trusted_set.hpp. Unknown fields are kept in the signed JSON, so
// signatures are checked over exactly what was signed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/json/json.hpp"

namespace ef::trust {

inline constexpr std::string_view kRoot = "root";
inline constexpr std::string_view kTimestamp = "timestamp";
inline constexpr std::string_view kSnapshot = "snapshot";
inline constexpr std::string_view kTargets = "targets";

struct Signature {
  std::string keyid;
  std::string sig;  // raw bytes; empty when the hex was empty or invalid (never verifies)
};

// What arrived: the signed part as JSON, its canonical bytes (what the signatures cover) and the
// signatures. Refuses a signature list that names one key id twice.
struct Envelope {
  json::Json signed_json;
  std::string canonical_signed;
  std::vector<Signature> signatures;
};

Result<Envelope> parse_envelope(std::string_view bytes, std::size_t max_bytes);

// Fields every role has.
struct Common {
  std::string type;
  std::int64_t version = 0;
  UtcTime expires;

  bool is_expired(UtcTime now) const { return now >= expires; }
};

// A set of keys and how many of them must sign.
struct RoleKeys {
  std::vector<std::string> keyids;
  std::int64_t threshold = 1;
};

using KeyMap = std::map<std::string, crypto::PublicKey>;

struct Root : Common {
  bool consistent_snapshot = false;
  KeyMap keys;
  std::map<std::string, RoleKeys> roles;  // exactly root, timestamp, snapshot, targets
};

// Version (and optionally length and hashes) of a metadata file, as listed by timestamp/snapshot.
struct MetaFile {
  std::int64_t version = 0;
  std::optional<std::int64_t> length;
  std::map<std::string, std::string> hashes;  // algorithm -> lower-case hex

  // Checks length and every listed hash; an unknown hash algorithm fails.
  Status verify(std::string_view data) const;
};

struct Timestamp : Common {
  MetaFile snapshot_meta;
};

struct Snapshot : Common {
  std::map<std::string, MetaFile> meta;  // "targets.json", "<role>.json"
};

struct TargetFile {
  std::string path;
  std::int64_t length = 0;
  std::map<std::string, std::string> hashes;
  json::Json custom;  // "custom" field, or null

  Status verify(std::string_view data) const;  // length and every hash
};

struct DelegatedRole {
  std::string name;
  RoleKeys keys;
  bool terminating = false;
  std::optional<std::vector<std::string>> paths;
  std::optional<std::vector<std::string>> path_hash_prefixes;

  // True when target_path is delegated to this role by paths (shell patterns, '*' never
  // crossing '/', same number of components) or by path_hash_prefixes.
  bool matches(std::string_view target_path) const;
};

// Hash-bin delegation (TAP 15): role "<prefix>-<bin>" holds targets whose SHA-256 falls in bin.
struct SuccinctRoles {
  RoleKeys keys;
  int bit_length = 1;
  std::string name_prefix;

  std::string role_for(std::string_view target_path) const;
  bool is_member(std::string_view role_name) const;
};

struct Delegations {
  KeyMap keys;
  std::vector<DelegatedRole> roles;
  std::optional<SuccinctRoles> succinct;

  // (role name, terminating) of the roles that may hold target_path, in search order.
  std::vector<std::pair<std::string, bool>> roles_for(std::string_view target_path) const;
  // The keys a delegated role must be signed with, or nothing if name is not delegated here.
  std::optional<RoleKeys> keys_for(std::string_view role_name) const;
};

struct Targets : Common {
  std::map<std::string, TargetFile> targets;
  std::optional<Delegations> delegations;
};

Result<Root> parse_root(const json::Json& signed_json);
Result<Timestamp> parse_timestamp(const json::Json& signed_json);
Result<Snapshot> parse_snapshot(const json::Json& signed_json);
Result<Targets> parse_targets(const json::Json& signed_json);

// The "_type" of a signed object, checked to be `expected`.
Status check_type(const json::Json& signed_json, std::string_view expected);

}  // namespace ef::trust

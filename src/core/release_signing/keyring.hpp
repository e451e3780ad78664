// The release signing keys in a folder (KEYS), as `edgefleet keys init` creates them:
//
//   KEYS/<role>-<n>.key   Ed25519 private keys (PKCS#8 PEM, mode 0600), role in root, targets,
//                         snapshot, timestamp. Root and targets keys stay offline; snapshot and
//                         timestamp keys may be moved to the server, which signs them online.
//   KEYS/<N>.root.json    every root version; KEYS/root.json is the newest (the trust root that
//                         devices bake in is 1.root.json or any later one).
//   KEYS/retired/         keys replaced by a rotation, kept for the record.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/trust/writer.hpp"

namespace ef::release {

inline constexpr const char* kRoles[] = {"root", "targets", "snapshot", "timestamp"};

struct Keyring {
  std::map<std::string, std::vector<trust::SigningKey>> keys;  // role -> private keys present

  const std::vector<trust::SigningKey>& of(const std::string& role) const;
};

// Loads every <role>-<n>.key in dir (missing roles are simply absent).
Result<Keyring> load_keyring(const std::filesystem::path& dir);

struct KeysInitOptions {
  int threshold = 1;      // signatures required for root and targets
  int keys_per_role = 0;  // root and targets keys to create; 0: as many as threshold
  std::chrono::days root_expiry{365};
};

// Creates dir (mode 0700) with keys for every role and a root.json signed by the root keys.
// Refuses a folder that already holds a root.json.
Status init_keys(const std::filesystem::path& dir, const KeysInitOptions& options, UtcTime now);

struct RotateOptions {
  std::string role;   // which role gets new keys
  int new_keys = 1;   // how many
  int threshold = 0;  // new threshold; 0 keeps the current one (capped at new_keys)
  std::chrono::days root_expiry{365};
};

// Replaces role's keys and writes the next root version, signed by the current root keys and,
// for a root rotation, by the new root keys as well. Returns the new root version.
Result<std::int64_t> rotate_keys(const std::filesystem::path& dir, const RotateOptions& options,
                                 UtcTime now);

// Root versions present in dir as N.root.json, ascending.
std::vector<std::int64_t> root_versions(const std::filesystem::path& dir);

}  // namespace ef::release

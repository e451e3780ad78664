// Building and signing TUF metadata: for `edgefleet keys` and `edgefleet release build` (offline
// root and targets keys) and for the server (online snapshot and timestamp keys).
//
// Builders return the "signed" JSON object; sign_metadata wraps it with signatures over its
// canonical form. Keys are Ed25519 with TUF key ids (SHA-256 of the canonical public key JSON).
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/json/json.hpp"
#include "core/trust/metadata.hpp"

namespace ef::trust {

inline constexpr const char* kSpecVersion = "1.0.31";

struct SigningKey {
  std::string keyid;
  crypto::PrivateKey key;
};

json::Json public_key_json(const crypto::PrivateKey& key);
std::string key_id(const crypto::PrivateKey& key);
SigningKey make_signing_key(crypto::PrivateKey key);

// Returns the envelope {"signatures": [...], "signed": signed_json} as JSON text.
Result<std::string> sign_metadata(const json::Json& signed_json, std::span<const SigningKey> keys);

struct RoleDefinition {
  std::vector<json::Json> keys;  // public_key_json of each key
  std::vector<std::string> keyids;
  std::int64_t threshold = 1;
};

json::Json root_json(std::int64_t version, UtcTime expires,
                     const std::map<std::string, RoleDefinition>& roles,
                     bool consistent_snapshot = true);
json::Json targets_json(std::int64_t version, UtcTime expires,
                        const std::map<std::string, TargetFile>& targets);
json::Json snapshot_json(std::int64_t version, UtcTime expires,
                         const std::map<std::string, MetaFile>& meta);
json::Json timestamp_json(std::int64_t version, UtcTime expires, const MetaFile& snapshot_meta);

json::Json meta_file_json(const MetaFile& meta);

// version + length + sha256 of a metadata file, as snapshot and timestamp list it.
MetaFile describe_metadata(std::string_view bytes, std::int64_t version);
// length + sha256 of a target file.
TargetFile describe_target(const std::string& path, std::string_view bytes,
                           json::Json custom = nullptr);

}  // namespace ef::trust

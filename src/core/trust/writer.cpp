#include "core/trust/writer.hpp"

#include "core/common/hex.hpp"
#include "core/crypto/hash.hpp"

namespace ef::trust {

using json::Json;

Json public_key_json(const crypto::PrivateKey& key) {
  return Json{
      {"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", key.public_hex()}}}};
}

std::string key_id(const crypto::PrivateKey& key) {
  // Canonical JSON of a key object cannot fail: it holds only strings.
  return crypto::sha256_hex(*json::canonical(public_key_json(key)));
}

SigningKey make_signing_key(crypto::PrivateKey key) {
  std::string id = key_id(key);
  return SigningKey{std::move(id), std::move(key)};
}

Result<std::string> sign_metadata(const Json& signed_json, std::span<const SigningKey> keys) {
  EF_TRY(std::string canonical, json::canonical(signed_json));
  Json signatures = Json::array();
  for (const auto& k : keys) {
    signatures.push_back({{"keyid", k.keyid}, {"sig", to_hex(k.key.sign(canonical))}});
  }
  Json envelope{{"signatures", std::move(signatures)}, {"signed", signed_json}};
  return envelope.dump(1) + "\n";
}

namespace {
Json common(std::string_view type, std::int64_t version, UtcTime expires) {
  return Json{{"_type", type},
              {"spec_version", kSpecVersion},
              {"version", version},
              {"expires", format_utc(expires)}};
}
}  // namespace

Json meta_file_json(const MetaFile& m) {
  Json out{{"version", m.version}};
  if (m.length) out["length"] = *m.length;
  if (!m.hashes.empty()) out["hashes"] = m.hashes;
  return out;
}

Json root_json(std::int64_t version, UtcTime expires,
               const std::map<std::string, RoleDefinition>& roles, bool consistent_snapshot) {
  Json out = common(kRoot, version, expires);
  out["consistent_snapshot"] = consistent_snapshot;
  Json keys = Json::object();
  Json role_json = Json::object();
  for (const auto& [name, def] : roles) {
    for (std::size_t i = 0; i < def.keys.size() && i < def.keyids.size(); ++i)
      keys[def.keyids[i]] = def.keys[i];
    role_json[name] = Json{{"keyids", def.keyids}, {"threshold", def.threshold}};
  }
  out["keys"] = std::move(keys);
  out["roles"] = std::move(role_json);
  return out;
}

Json targets_json(std::int64_t version, UtcTime expires,
                  const std::map<std::string, TargetFile>& targets) {
  Json out = common(kTargets, version, expires);
  Json files = Json::object();
  for (const auto& [path, t] : targets) {
    Json entry{{"length", t.length}, {"hashes", t.hashes}};
    if (!t.custom.is_null()) entry["custom"] = t.custom;
    files[path] = std::move(entry);
  }
  out["targets"] = std::move(files);
  return out;
}

Json snapshot_json(std::int64_t version, UtcTime expires,
                   const std::map<std::string, MetaFile>& meta) {
  Json out = common(kSnapshot, version, expires);
  Json files = Json::object();
  for (const auto& [name, m] : meta)
    files[name] = meta_file_json(m);
  out["meta"] = std::move(files);
  return out;
}

Json timestamp_json(std::int64_t version, UtcTime expires, const MetaFile& snapshot_meta) {
  Json out = common(kTimestamp, version, expires);
  out["meta"] = Json{{"snapshot.json", meta_file_json(snapshot_meta)}};
  return out;
}

MetaFile describe_metadata(std::string_view bytes, std::int64_t version) {
  return MetaFile{
      version, static_cast<std::int64_t>(bytes.size()), {{"sha256", crypto::sha256_hex(bytes)}}};
}

TargetFile describe_target(const std::string& path, std::string_view bytes, Json custom) {
  return TargetFile{path,
                    static_cast<std::int64_t>(bytes.size()),
                    {{"sha256", crypto::sha256_hex(bytes)}},
                    std::move(custom)};
}

}  // namespace ef::trust

#include "core/trust/metadata.hpp"

#include <fnmatch.h>

#include <set>

#include "core/common/hex.hpp"
#include "core/common/path.hpp"
#include "core/crypto/hash.hpp"

namespace ef::trust {

using json::Json;

namespace {

Error bad(std::string message) {
  return make_error(Errc::malformed, std::move(message));
}

Result<Common> parse_common(const Json& s, std::string_view expected_type) {
  EF_CHECK(check_type(s, expected_type));
  Common c;
  c.type = std::string(expected_type);
  EF_TRY(c.version, json::get_int(s, "version"));
  if (c.version < 1) return bad("version must be at least 1");
  EF_TRY(std::string spec, json::get_string(s, "spec_version"));
  // Any 1.x specification is compatible; the major version must match.
  if (!spec.starts_with("1.") || spec.size() < 3) {
    return bad("unsupported spec_version \"" + printable(spec) + "\" (need 1.x)");
  }
  EF_TRY(std::string expires, json::get_string(s, "expires"));
  auto t = parse_utc(expires);
  if (!t) return std::move(t).error().context("expires");
  c.expires = *t;
  return c;
}

Result<RoleKeys> parse_role_keys(const Json& r, std::string_view role) {
  RoleKeys out;
  EF_TRY(const Json* keyids, json::get_array(r, "keyids"));
  std::set<std::string> seen;
  for (const auto& k : *keyids) {
    if (!k.is_string()) return bad("role " + printable(role) + ": key ids must be strings");
    const auto& id = k.get_ref<const std::string&>();
    if (!seen.insert(id).second) {
      return bad("role " + printable(role) + " lists key id " + printable(id) + " twice");
    }
    out.keyids.push_back(id);
  }
  EF_TRY(out.threshold, json::get_int(r, "threshold"));
  if (out.threshold < 1 || out.threshold > 1024) {
    return bad("role " + printable(role) + ": threshold must be between 1 and 1024");
  }
  return out;
}

// Keys whose type the client cannot use are left out: they can never count toward a threshold.
Result<KeyMap> parse_keys(const Json& keys) {
  if (!keys.is_object()) return bad("\"keys\" must be an object");
  KeyMap out;
  for (const auto& [keyid, k] : keys.items()) {
    EF_TRY(std::string keytype, json::get_string(k, "keytype"));
    EF_TRY(std::string scheme, json::get_string(k, "scheme"));
    EF_TRY(const Json* keyval, json::get_object(k, "keyval"));
    EF_TRY(std::string pub, json::get_string(*keyval, "public"));
    auto key = crypto::PublicKey::from_tuf(keytype, scheme, pub);
    if (key) {
      out.emplace(keyid, std::move(*key));
    } else if (key.error().code != Errc::unsupported) {
      return std::move(key).error().context("key " + printable(keyid));
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_hashes(const Json& h, bool required) {
  std::map<std::string, std::string> out;
  if (!h.is_object()) return bad("\"hashes\" must be an object");
  for (const auto& [algo, value] : h.items()) {
    if (!value.is_string() || !is_lower_hex(value.get_ref<const std::string&>())) {
      return bad("hash \"" + printable(algo) + "\" must be lower-case hex");
    }
    out.emplace(algo, value.get<std::string>());
  }
  if (required && out.empty()) return bad("\"hashes\" must not be empty");
  return out;
}

Result<MetaFile> parse_meta_file(const Json& m) {
  if (!m.is_object()) return bad("meta entry must be an object");
  MetaFile out;
  EF_TRY(out.version, json::get_int(m, "version"));
  if (out.version < 1) return bad("meta version must be at least 1");
  if (m.contains("length")) {
    EF_TRY(std::int64_t length, json::get_int(m, "length"));
    if (length < 0) return bad("meta length must not be negative");
    out.length = length;
  }
  if (m.contains("hashes")) {
    EF_TRY(out.hashes, parse_hashes(m["hashes"], true));
  }
  return out;
}

Status verify_length_and_hashes(std::string_view data, std::optional<std::int64_t> length,
                                const std::map<std::string, std::string>& hashes) {
  if (length && static_cast<std::uint64_t>(*length) != data.size()) {
    return make_error(Errc::mismatch, "length is " + std::to_string(data.size()) +
                                          " bytes, signed metadata says " +
                                          std::to_string(*length));
  }
  for (const auto& [algo, expected] : hashes) {
    EF_TRY(auto algorithm, crypto::hash_algorithm_from_name(algo));
    crypto::Hasher h(algorithm);
    h.update(data);
    if (h.hex_digest() != expected) {
      return make_error(Errc::mismatch, algo + " hash differs from the signed metadata");
    }
  }
  return {};
}

std::vector<std::string_view> split_path(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto slash = s.find('/', start);
    parts.push_back(s.substr(start, slash == s.npos ? s.npos : slash - start));
    if (slash == s.npos) return parts;
    start = slash + 1;
  }
}

Result<std::vector<std::string>> string_list(const Json& v, std::string_view what) {
  if (!v.is_array()) return bad(std::string(what) + " must be an array");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return bad(std::string(what) + " must hold strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool is_top_level_name(std::string_view name) {
  return name == kRoot || name == kTimestamp || name == kSnapshot || name == kTargets;
}

Result<Delegations> parse_delegations(const Json& d) {
  if (!d.is_object()) return bad("\"delegations\" must be an object");
  Delegations out;
  EF_TRY(const Json* keys, json::get_object(d, "keys"));
  EF_TRY(out.keys, parse_keys(*keys));
  const bool has_roles = d.contains("roles");
  const bool has_succinct = d.contains("succinct_roles");
  if (has_roles == has_succinct)
    return bad("delegations need exactly one of roles, succinct_roles");
  if (has_roles) {
    EF_TRY(const Json* roles, json::get_array(d, "roles"));
    std::set<std::string> names;
    for (const auto& r : *roles) {
      DelegatedRole role;
      EF_TRY(role.name, json::get_string(r, "name"));
      if (role.name.empty() || is_top_level_name(role.name)) {
        return bad("delegated role name \"" + printable(role.name) + "\" is not allowed");
      }
      if (!names.insert(role.name).second) {
        return bad("delegated role " + printable(role.name) + " appears twice");
      }
      EF_TRY(role.keys, parse_role_keys(r, role.name));
      EF_TRY(role.terminating, json::get_bool(r, "terminating"));
      if (r.contains("paths") && r.contains("path_hash_prefixes")) {
        return bad("delegated role " + printable(role.name) +
                   " has both paths and path_hash_prefixes");
      }
      if (r.contains("paths")) {
        EF_TRY(role.paths, string_list(r["paths"], "paths"));
      } else if (r.contains("path_hash_prefixes")) {
        EF_TRY(role.path_hash_prefixes, string_list(r["path_hash_prefixes"], "path_hash_prefixes"));
      }
      out.roles.push_back(std::move(role));
    }
  } else {
    EF_TRY(const Json* s, json::get_object(d, "succinct_roles"));
    SuccinctRoles sr;
    EF_TRY(sr.keys, parse_role_keys(*s, "succinct_roles"));
    EF_TRY(std::int64_t bits, json::get_int(*s, "bit_length"));
    if (bits < 1 || bits > 32) return bad("succinct_roles bit_length must be between 1 and 32");
    sr.bit_length = static_cast<int>(bits);
    EF_TRY(sr.name_prefix, json::get_string(*s, "name_prefix"));
    out.succinct = std::move(sr);
  }
  return out;
}

}  // namespace

Status check_type(const Json& signed_json, std::string_view expected) {
  EF_TRY(std::string type, json::get_string(signed_json, "_type"));
  if (type != expected) {
    return bad("metadata type is \"" + printable(type) + "\", expected \"" + std::string(expected) +
               "\"");
  }
  return {};
}

Result<Envelope> parse_envelope(std::string_view bytes, std::size_t max_bytes) {
  EF_TRY(Json doc, json::parse_strict(bytes, json::Limits{.max_bytes = max_bytes}));
  if (!doc.is_object()) return bad("metadata is not a JSON object");
  Envelope env;
  EF_TRY(const Json* signed_part, json::get_object(doc, "signed"));
  EF_TRY(const Json* signatures, json::get_array(doc, "signatures"));
  std::set<std::string> keyids;
  for (const auto& s : *signatures) {
    Signature sig;
    EF_TRY(sig.keyid, json::get_string(s, "keyid"));
    EF_TRY(std::string hex, json::get_string(s, "sig"));
    if (!keyids.insert(sig.keyid).second) {
      return bad("signatures list key id " + printable(sig.keyid) + " twice");
    }
    if (auto raw = from_hex(hex)) sig.sig = std::move(*raw);
    env.signatures.push_back(std::move(sig));
  }
  EF_TRY(env.canonical_signed, json::canonical(*signed_part));
  env.signed_json = std::move(doc["signed"]);
  return env;
}

Status MetaFile::verify(std::string_view data) const {
  return verify_length_and_hashes(data, length, hashes);
}

Status TargetFile::verify(std::string_view data) const {
  return verify_length_and_hashes(data, length, hashes);
}

bool DelegatedRole::matches(std::string_view target_path) const {
  if (paths) {
    const auto target_parts = split_path(target_path);
    for (const auto& pattern : *paths) {
      const auto pattern_parts = split_path(pattern);
      if (pattern_parts.size() != target_parts.size()) continue;
      bool all = true;
      for (std::size_t i = 0; i < pattern_parts.size() && all; ++i) {
        all = ::fnmatch(std::string(pattern_parts[i]).c_str(), std::string(target_parts[i]).c_str(),
                        0) == 0;
      }
      if (all) return true;
    }
    return false;
  }
  if (path_hash_prefixes) {
    const std::string digest = crypto::sha256_hex(target_path);
    for (const auto& prefix : *path_hash_prefixes) {
      if (digest.starts_with(prefix)) return true;
    }
  }
  return false;
}

namespace {
std::size_t succinct_suffix_length(int bit_length) {
  const std::uint64_t last_bin = (std::uint64_t{1} << bit_length) - 1;
  std::size_t digits = 1;
  for (std::uint64_t v = last_bin >> 4; v != 0; v >>= 4)
    ++digits;
  return digits;
}
}  // namespace

std::string SuccinctRoles::role_for(std::string_view target_path) const {
  const std::string digest = crypto::sha256(target_path);
  std::uint32_t first = 0;
  for (int i = 0; i < 4; ++i)
    first = (first << 8) | static_cast<unsigned char>(digest[i]);
  const std::uint32_t bin = bit_length == 32 ? first : first >> (32 - bit_length);
  std::string suffix =
      to_hex(std::string{static_cast<char>(bin >> 24), static_cast<char>(bin >> 16),
                         static_cast<char>(bin >> 8), static_cast<char>(bin)});
  suffix = suffix.substr(suffix.size() - succinct_suffix_length(bit_length));
  return name_prefix + "-" + suffix;
}

bool SuccinctRoles::is_member(std::string_view role_name) const {
  const std::string head = name_prefix + "-";
  if (!role_name.starts_with(head)) return false;
  const auto suffix = role_name.substr(head.size());
  if (suffix.size() != succinct_suffix_length(bit_length)) return false;
  for (char c : suffix) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const std::uint64_t bin = std::stoull(std::string(suffix), nullptr, 16);
  return bin < (std::uint64_t{1} << bit_length);
}

std::vector<std::pair<std::string, bool>> Delegations::roles_for(
    std::string_view target_path) const {
  std::vector<std::pair<std::string, bool>> out;
  if (succinct) {
    out.emplace_back(succinct->role_for(target_path), true);
    return out;
  }
  for (const auto& role : roles) {
    if (role.matches(target_path)) out.emplace_back(role.name, role.terminating);
  }
  return out;
}

std::optional<RoleKeys> Delegations::keys_for(std::string_view role_name) const {
  if (succinct) {
    if (succinct->is_member(role_name)) return succinct->keys;
    return std::nullopt;
  }
  for (const auto& role : roles) {
    if (role.name == role_name) return role.keys;
  }
  return std::nullopt;
}

Result<Root> parse_root(const Json& s) {
  EF_TRY(Common common, parse_common(s, kRoot));
  Root root;
  static_cast<Common&>(root) = std::move(common);
  if (s.contains("consistent_snapshot")) {
    EF_TRY(root.consistent_snapshot, json::get_bool(s, "consistent_snapshot"));
  }
  EF_TRY(const Json* keys, json::get_object(s, "keys"));
  EF_TRY(root.keys, parse_keys(*keys));
  EF_TRY(const Json* roles, json::get_object(s, "roles"));
  for (const auto& [name, r] : roles->items()) {
    if (!is_top_level_name(name))
      return bad("root defines unknown role \"" + printable(name) + "\"");
    EF_TRY(auto keys_for_role, parse_role_keys(r, name));
    root.roles.emplace(name, std::move(keys_for_role));
  }
  for (auto name : {kRoot, kTimestamp, kSnapshot, kTargets}) {
    if (!root.roles.contains(std::string(name)))
      return bad("root does not define role \"" + std::string(name) + "\"");
  }
  return root;
}

Result<Timestamp> parse_timestamp(const Json& s) {
  EF_TRY(Common common, parse_common(s, kTimestamp));
  Timestamp ts;
  static_cast<Common&>(ts) = std::move(common);
  EF_TRY(const Json* meta, json::get_object(s, "meta"));
  if (meta->size() != 1 || !meta->contains("snapshot.json")) {
    return bad("timestamp meta must list exactly snapshot.json");
  }
  EF_TRY(ts.snapshot_meta, parse_meta_file((*meta)["snapshot.json"]));
  return ts;
}

Result<Snapshot> parse_snapshot(const Json& s) {
  EF_TRY(Common common, parse_common(s, kSnapshot));
  Snapshot snap;
  static_cast<Common&>(snap) = std::move(common);
  EF_TRY(const Json* meta, json::get_object(s, "meta"));
  for (const auto& [name, m] : meta->items()) {
    auto file = parse_meta_file(m);
    if (!file) return std::move(file).error().context("snapshot meta " + printable(name));
    snap.meta.emplace(name, std::move(*file));
  }
  return snap;
}

Result<Targets> parse_targets(const Json& s) {
  EF_TRY(Common common, parse_common(s, kTargets));
  Targets t;
  static_cast<Common&>(t) = std::move(common);
  EF_TRY(const Json* targets, json::get_object(s, "targets"));
  for (const auto& [path, entry] : targets->items()) {
    TargetFile file;
    file.path = path;
    auto length = json::get_int(entry, "length");
    if (!length) return std::move(length).error().context("target " + printable(path));
    if (*length < 0) return bad("target " + printable(path) + ": negative length");
    file.length = *length;
    auto hashes_json = json::get_object(entry, "hashes");
    if (!hashes_json) return std::move(hashes_json).error().context("target " + printable(path));
    auto hashes = parse_hashes(**hashes_json, true);
    if (!hashes) return std::move(hashes).error().context("target " + printable(path));
    file.hashes = std::move(*hashes);
    if (entry.contains("custom")) file.custom = entry["custom"];
    t.targets.emplace(path, std::move(file));
  }
  if (s.contains("delegations")) {
    auto d = parse_delegations(s["delegations"]);
    if (!d) return std::move(d).error().context("delegations");
    t.delegations = std::move(*d);
  }
  return t;
}

}  // namespace ef::trust

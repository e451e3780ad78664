#include "core/release_signing/keyring.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <regex>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/trust/trusted_set.hpp"

namespace ef::release {

namespace fs = std::filesystem;
using json::Json;

const std::vector<trust::SigningKey>& Keyring::of(const std::string& role) const {
  static const std::vector<trust::SigningKey> none;
  auto it = keys.find(role);
  return it == keys.end() ? none : it->second;
}

Result<Keyring> load_keyring(const fs::path& dir) {
  if (!fs::is_directory(dir))
    return make_error(Errc::not_found, "keys folder " + dir.string() + " does not exist");
  Keyring ring;
  static const std::regex name(R"((root|targets|snapshot|timestamp)-([0-9]+)\.key)");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::smatch m;
    const std::string file = path.filename().string();
    if (!std::regex_match(file, m, name)) continue;
    EF_TRY(std::string pem, read_file(path, 64 * 1024));
    auto key = crypto::PrivateKey::from_pem(pem);
    if (!key) return std::move(key).error().context(path.string());
    ring.keys[m[1]].push_back(trust::make_signing_key(std::move(*key)));
  }
  return ring;
}

std::vector<std::int64_t> root_versions(const fs::path& dir) {
  std::vector<std::int64_t> out;
  static const std::regex name(R"(([1-9][0-9]{0,8})\.root\.json)");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name)) out.push_back(std::stoll(m[1]));
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

Status write_new_key(const fs::path& dir, const std::string& role, int n,
                     const crypto::PrivateKey& key) {
  const fs::path path = dir / (role + "-" + std::to_string(n) + ".key");
  if (fs::exists(path)) return make_error(Errc::exists, path.string() + " already exists");
  return write_file_atomic(path, key.to_pem(), 0600);
}

Status write_root(const fs::path& dir, const std::string& bytes, std::int64_t version) {
  EF_CHECK(write_file_atomic(dir / (std::to_string(version) + ".root.json"), bytes));
  return write_file_atomic(dir / "root.json", bytes);
}

}  // namespace

Status init_keys(const fs::path& dir, const KeysInitOptions& options, UtcTime now) {
  if (options.threshold < 1)
    return make_error(Errc::invalid_argument, "threshold must be at least 1");
  const int count = options.keys_per_role == 0 ? options.threshold : options.keys_per_role;
  if (count < options.threshold) {
    return make_error(Errc::invalid_argument, "need at least as many keys as the threshold");
  }
  if (fs::exists(dir / "root.json")) {
    return make_error(Errc::exists,
                      dir.string() + " already holds a root.json; use `edgefleet keys rotate`");
  }
  EF_CHECK(make_dirs(dir, 0700));
  ::chmod(dir.c_str(), 0700);
  std::map<std::string, trust::RoleDefinition> roles;
  std::vector<trust::SigningKey> root_keys;
  for (std::string role : kRoles) {
    // Online roles (snapshot, timestamp) get one key: the server signs them unattended.
    const bool offline = role == "root" || role == "targets";
    const int n = offline ? count : 1;
    trust::RoleDefinition def;
    def.threshold = offline ? options.threshold : 1;
    for (int i = 1; i <= n; ++i) {
      EF_TRY(auto key, crypto::PrivateKey::generate_ed25519());
      EF_CHECK(write_new_key(dir, role, i, key));
      auto signing = trust::make_signing_key(std::move(key));
      def.keys.push_back(trust::public_key_json(signing.key));
      def.keyids.push_back(signing.keyid);
      if (role == "root") root_keys.push_back(std::move(signing));
    }
    roles[role] = std::move(def);
  }
  const Json root = trust::root_json(1, now + options.root_expiry, roles, true);
  EF_TRY(std::string bytes, trust::sign_metadata(root, root_keys));
  return write_root(dir, bytes, 1);
}

namespace {

// The next root: the role's keys replaced by `fresh`, keys no role uses dropped, unsigned.
Json rotated_root(const Json& current_signed, const trust::Root& current,
                  const RotateOptions& options, const std::vector<trust::SigningKey>& fresh,
                  UtcTime now) {
  Json next = current_signed;
  next["version"] = current.version + 1;
  next["expires"] = format_utc(now + options.root_expiry);
  next["roles"][options.role]["keyids"] = Json::array();
  for (const auto& signing : fresh) {
    next["keys"][signing.keyid] = trust::public_key_json(signing.key);
    next["roles"][options.role]["keyids"].push_back(signing.keyid);
  }
  std::int64_t threshold =
      options.threshold > 0 ? options.threshold : current.roles.at(options.role).threshold;
  next["roles"][options.role]["threshold"] =
      std::min<std::int64_t>(threshold, static_cast<std::int64_t>(fresh.size()));
  Json used = Json::object();
  for (const auto& [role, r] : next["roles"].items()) {
    for (const auto& id : r["keyids"])
      used[id.get<std::string>()] = next["keys"][id.get<std::string>()];
  }
  next["keys"] = std::move(used);
  return next;
}

Status rename_or_error(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return make_error(Errc::io, "cannot rename " + from.string() + ": " + ec.message());
  return {};
}

// Writes the keys and the new root in an order that never loses a key a written root relies on:
// new keys under temporary names, the new root, old keys retired, new keys under final names.
Status install_rotation(const fs::path& dir, const RotateOptions& options,
                        const std::vector<trust::SigningKey>& fresh, const std::string& root_bytes,
                        std::int64_t old_version) {
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    const fs::path temp = dir / (options.role + "-" + std::to_string(i + 1) + ".key.new");
    EF_CHECK(write_file_atomic(temp, fresh[i].key.to_pem(), 0600));
  }
  EF_CHECK(write_root(dir, root_bytes, old_version + 1));
  EF_CHECK(make_dirs(dir / "retired", 0700));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.starts_with(options.role + "-") && file.ends_with(".key")) {
      EF_CHECK(rename_or_error(
          entry.path(), dir / "retired" / (file + ".until-root-" + std::to_string(old_version))));
    }
  }
  if (ec) return make_error(Errc::io, "cannot list " + dir.string() + ": " + ec.message());
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    const std::string final_name = options.role + "-" + std::to_string(i + 1) + ".key";
    EF_CHECK(rename_or_error(dir / (final_name + ".new"), dir / final_name));
  }
  EF_CHECK(fsync_dir(dir));
  return fsync_dir(dir / "retired");
}

}  // namespace

Result<std::int64_t> rotate_keys(const fs::path& dir, const RotateOptions& options, UtcTime now) {
  if (std::find(std::begin(kRoles), std::end(kRoles), options.role) == std::end(kRoles)) {
    return make_error(Errc::invalid_argument, "unknown role \"" + printable(options.role) + "\"");
  }
  if (options.new_keys < 1) return make_error(Errc::invalid_argument, "need at least one new key");
  EF_TRY(std::string current_bytes, read_file(dir / "root.json", trust::kMaxRootBytes));
  EF_TRY(trust::Envelope env, trust::parse_envelope(current_bytes, trust::kMaxRootBytes));
  EF_TRY(trust::Root current, trust::parse_root(env.signed_json));
  EF_TRY(Keyring ring, load_keyring(dir));
  if (static_cast<std::int64_t>(ring.of("root").size()) < current.roles.at("root").threshold) {
    return make_error(Errc::invalid_argument,
                      "rotation needs " + std::to_string(current.roles.at("root").threshold) +
                          " root keys in " + dir.string());
  }
  std::vector<trust::SigningKey> fresh;
  for (int i = 1; i <= options.new_keys; ++i) {
    EF_TRY(auto key, crypto::PrivateKey::generate_ed25519());
    fresh.push_back(trust::make_signing_key(std::move(key)));
  }
  const Json next = rotated_root(env.signed_json, current, options, fresh, now);
  std::vector<trust::SigningKey> signers = ring.of("root");
  if (options.role == "root") signers.insert(signers.end(), fresh.begin(), fresh.end());
  EF_TRY(std::string bytes, trust::sign_metadata(next, signers));
  // The new root must verify against the old one, as a device would check it.
  EF_TRY(auto check, trust::TrustedSet::create(current_bytes, now));
  if (auto st = check.update_root(bytes); !st)
    return std::move(st).error().context("new root does not verify");
  EF_CHECK(install_rotation(dir, options, fresh, bytes, current.version));
  return current.version + 1;
}

}  // namespace ef::release

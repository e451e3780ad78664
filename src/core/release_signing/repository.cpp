#include "core/release_signing/repository.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <regex>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/crypto/hash.hpp"
#include "core/trust/trusted_set.hpp"

namespace ef::release {

namespace fs = std::filesystem;
using json::Json;

namespace {

fs::path metadata_dir(const fs::path& repo) {
  return repo / "metadata";
}
fs::path blob_dir(const fs::path& repo) {
  return repo / "blobs" / "sha256";
}

class RepoLock {
 public:
  static Result<RepoLock> take(const fs::path& repo) {
    EF_CHECK(make_dirs(repo));
    RepoLock lock;
    lock.fd_ = UniqueFd(::open((repo / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock.fd_.valid()) return os_error("cannot open lock", repo / ".lock", errno);
    if (::flock(lock.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      return make_error(Errc::exists, "another edgefleet process is writing " + repo.string());
    }
    return lock;
  }

 private:
  UniqueFd fd_;
};

Result<Json> load_signed(const fs::path& file, std::size_t max) {
  EF_TRY(std::string bytes, read_file(file, max));
  EF_TRY(trust::Envelope env, trust::parse_envelope(bytes, max));
  return std::move(env.signed_json);
}

Status require_threshold(const Keyring& keys, const trust::Root& root, const std::string& role) {
  const auto needed = root.roles.at(role).threshold;
  std::int64_t usable = 0;
  for (const auto& k : keys.of(role)) {
    const auto& ids = root.roles.at(role).keyids;
    if (std::find(ids.begin(), ids.end(), k.keyid) != ids.end()) ++usable;
  }
  if (usable < needed) {
    return make_error(Errc::invalid_argument,
                      "the keys folder has " + std::to_string(usable) + " " + role +
                          " key(s) that the current root accepts; it requires " +
                          std::to_string(needed));
  }
  return {};
}

Result<trust::Root> current_root(const fs::path& repo) {
  EF_TRY(Json root, load_signed(metadata_dir(repo) / "root.json", trust::kMaxRootBytes));
  return trust::parse_root(root);
}

// Copies root versions the keys folder has and the repository lacks.
Status sync_roots(const fs::path& keys_dir, const fs::path& repo) {
  EF_CHECK(make_dirs(metadata_dir(repo)));
  const auto versions = root_versions(keys_dir);
  if (versions.empty())
    return make_error(Errc::not_found,
                      keys_dir.string() + " holds no root (run `edgefleet keys init`)");
  for (auto v : versions) {
    const std::string name = std::to_string(v) + ".root.json";
    if (fs::exists(metadata_dir(repo) / name)) continue;
    EF_TRY(std::string bytes, read_file(keys_dir / name, trust::kMaxRootBytes));
    EF_CHECK(write_file_atomic(metadata_dir(repo) / name, bytes));
  }
  const std::string newest = std::to_string(versions.back()) + ".root.json";
  EF_TRY(std::string bytes, read_file(metadata_dir(repo) / newest, trust::kMaxRootBytes));
  return write_file_atomic(metadata_dir(repo) / "root.json", bytes);
}

struct SourceFile {
  std::string path;  // "<part>/<relative>"
  fs::path source;
  bool symlink = false;
  bool executable = false;
};

Result<std::vector<SourceFile>> list_source(const fs::path& src) {
  if (!fs::is_directory(src))
    return make_error(Errc::not_found, "release source " + src.string() + " is not a folder");
  std::vector<SourceFile> files;
  for (const auto& top : fs::directory_iterator(src)) {
    const std::string name = top.path().filename().string();
    if (!part_from_name(name) || !top.is_directory() || top.is_symlink()) {
      return make_error(Errc::invalid_argument,
                        "release source may hold only the folders code/, model/ and "
                        "config/; found " +
                            printable(name));
    }
  }
  for (const char* part : {"code", "model", "config"}) {
    const fs::path dir = src / part;
    if (!fs::exists(dir)) continue;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string rel =
          std::string(part) + "/" + it->path().lexically_relative(src / part).generic_string();
      EF_CHECK(check_relative_path(rel));
      const auto status = it->symlink_status();
      if (fs::is_symlink(status)) {
        files.push_back({rel, it->path(), true, false});
      } else if (fs::is_regular_file(status)) {
        const bool exec = (status.permissions() & fs::perms::owner_exec) != fs::perms::none;
        files.push_back({rel, it->path(), false, exec});
      } else if (!fs::is_directory(status)) {
        return make_error(Errc::invalid_argument,
                          printable(rel) + " is not a regular file, folder or symlink");
      }
    }
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  if (files.empty())
    return make_error(Errc::invalid_argument, "release source " + src.string() + " holds no files");
  return files;
}

// Stores content under its hash (if new) and returns (sha256, length, was_new).
struct Stored {
  std::string sha256;
  std::uint64_t length = 0;
  bool added = false;
};

Result<Stored> store_bytes(const fs::path& repo, std::string_view content) {
  Stored out{crypto::sha256_hex(content), content.size(), false};
  const fs::path blob = blob_path(blob_dir(repo), out.sha256);
  if (!fs::exists(blob)) {
    EF_CHECK(write_file_atomic(blob, content, 0444));
    out.added = true;
  }
  return out;
}

// Streams a file into the blob store: hashed while copied to a temporary file, which becomes
// blobs/sha256/<hash> unless that blob is already there.
Result<Stored> store_file(const fs::path& repo, const fs::path& source) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return os_error("cannot open", source, errno);
  EF_CHECK(make_dirs(blob_dir(repo)));
  const fs::path temp = blob_dir(repo) / (".incoming-" + std::to_string(::getpid()));
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444));
  if (!out.valid()) return os_error("cannot create", temp, errno);
  crypto::Hasher hasher;
  Stored stored;
  std::string buf(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::unlink(temp.c_str());
      return os_error("cannot read", source, errno);
    }
    if (n == 0) break;
    const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    hasher.update(chunk);
    stored.length += chunk.size();
    if (auto st = write_all(out.get(), chunk); !st) {
      ::unlink(temp.c_str());
      return std::move(st).error().context(temp.string());
    }
  }
  stored.sha256 = hasher.hex_digest();
  const fs::path blob = blob_path(blob_dir(repo), stored.sha256);
  if (fs::exists(blob)) {
    ::unlink(temp.c_str());
    return stored;
  }
  if (::fsync(out.get()) != 0 || ::rename(temp.c_str(), blob.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return os_error("cannot store blob", blob, err);
  }
  stored.added = true;
  return stored;
}

Result<Stored> store_blob(const fs::path& repo, const SourceFile& f) {
  if (!f.symlink) return store_file(repo, f.source);
  std::error_code ec;
  const std::string text = fs::read_symlink(f.source, ec).string();
  if (ec) return make_error(Errc::io, "cannot read symlink " + f.source.string());
  if (auto resolved = resolve_symlink(f.path, text); !resolved) return resolved.error();
  return store_bytes(repo, text);
}

// Standard TUF clients with consistent snapshots fetch targets/<dir>/<hash>.<name>.
Status link_for_tuf_clients(const fs::path& repo, const std::string& target,
                            const std::string& sha256) {
  const fs::path t(target);
  const fs::path dir = repo / "targets" / t.parent_path();
  EF_CHECK(make_dirs(dir));
  const fs::path link = dir / (sha256 + "." + t.filename().string());
  if (fs::exists(link)) return {};
  std::error_code ec;
  fs::create_hard_link(blob_path(blob_dir(repo), sha256), link, ec);
  if (ec) return make_error(Errc::io, "cannot link " + link.string() + ": " + ec.message());
  return {};
}

}  // namespace

std::int64_t latest_version(const fs::path& repo, const std::string& role) {
  std::int64_t best = 0;
  const std::regex name("([1-9][0-9]{0,8})\\." + role + "\\.json");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(metadata_dir(repo), ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name)) best = std::max<std::int64_t>(best, std::stoll(m[1]));
  }
  return best;
}

Status sign_snapshot_and_timestamp(const fs::path& repo, const Keyring& keys,
                                   const Expiries& expiries, UtcTime now) {
  EF_TRY(trust::Root root, current_root(repo));
  EF_CHECK(require_threshold(keys, root, "snapshot"));
  const std::int64_t targets_version = latest_version(repo, "targets");
  if (targets_version == 0)
    return make_error(Errc::not_found, "the repository has no targets metadata");
  EF_TRY(std::string targets_bytes,
         read_file(metadata_dir(repo) / (std::to_string(targets_version) + ".targets.json"),
                   trust::kMaxTargetsBytes));
  const std::int64_t snapshot_version = latest_version(repo, "snapshot") + 1;
  const Json snapshot = trust::snapshot_json(
      snapshot_version, now + expiries.snapshot,
      {{"targets.json", trust::describe_metadata(targets_bytes, targets_version)}});
  EF_TRY(std::string snapshot_bytes, trust::sign_metadata(snapshot, keys.of("snapshot")));
  EF_CHECK(write_file_atomic(
      metadata_dir(repo) / (std::to_string(snapshot_version) + ".snapshot.json"), snapshot_bytes));
  return refresh_timestamp(repo, keys, expiries, now);
}

Status refresh_timestamp(const fs::path& repo, const Keyring& keys, const Expiries& expiries,
                         UtcTime now) {
  EF_TRY(trust::Root root, current_root(repo));
  EF_CHECK(require_threshold(keys, root, "timestamp"));
  const std::int64_t snapshot_version = latest_version(repo, "snapshot");
  if (snapshot_version == 0)
    return make_error(Errc::not_found, "the repository has no snapshot metadata");
  EF_TRY(std::string snapshot_bytes,
         read_file(metadata_dir(repo) / (std::to_string(snapshot_version) + ".snapshot.json"),
                   trust::kMaxSnapshotBytes));
  std::int64_t timestamp_version = 1;
  if (fs::exists(metadata_dir(repo) / "timestamp.json")) {
    EF_TRY(Json old, load_signed(metadata_dir(repo) / "timestamp.json", trust::kMaxTimestampBytes));
    EF_TRY(std::int64_t v, json::get_int(old, "version"));
    timestamp_version = v + 1;
  }
  const Json timestamp =
      trust::timestamp_json(timestamp_version, now + expiries.timestamp,
                            trust::describe_metadata(snapshot_bytes, snapshot_version));
  EF_TRY(std::string bytes, trust::sign_metadata(timestamp, keys.of("timestamp")));
  return write_file_atomic(metadata_dir(repo) / "timestamp.json", bytes);
}

namespace {

// The repository's newest targets, which a new release extends.
struct ExistingTargets {
  std::int64_t version = 0;  // 0: none yet
  std::map<std::string, trust::TargetFile> targets;
  std::int64_t highest_epoch = 0;
};

Result<ExistingTargets> load_existing_targets(const fs::path& repo, const std::string& version) {
  ExistingTargets existing;
  existing.version = latest_version(repo, "targets");
  if (existing.version == 0) return existing;
  EF_TRY(Json old,
         load_signed(metadata_dir(repo) / (std::to_string(existing.version) + ".targets.json"),
                     trust::kMaxTargetsBytes));
  EF_TRY(trust::Targets parsed, trust::parse_targets(old));
  const auto versions = release_versions(parsed);
  if (std::find(versions.begin(), versions.end(), version) != versions.end()) {
    return make_error(Errc::exists, "release " + version + " is already in " + repo.string() +
                                        " (releases are immutable: pick a new version)");
  }
  existing.highest_epoch = highest_epoch(parsed);
  existing.targets = std::move(parsed.targets);
  return existing;
}

Result<std::int64_t> choose_epoch(const BuildOptions& options, std::int64_t repo_epoch) {
  const std::int64_t epoch = options.epoch.value_or(repo_epoch);
  if (epoch < repo_epoch) {
    return make_error(Errc::invalid_argument, "security epoch " + std::to_string(epoch) +
                                                  " is below the repository's highest epoch " +
                                                  std::to_string(repo_epoch) +
                                                  "; devices would refuse it");
  }
  return epoch;
}

// Stores every source file as a blob and adds its target (with the edgefleet custom field).
Status add_release_files(const BuildOptions& options, std::int64_t epoch,
                         std::map<std::string, trust::TargetFile>& targets, BuildSummary& summary) {
  EF_TRY(auto files, list_source(options.source_dir));
  for (const auto& f : files) {
    EF_TRY(Stored stored, store_blob(options.repo_dir, f));
    (stored.added ? summary.new_blob_bytes : summary.reused_blob_bytes) += stored.length;
    const std::string part = f.path.substr(0, f.path.find('/'));
    EF_TRY(Part part_kind, part_from_name(part));
    const std::string target = target_path(options.version, f.path);
    if (targets.contains(target))
      return make_error(Errc::internal, "duplicate path " + printable(f.path));
    Json custom{{"edgefleet",
                 {{"release", options.version},
                  {"part", part},
                  {"epoch", epoch},
                  {"mode", f.executable ? 0755 : 0644},
                  {"type", f.symlink ? "symlink" : "file"}}}};
    targets[target] = trust::TargetFile{target,
                                        static_cast<std::int64_t>(stored.length),
                                        {{"sha256", stored.sha256}},
                                        std::move(custom)};
    EF_CHECK(link_for_tuf_clients(options.repo_dir, target, stored.sha256));
    summary.release.files.push_back(
        ReleaseFile{f.path, part_kind, stored.sha256, stored.length, f.executable, f.symlink});
  }
  return fsync_dir(blob_dir(options.repo_dir));
}

}  // namespace

Result<BuildSummary> build_release(const BuildOptions& options, UtcTime now) {
  EF_CHECK(check_version(options.version));
  EF_TRY(Keyring keys, load_keyring(options.keys_dir));
  EF_TRY(RepoLock lock, RepoLock::take(options.repo_dir));
  (void)lock;
  EF_CHECK(sync_roots(options.keys_dir, options.repo_dir));
  EF_TRY(trust::Root root, current_root(options.repo_dir));
  EF_CHECK(require_threshold(keys, root, "targets"));
  EF_TRY(ExistingTargets existing, load_existing_targets(options.repo_dir, options.version));
  EF_TRY(const std::int64_t epoch, choose_epoch(options, existing.highest_epoch));

  BuildSummary summary;
  summary.release.version = options.version;
  summary.release.epoch = epoch;
  EF_CHECK(add_release_files(options, epoch, existing.targets, summary));

  summary.targets_version = existing.version + 1;
  const Json signed_targets = trust::targets_json(summary.targets_version,
                                                  now + options.expiries.targets, existing.targets);
  EF_TRY(std::string bytes, trust::sign_metadata(signed_targets, keys.of("targets")));
  EF_CHECK(write_file_atomic(
      metadata_dir(options.repo_dir) / (std::to_string(summary.targets_version) + ".targets.json"),
      bytes));
  if (!keys.of("snapshot").empty() && !keys.of("timestamp").empty()) {
    EF_CHECK(sign_snapshot_and_timestamp(options.repo_dir, keys, options.expiries, now));
    summary.signed_snapshot = true;
  }
  return summary;
}

}  // namespace ef::release

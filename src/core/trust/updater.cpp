#include "core/trust/updater.hpp"

#include <vector>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"

namespace ef::trust {

namespace {

constexpr const char* kClockFloorFile = "clock-floor";

// Percent-encodes like Python's urllib.parse.quote(s, safe=""), which TUF clients use for role
// names in URLs and file names.
std::string quote(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kDigits[c >> 4], kDigits[c & 0xf]};
    }
  }
  return out;
}

}  // namespace

Updater::Updater(UpdaterOptions options, MetadataSource& source)
    : options_(std::move(options)), source_(source) {
  reference_time_ = compute_reference_time();
}

std::string Updater::metadata_file_name(const std::string& role) {
  return quote(role) + ".json";
}

UtcTime Updater::compute_reference_time() const {
  UtcTime t = options_.clock();
  if (options_.not_before && *options_.not_before > t) t = *options_.not_before;
  if (options_.persist_clock_floor) {
    if (auto text = read_file(options_.metadata_dir / kClockFloorFile, 64)) {
      std::string s = *text;
      while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
      if (auto floor = parse_utc(s); floor && *floor > t) t = *floor;
    }
  }
  return t;
}

Status Updater::check_role_name(const std::string& role) const {
  if (options_.strict_role_names) {
    if (auto st = check_plain_name(role); !st)
      return std::move(st).error().context("delegated role");
  }
  if (role.size() > 255) return make_error(Errc::unsafe_path, "role name longer than 255 bytes");
  return {};
}

Result<std::string> Updater::read_local(const std::string& role, std::size_t max_bytes) const {
  return read_file(options_.metadata_dir / metadata_file_name(role), max_bytes);
}

Status Updater::persist(const std::string& role, std::string_view bytes) const {
  return write_file_atomic(options_.metadata_dir / metadata_file_name(role), bytes);
}

Status Updater::refresh() {
  refreshed_ = true;
  trusted_.reset();
  EF_CHECK(load_root());
  EF_CHECK(load_timestamp());
  EF_CHECK(load_snapshot());
  EF_CHECK(load_targets(std::string(kTargets), std::string(kRoot)));
  if (options_.persist_clock_floor) {
    EF_CHECK(write_file_atomic(options_.metadata_dir / kClockFloorFile,
                               format_utc(reference_time_) + "\n"));
  }
  return {};
}

Status Updater::load_root() {
  auto local = read_local(std::string(kRoot), kMaxRootBytes);
  if (!local) return std::move(local).error().context("no trusted root (run init first)");
  auto set = TrustedSet::create(*local, reference_time_);
  if (!set) return std::move(set).error();
  trusted_ = std::move(*set);
  const std::int64_t first = trusted_->root().version + 1;
  for (std::int64_t v = first; v < first + options_.max_root_rotations; ++v) {
    const std::string name = std::to_string(v) + ".root.json";
    auto bytes = source_.fetch(name, kMaxRootBytes);
    if (!bytes) {
      if (bytes.error().code == Errc::not_found) break;
      return std::move(bytes).error().context("fetching " + name);
    }
    if (auto st = trusted_->update_root(*bytes); !st) return std::move(st).error().context(name);
    EF_CHECK(persist(std::string(kRoot), *bytes));
  }
  return {};
}

Status Updater::load_timestamp() {
  // A valid local timestamp (even an expired one) is the baseline for rollback checks.
  if (auto local = read_local(std::string(kTimestamp), kMaxTimestampBytes)) {
    (void)trusted_->update_timestamp(*local);
  }
  auto bytes = source_.fetch("timestamp.json", kMaxTimestampBytes);
  if (!bytes) return std::move(bytes).error().context("fetching timestamp.json");
  auto outcome = trusted_->update_timestamp(*bytes);
  if (!outcome) return std::move(outcome).error().context("timestamp.json");
  if (*outcome == TimestampUpdate::unchanged) return {};
  return persist(std::string(kTimestamp), *bytes);
}

Status Updater::load_snapshot() {
  if (auto local = read_local(std::string(kSnapshot), kMaxSnapshotBytes)) {
    if (trusted_->update_snapshot(*local, /*from_local_cache=*/true)) return {};
  }
  const MetaFile& meta = trusted_->timestamp()->snapshot_meta;
  const std::string name = trusted_->root().consistent_snapshot
                               ? std::to_string(meta.version) + ".snapshot.json"
                               : std::string("snapshot.json");
  const std::uint64_t max =
      meta.length ? static_cast<std::uint64_t>(*meta.length) : kMaxSnapshotBytes;
  auto bytes = source_.fetch(name, max);
  if (!bytes) return std::move(bytes).error().context("fetching " + name);
  if (auto st = trusted_->update_snapshot(*bytes, false); !st)
    return std::move(st).error().context(name);
  return persist(std::string(kSnapshot), *bytes);
}

Status Updater::load_targets(const std::string& role, const std::string& delegator) {
  if (const std::string* by = trusted_->verified_by(role)) {
    if (*by == delegator) return {};
    return trusted_->verify_delegated_again(role, delegator);
  }
  EF_CHECK(check_role_name(role));
  if (auto local = read_local(role, kMaxTargetsBytes)) {
    if (trusted_->update_targets(*local, role, delegator)) return {};
  }
  auto meta = trusted_->snapshot()->meta.find(role + ".json");
  if (meta == trusted_->snapshot()->meta.end()) {
    return make_error(Errc::not_found, "snapshot does not list role " + printable(role));
  }
  const std::string name =
      trusted_->root().consistent_snapshot
          ? std::to_string(meta->second.version) + "." + metadata_file_name(role)
          : metadata_file_name(role);
  const std::uint64_t max =
      meta->second.length ? static_cast<std::uint64_t>(*meta->second.length) : kMaxTargetsBytes;
  auto bytes = source_.fetch(name, max);
  if (!bytes) return std::move(bytes).error().context("fetching " + name);
  if (auto st = trusted_->update_targets(*bytes, role, delegator); !st) {
    return std::move(st).error().context(name);
  }
  return persist(role, *bytes);
}

Result<TargetFile> Updater::find_target(const std::string& target_path) {
  if (!refreshed_) EF_CHECK(refresh());
  if (!trusted_ || !trusted_->targets(std::string(kTargets))) {
    return make_error(Errc::internal, "metadata is not up to date (refresh failed)");
  }
  // Pre-order depth-first search; the stack holds (role, delegator).
  std::vector<std::pair<std::string, std::string>> to_visit{
      {std::string(kTargets), std::string(kRoot)}};
  std::vector<std::pair<std::string, std::string>> visited;
  int budget = options_.max_delegations;
  while (!to_visit.empty() && budget > 0) {
    auto [role, delegator] = to_visit.back();
    to_visit.pop_back();
    if (std::find(visited.begin(), visited.end(), std::pair{role, delegator}) != visited.end())
      continue;
    EF_CHECK(load_targets(role, delegator));
    const Targets& targets = *trusted_->targets(role);
    if (auto it = targets.targets.find(target_path); it != targets.targets.end()) return it->second;
    visited.emplace_back(role, delegator);
    --budget;
    if (!targets.delegations) continue;
    std::vector<std::pair<std::string, std::string>> children;
    for (auto& [child, terminating] : targets.delegations->roles_for(target_path)) {
      children.emplace_back(child, role);
      if (terminating) {
        to_visit.clear();
        break;
      }
    }
    to_visit.insert(to_visit.end(), children.rbegin(), children.rend());
  }
  return make_error(Errc::not_found,
                    "no trusted role lists target \"" + printable(target_path) + "\"");
}

Status init_trusted_root(const std::filesystem::path& metadata_dir, std::string_view root_bytes) {
  EF_TRY(TrustedSet set, TrustedSet::create(root_bytes, utc_now()));
  (void)set;
  EF_CHECK(make_dirs(metadata_dir, 0755));
  return write_file_atomic(metadata_dir / Updater::metadata_file_name(std::string(kRoot)),
                           root_bytes);
}

}  // namespace ef::trust

#include "core/trust/trusted_set.hpp"

#include "core/common/path.hpp"
#include "core/trust/verify.hpp"

namespace ef::trust {

namespace {

Error expired(std::string_view role, UtcTime expires, UtcTime now) {
  return make_error(Errc::expired, printable(role) + " metadata expired at " + format_utc(expires) +
                                       " (reference time " + format_utc(now) + ")");
}

Error version_error(std::string_view what) {
  return make_error(Errc::rollback, std::string(what));
}

}  // namespace

Result<TrustedSet> TrustedSet::create(std::string_view root_bytes, UtcTime reference_time) {
  TrustedSet set;
  set.reference_time_ = reference_time;
  auto env = parse_envelope(root_bytes, kMaxRootBytes);
  if (!env) return std::move(env).error().context("trusted root");
  auto root = parse_root(env->signed_json);
  if (!root) return std::move(root).error().context("trusted root");
  auto signed_ok =
      verify_threshold(*env, root->keys, root->roles.at(std::string(kRoot)), "trusted root");
  if (!signed_ok) return std::move(signed_ok).error();
  set.root_ = std::move(*root);
  return set;
}

Status TrustedSet::update_root(std::string_view bytes) {
  if (timestamp_) return make_error(Errc::internal, "cannot update root after timestamp");
  EF_TRY(Envelope env, parse_envelope(bytes, kMaxRootBytes));
  EF_TRY(Root next, parse_root(env.signed_json));
  const std::string root_role(kRoot);
  auto by_old = verify_threshold(env, root_.keys, root_.roles.at(root_role),
                                 "new root (by the trusted root's keys)");
  if (!by_old) return by_old;
  if (next.version != root_.version + 1) {
    return version_error("root version " + std::to_string(next.version) +
                         " does not follow trusted version " + std::to_string(root_.version));
  }
  auto by_new =
      verify_threshold(env, next.keys, next.roles.at(root_role), "new root (by its own keys)");
  if (!by_new) return by_new;
  root_ = std::move(next);
  return {};
}

Result<TimestampUpdate> TrustedSet::update_timestamp(std::string_view bytes) {
  if (snapshot_) return make_error(Errc::internal, "cannot update timestamp after snapshot");
  if (root_.is_expired(reference_time_)) return expired("root", root_.expires, reference_time_);
  EF_TRY(Envelope env, parse_envelope(bytes, kMaxTimestampBytes));
  EF_TRY(Timestamp next, parse_timestamp(env.signed_json));
  EF_CHECK(verify_threshold(env, root_.keys, root_.roles.at(std::string(kTimestamp)), "timestamp"));
  if (timestamp_) {
    if (next.version < timestamp_->version) {
      return version_error("timestamp version " + std::to_string(next.version) +
                           " is older than trusted version " + std::to_string(timestamp_->version));
    }
    if (next.version == timestamp_->version) return TimestampUpdate::unchanged;
    if (next.snapshot_meta.version < timestamp_->snapshot_meta.version) {
      return version_error(
          "timestamp names snapshot version " + std::to_string(next.snapshot_meta.version) +
          ", older than trusted version " + std::to_string(timestamp_->snapshot_meta.version));
    }
  }
  timestamp_ = std::move(next);
  EF_CHECK(check_timestamp_final());
  return TimestampUpdate::updated;
}

Status TrustedSet::check_timestamp_final() const {
  if (timestamp_->is_expired(reference_time_))
    return expired("timestamp", timestamp_->expires, reference_time_);
  return {};
}

Status TrustedSet::update_snapshot(std::string_view bytes, bool from_local_cache) {
  if (!timestamp_) return make_error(Errc::internal, "cannot update snapshot before timestamp");
  if (targets_.contains(std::string(kTargets)))
    return make_error(Errc::internal, "cannot update snapshot after targets");
  EF_CHECK(check_timestamp_final());
  if (!from_local_cache) {
    if (auto st = timestamp_->snapshot_meta.verify(bytes); !st)
      return std::move(st).error().context("snapshot");
  }
  EF_TRY(Envelope env, parse_envelope(bytes, kMaxSnapshotBytes));
  EF_TRY(Snapshot next, parse_snapshot(env.signed_json));
  EF_CHECK(verify_threshold(env, root_.keys, root_.roles.at(std::string(kSnapshot)), "snapshot"));
  if (snapshot_) {
    for (const auto& [name, info] : snapshot_->meta) {
      auto it = next.meta.find(name);
      if (it == next.meta.end()) {
        return version_error("new snapshot drops " + printable(name) +
                             ", which the trusted snapshot lists");
      }
      if (it->second.version < info.version) {
        return version_error("new snapshot lowers " + printable(name) + " from version " +
                             std::to_string(info.version) + " to " +
                             std::to_string(it->second.version));
      }
    }
  }
  snapshot_ = std::move(next);
  return check_snapshot_final();
}

Status TrustedSet::check_snapshot_final() const {
  if (snapshot_->is_expired(reference_time_))
    return expired("snapshot", snapshot_->expires, reference_time_);
  if (snapshot_->version != timestamp_->snapshot_meta.version) {
    return make_error(Errc::mismatch, "snapshot version " + std::to_string(snapshot_->version) +
                                          " is not the version timestamp names (" +
                                          std::to_string(timestamp_->snapshot_meta.version) + ")");
  }
  return {};
}

Result<std::pair<KeyMap, RoleKeys>> TrustedSet::delegation_keys(
    const std::string& role, const std::string& delegator) const {
  if (delegator == kRoot) {
    if (role != kTargets) return make_error(Errc::internal, "root delegates only targets");
    return std::pair{root_.keys, root_.roles.at(std::string(kTargets))};
  }
  auto parent = targets_.find(delegator);
  if (parent == targets_.end()) {
    return make_error(Errc::internal, "delegator " + printable(delegator) + " is not trusted");
  }
  const auto& delegations = parent->second.targets.delegations;
  std::optional<RoleKeys> keys;
  if (delegations) keys = delegations->keys_for(role);
  if (!keys) {
    return make_error(Errc::not_found,
                      printable(delegator) + " does not delegate to " + printable(role));
  }
  return std::pair{delegations->keys, *keys};
}

Status TrustedSet::update_targets(std::string_view bytes, const std::string& role,
                                  const std::string& delegator) {
  if (!snapshot_) return make_error(Errc::internal, "cannot update targets before snapshot");
  EF_CHECK(check_snapshot_final());
  auto meta = snapshot_->meta.find(role + ".json");
  if (meta == snapshot_->meta.end()) {
    return make_error(Errc::not_found, "snapshot does not list role " + printable(role));
  }
  if (auto st = meta->second.verify(bytes); !st)
    return std::move(st).error().context(printable(role));
  EF_TRY(auto keys, delegation_keys(role, delegator));
  EF_TRY(Envelope env, parse_envelope(bytes, kMaxTargetsBytes));
  auto parsed = parse_targets(env.signed_json);
  if (!parsed) return std::move(parsed).error().context(printable(role));
  EF_CHECK(verify_threshold(env, keys.first, keys.second, role));
  if (parsed->version != meta->second.version) {
    return make_error(Errc::mismatch, printable(role) + " version " +
                                          std::to_string(parsed->version) +
                                          " is not the version snapshot names (" +
                                          std::to_string(meta->second.version) + ")");
  }
  if (parsed->is_expired(reference_time_)) return expired(role, parsed->expires, reference_time_);
  targets_[role] = TrustedTargets{std::move(*parsed), std::move(env), delegator};
  return {};
}

Status TrustedSet::verify_delegated_again(const std::string& role,
                                          const std::string& delegator) const {
  auto it = targets_.find(role);
  if (it == targets_.end()) return make_error(Errc::internal, printable(role) + " is not trusted");
  EF_TRY(auto keys, delegation_keys(role, delegator));
  return verify_threshold(it->second.envelope, keys.first, keys.second,
                          role + " (delegated by " + delegator + ")");
}

const Targets* TrustedSet::targets(const std::string& role) const {
  auto it = targets_.find(role);
  return it == targets_.end() ? nullptr : &it->second.targets;
}

const std::string* TrustedSet::verified_by(const std::string& role) const {
  auto it = targets_.find(role);
  return it == targets_.end() ? nullptr : &it->second.delegator;
}

}  // namespace ef::trust

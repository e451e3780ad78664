// edgefleet release build|verify|refresh: signed releases in a repository folder.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "core/common/fs.hpp"
#include "core/release_signing/repository.hpp"
#include "core/release_verify/verify.hpp"
#include "core/trust/trusted_set.hpp"

namespace ef::cli {
namespace {

std::string human_bytes(std::uint64_t n) {
  char buf[32];
  if (n >= 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024 * 1024));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  }
  return buf;
}

std::string describe(const release::Release& r) {
  using release::Part;
  return std::to_string(r.files.size()) + " files (code " + human_bytes(r.bytes(Part::code)) +
         ", model " + human_bytes(r.bytes(Part::model)) + ", config " +
         human_bytes(r.bytes(Part::config)) + "), epoch " + std::to_string(r.epoch);
}

struct ExpiryFlags {
  int targets = 365, snapshot = 30, timestamp = 7;
  void add(CLI::App* cmd) {
    cmd->add_option("--targets-expiry-days", targets)->capture_default_str();
    cmd->add_option("--snapshot-expiry-days", snapshot)->capture_default_str();
    cmd->add_option("--timestamp-expiry-days", timestamp)->capture_default_str();
  }
  release::Expiries get() const {
    return {std::chrono::days(targets), std::chrono::days(snapshot), std::chrono::days(timestamp)};
  }
};

void add_release_build(CLI::App& rel) {
  auto* build = rel.add_subcommand(
      "build", "add a release (code/, model/, config/ of SRC_DIR) to a repository");
  static release::BuildOptions b;
  static std::int64_t epoch = -1;
  static ExpiryFlags build_expiry;
  build->add_option("SRC_DIR", b.source_dir, "folder holding code/, model/ and config/")
      ->required();
  build->add_option("--version", b.version, "release version, e.g. 1.2.0")->required();
  build->add_option("--keys", b.keys_dir, "keys folder (edgefleet keys init)")->required();
  build->add_option("--repo", b.repo_dir, "repository folder (created if new)")->required();
  build->add_option("--epoch", epoch, "security epoch (default: the repository's highest)");
  build_expiry.add(build);
  build->callback([] {
    if (epoch >= 0) b.epoch = epoch;
    b.expiries = build_expiry.get();
    auto summary = release::build_release(b, utc_now());
    if (!summary) fail("release build: " + summary.error().message);
    std::cout << "release " << b.version << " built: " << describe(summary->release) << "; "
              << human_bytes(summary->new_blob_bytes) << " new, "
              << human_bytes(summary->reused_blob_bytes) << " already stored; targets version "
              << summary->targets_version << "\n";
    if (!summary->signed_snapshot) {
      std::cout << "No snapshot/timestamp keys here: the server signs those when you publish.\n";
    }
  });
}

void add_release_verify(CLI::App& rel) {
  auto* verify =
      rel.add_subcommand("verify", "verify a release from a trusted root; optionally install it");
  static std::string repo, root_file, version, into, state;
  verify->add_option("--repo", repo, "repository folder")->required();
  verify->add_option("--root", root_file, "trusted root.json")->required();
  verify->add_option("--version", version, "release version")->required();
  verify->add_option("--into", into, "materialize the release here (must not exist, or be empty)");
  verify->add_option("--state", state,
                     "keep trusted metadata and the highest epoch here across runs");
  verify->callback([] {
    auto root = read_file(root_file, trust::kMaxRootBytes);
    if (!root) fail("release verify: " + root.error().message);
    release::VerifyOptions o;
    o.repo_dir = repo;
    o.root_json = *root;
    o.version = version;
    if (!into.empty()) o.into = into;
    if (!state.empty()) o.state_dir = state;
    auto r = release::verify_release(o);
    if (!r) fail("release verify: " + r.error().message);
    std::cout << "release " << version << " verified: " << describe(*r);
    if (!into.empty()) std::cout << "; installed in " << into;
    std::cout << "\n";
  });
}

void add_release_refresh(CLI::App& rel) {
  auto* refresh =
      rel.add_subcommand("refresh", "sign a new timestamp (and snapshot) with the online keys");
  static std::string refresh_keys, refresh_repo;
  static bool with_snapshot = false;
  static ExpiryFlags refresh_expiry;
  refresh->add_option("--keys", refresh_keys, "folder with snapshot/timestamp keys")->required();
  refresh->add_option("--repo", refresh_repo, "repository folder")->required();
  refresh->add_flag("--snapshot", with_snapshot, "also sign a new snapshot");
  refresh_expiry.add(refresh);
  refresh->callback([] {
    auto keys = release::load_keyring(refresh_keys);
    if (!keys) fail("release refresh: " + keys.error().message);
    const auto expiries = refresh_expiry.get();
    auto st = with_snapshot
                  ? release::sign_snapshot_and_timestamp(refresh_repo, *keys, expiries, utc_now())
                  : release::refresh_timestamp(refresh_repo, *keys, expiries, utc_now());
    if (!st) fail("release refresh: " + st.error().message);
    std::cout << "timestamp refreshed in " << refresh_repo << "\n";
  });
}

void add_release(CLI::App& app) {
  CLI::App& rel = subcommand(app, "release", "build, verify and publish signed releases");
  add_release_build(rel);
  add_release_verify(rel);
  add_release_refresh(rel);
}

const CommandGroup group("release", add_release);

}  // namespace
}  // namespace ef::cli

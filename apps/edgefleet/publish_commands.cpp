// edgefleet release publish|list: upload a repository built by `edgefleet release build` to
// edgefleet-server, and list what it holds.
//
// publish uploads, in this order: root versions the server lacks (each checked by the server
// against the one before), the blobs the newest targets metadata lists that the server lacks
// (each checked against its SHA-256), then the targets metadata itself, which the server checks
// against its trusted root before signing snapshot and timestamp. Publishing twice is harmless:
// the second run uploads nothing and reports the release as already published.
#include <cstdio>
#include <iostream>
#include <set>

#include "commands.hpp"
#include "core/common/fs.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/release_signing/repository.hpp"
#include "core/trust/metadata.hpp"
#include "core/trust/trusted_set.hpp"
#include "server_flags.hpp"

namespace ef::cli {
namespace {

namespace fs = std::filesystem;

// The newest targets metadata of a local repository, as bytes and parsed.
struct LocalTargets {
  std::int64_t version = 0;
  std::string bytes;
  trust::Targets targets;
};

LocalTargets load_newest_targets(const fs::path& repo) {
  const fs::path metadata = repo / "metadata";
  LocalTargets local;
  local.version = release::latest_version(repo, "targets");
  if (local.version == 0) fail("release publish: " + repo.string() + " holds no targets metadata");
  auto bytes = read_file(metadata / (std::to_string(local.version) + ".targets.json"),
                         trust::kMaxTargetsBytes);
  if (!bytes) fail("release publish: " + bytes.error().message);
  auto env = trust::parse_envelope(*bytes, trust::kMaxTargetsBytes);
  if (!env) fail("release publish: " + env.error().message);
  auto targets = trust::parse_targets(env->signed_json);
  if (!targets) fail("release publish: " + targets.error().message);
  local.bytes = std::move(*bytes);
  local.targets = std::move(*targets);
  return local;
}

// Root versions first: the server checks each against the one before.
void upload_new_roots(fleet_client::Client& client, const fs::path& metadata) {
  auto server_root = must(client.call("GET", "/repo/metadata/root.json"), "release publish");
  const auto server_root_version = server_root.json["signed"].value("version", std::int64_t{0});
  for (auto v : release::root_versions(metadata)) {
    if (v <= server_root_version) continue;
    auto bytes = read_file(metadata / (std::to_string(v) + ".root.json"), trust::kMaxRootBytes);
    if (!bytes) fail("release publish: " + bytes.error().message);
    must(client.send("PUT", "/api/v1/repository/root", *bytes, "application/json"),
         "release publish (root)");
    std::cout << "root version " << v << " uploaded\n";
  }
}

// Then the blobs the targets list that the server lacks (only hashes from our own targets).
void upload_missing_blobs(fleet_client::Client& client, const fs::path& repo,
                          const trust::Targets& targets) {
  std::set<std::string> hashes;
  for (const auto& [path, file] : targets.targets) {
    const auto it = file.hashes.find("sha256");
    if (it == file.hashes.end()) fail("release publish: target " + path + " has no sha256");
    hashes.insert(it->second);
  }
  json::Json ask = {{"sha256", hashes}};
  auto missing =
      must(client.call("POST", "/api/v1/repository/blobs/missing", ask), "release publish");
  std::uint64_t uploaded = 0;
  for (const auto& h : missing.json["missing"]) {
    const std::string hex = h.get<std::string>();
    if (!hashes.contains(hex))
      fail("release publish: the server asked for a blob we did not offer");
    auto data = read_file(repo / "blobs" / "sha256" / hex, std::uint64_t{8} << 30);
    if (!data) fail("release publish: " + data.error().message);
    must(client.send("PUT", "/api/v1/repository/blobs/sha256/" + hex, *data,
                     "application/octet-stream"),
         "release publish (blob " + hex + ")");
    uploaded += data->size();
  }
  std::cout << missing.json["missing"].size() << " of " << hashes.size() << " blobs uploaded ("
            << uploaded << " bytes)\n";
}

// Last the targets metadata, which the server checks before signing snapshot and timestamp.
void publish_targets(fleet_client::Client& client, const LocalTargets& local) {
  auto reply = client.send("POST", "/api/v1/releases", local.bytes, "application/json");
  if (!reply && reply.error().code == Errc::exists) {
    std::cout << "targets version " << local.version << " is already published; nothing new\n";
    return;
  }
  auto published = must(std::move(reply), "release publish");
  std::cout << "published targets version " << published.json["targets_version"] << ", release(s)";
  for (const auto& v : published.json["releases"])
    std::cout << " " << v.get<std::string>();
  std::cout << "\n";
}

void add_publish_command(CLI::App& rel) {
  auto* publish = rel.add_subcommand(
      "publish", "upload a release repository's newest targets and blobs to the server");
  static fleet_client::Overrides flags;
  static std::string repo;
  publish->add_option("--repo", repo, "repository folder (edgefleet release build --repo)")
      ->required();
  add_server_flags(publish, &flags);
  publish->callback([] {
    const auto local = load_newest_targets(repo);
    auto client = connect(flags, "release publish");
    upload_new_roots(client, fs::path(repo) / "metadata");
    upload_missing_blobs(client, repo, local.targets);
    publish_targets(client, local);
  });
}

void add_list_command(CLI::App& rel) {
  auto* list = rel.add_subcommand("list", "list the releases published on the server");
  static fleet_client::Overrides list_flags;
  static bool as_json = false;
  list->add_flag("--json", as_json, "print JSON");
  add_server_flags(list, &list_flags);
  list->callback([] {
    auto client = connect(list_flags, "release list");
    auto reply = must(client.call("GET", "/api/v1/releases"), "release list");
    if (as_json) {
      std::cout << reply.json.dump(2) << "\n";
      return;
    }
    std::printf("%-20s %-6s %-8s %-12s %-21s %s\n", "VERSION", "EPOCH", "FILES", "BYTES",
                "PUBLISHED", "BY");
    for (const auto& r : reply.json["releases"]) {
      std::printf("%-20s %-6lld %-8llu %-12llu %-21s %s\n", r["version"].get<std::string>().c_str(),
                  static_cast<long long>(r["epoch"].get<std::int64_t>()),
                  static_cast<unsigned long long>(r["files"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(r["bytes"].get<std::uint64_t>()),
                  r["published_at"].get<std::string>().c_str(),
                  r["published_by"].get<std::string>().c_str());
    }
  });
}

void add_publish(CLI::App& app) {
  CLI::App& rel = subcommand(app, "release", "build, verify and publish signed releases");
  add_publish_command(rel);
  add_list_command(rel);
}

const CommandGroup group("release-publish", add_publish);

}  // namespace
}  // namespace ef::cli

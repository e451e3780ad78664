// edgefleet-tuf-client: the trust library behind the command-line protocol of the public TUF
// conformance suite (theupdateframework/tuf-conformance, CLIENT-CLI.md), so that standard TUF
// repositories and that suite can check our client workflow.
//
//   edgefleet-tuf-client --metadata-dir DIR init ROOT
//   edgefleet-tuf-client --metadata-dir DIR --metadata-url URL refresh
//   edgefleet-tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH...
//                        --target-base-url URL --target-dir DIR download
//
// Exit 0 on success, 1 on any failure (with one line on stderr saying why).
#include <CLI/CLI.hpp>
#include <iostream>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/fetch/fetch.hpp"
#include "core/http_client/http_client.hpp"
#include "core/trust/updater.hpp"

namespace {

int fail(const std::string& what, const ef::Error& error) {
  std::cerr << "edgefleet-tuf-client: " << what << ": " << error.message << " ["
            << ef::errc_name(error.code) << "]\n";
  return 1;
}

// URL of a target: with consistent snapshots, "<dir>/<hash>.<name>" (TUF 5.7.3).
std::string target_url(const std::string& base, const ef::trust::TargetFile& target,
                       bool consistent) {
  std::string path;
  std::size_t start = 0;
  const std::string& p = target.path;
  for (;;) {
    const std::size_t slash = p.find('/', start);
    std::string part =
        p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    const bool is_file = slash == std::string::npos;
    if (is_file && consistent && !target.hashes.empty())
      part = target.hashes.begin()->second + "." + part;
    path += ef::http_client::url_encode(part);
    if (is_file) break;
    path += "/";
    start = slash + 1;
  }
  return ef::fetch::join_url(base, path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edgefleet TUF client (tuf-conformance CLI protocol)", "edgefleet-tuf-client"};
  std::string metadata_dir, metadata_url, target_base_url, target_dir, root_file;
  std::vector<std::string> target_names;
  app.add_option("--metadata-dir", metadata_dir, "trusted metadata folder")->required();
  app.add_option("--metadata-url", metadata_url, "repository metadata URL");
  app.add_option("--target-name", target_names, "target path to download (repeatable)");
  app.add_option("--target-base-url", target_base_url, "repository targets URL");
  app.add_option("--target-dir", target_dir, "where downloaded targets go");
  auto* init = app.add_subcommand("init", "trust ROOT as the initial root");
  init->add_option("ROOT", root_file, "initial root.json")->required();
  auto* refresh = app.add_subcommand("refresh", "update metadata by the TUF client workflow");
  auto* download = app.add_subcommand("download", "refresh, then download the named targets");
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  }

  if (*init) {
    auto bytes = ef::read_file(root_file, ef::trust::kMaxRootBytes);
    if (!bytes) return fail("init", bytes.error());
    if (auto st = ef::trust::init_trusted_root(metadata_dir, *bytes); !st)
      return fail("init", st.error());
    return 0;
  }

  ef::fetch::HttpMetadataSource source(metadata_url);
  ef::trust::UpdaterOptions options;
  options.metadata_dir = metadata_dir;
  ef::trust::Updater updater(options, source);
  if (auto st = updater.refresh(); !st) return fail("refresh", st.error());
  if (*refresh) return 0;

  (void)download;
  if (target_names.empty() || target_dir.empty() || target_base_url.empty()) {
    std::cerr << "edgefleet-tuf-client: download needs --target-name, --target-dir and "
                 "--target-base-url\n";
    return 1;
  }
  ef::http_client::HttpClient client;
  const bool consistent = updater.trusted().root().consistent_snapshot;
  for (const auto& name : target_names) {
    auto target = updater.find_target(name);
    if (!target) return fail("download " + ef::printable(name), target.error());
    const std::filesystem::path destination =
        std::filesystem::path(target_dir) / ef::http_client::url_encode(name);
    if (auto cached = ef::read_file(destination, static_cast<std::uint64_t>(target->length))) {
      if (target->verify(*cached)) continue;  // already have exactly this file
    }
    const std::string url = target_url(target_base_url, *target, consistent);
    if (auto st = ef::fetch::download_target(client, url, *target, destination); !st) {
      return fail("download " + ef::printable(name), st.error());
    }
  }
  return 0;
}

#include "core/release_verify/verify.hpp"

#include <unistd.h>

#include "core/common/fs.hpp"
#include "core/fetch/fetch.hpp"
#include "core/release_verify/materialize.hpp"

namespace ef::release {

namespace fs = std::filesystem;

#ifndef EF_BUILD_EPOCH_SECONDS
#error "EF_BUILD_EPOCH_SECONDS must be set by the build"
#endif

UtcTime build_time() {
  return UtcTime{std::chrono::seconds{EF_BUILD_EPOCH_SECONDS}};
}

Result<std::int64_t> read_highest_epoch(const fs::path& state_dir) {
  auto text = read_file(state_dir / "epoch", 64);
  if (!text) {
    if (text.error().code == Errc::not_found) return std::int64_t{0};
    return std::move(text).error();
  }
  try {
    return static_cast<std::int64_t>(std::stoll(*text));
  } catch (const std::exception&) {
    return make_error(Errc::malformed,
                      "state file " + (state_dir / "epoch").string() + " is corrupt");
  }
}

Status record_epoch(const fs::path& state_dir, std::int64_t epoch) {
  EF_TRY(std::int64_t highest, read_highest_epoch(state_dir));
  if (epoch <= highest) return {};
  return write_file_atomic(state_dir / "epoch", std::to_string(epoch) + "\n");
}

Status check_epoch(const Release& release, std::int64_t highest) {
  if (release.epoch >= highest) return {};
  return make_error(Errc::rollback, "release " + release.version + " has security epoch " +
                                        std::to_string(release.epoch) +
                                        ", below the highest epoch seen (" +
                                        std::to_string(highest) + ")");
}

Result<Release> verify_release(const VerifyOptions& options) {
  // Trusted metadata lives in the state folder, or in a scratch folder for this run only.
  fs::path metadata_dir;
  std::optional<fs::path> scratch;
  if (options.state_dir) {
    metadata_dir = *options.state_dir / "metadata";
  } else {
    scratch = fs::temp_directory_path() / ("edgefleet-verify-" + std::to_string(::getpid()));
    fs::remove_all(*scratch);
    metadata_dir = *scratch;
  }
  struct Cleanup {
    std::optional<fs::path> dir;
    ~Cleanup() {
      std::error_code ec;
      if (dir) fs::remove_all(*dir, ec);
    }
  } cleanup{scratch};
  if (!fs::exists(metadata_dir / "root.json"))
    EF_CHECK(trust::init_trusted_root(metadata_dir, options.root_json));

  fetch::DirMetadataSource source(options.repo_dir / "metadata");
  trust::UpdaterOptions updater_options;
  updater_options.metadata_dir = metadata_dir;
  updater_options.clock = options.clock;
  updater_options.not_before = build_time();
  updater_options.strict_role_names = true;
  updater_options.persist_clock_floor = options.state_dir.has_value();
  trust::Updater updater(updater_options, source);
  EF_CHECK(updater.refresh());

  EF_TRY(Release release,
         release_from_targets(*updater.trusted().targets("targets"), options.version));
  std::int64_t highest = 0;
  if (options.state_dir) {
    EF_TRY(highest, read_highest_epoch(*options.state_dir));
  }
  EF_CHECK(check_epoch(release, highest));

  const fs::path blobs = options.repo_dir / "blobs" / "sha256";
  if (options.into) {
    EF_CHECK(materialize(release, blobs, *options.into));
  } else {
    for (const auto& file : release.files)
      EF_CHECK(verify_blob(blobs, file));
  }
  if (options.state_dir) EF_CHECK(record_epoch(*options.state_dir, release.epoch));
  return release;
}

}  // namespace ef::release

#include "device/installed_releases/layout.hpp"

#include <unistd.h>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"

namespace ef::installed_releases {

namespace fs = std::filesystem;

bool Layout::installed(const std::string& version) const {
  // A version is one folder name: "..", "" or "a/b" would name a folder outside releases/.
  if (!check_plain_name(version)) return false;
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(release(version), ec));
}

std::optional<std::string> Layout::current_version() const {
  std::error_code ec;
  const fs::path target = fs::read_symlink(current(), ec);
  if (ec) return std::nullopt;
  if (target.parent_path() != "releases") return std::nullopt;
  return target.filename().string();
}

Status Layout::switch_to(const std::string& version) const {
  if (!installed(version))
    return make_error(Errc::not_found, "release " + version + " is not installed");
  const fs::path next = data_ / "current.next";
  ::unlink(next.c_str());
  const std::string target = "releases/" + version;
  if (::symlink(target.c_str(), next.c_str()) != 0)
    return os_error("cannot create symlink", next, errno);
  if (::rename(next.c_str(), current().c_str()) != 0)
    return os_error("cannot switch", current(), errno);
  return fsync_dir(data_);
}

Status Layout::remove_all_but(const std::set<std::string>& keep) const {
  std::error_code ec;
  if (!fs::exists(releases(), ec)) return {};  // nothing installed yet
  for (const auto& entry : fs::directory_iterator(releases(), ec)) {
    const std::string name = entry.path().filename().string();
    if (keep.contains(name)) continue;
    fs::remove_all(entry.path(), ec);
    if (ec)
      return make_error(Errc::io, "cannot remove " + entry.path().string() + ": " + ec.message());
  }
  return fsync_dir(releases());
}

}  // namespace ef::installed_releases

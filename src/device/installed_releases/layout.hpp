// Installed releases on the device and the one atomic switch between them:
//
//   <data>/releases/<version>/   one folder per installed release (written by release::materialize)
//   <data>/current -> releases/<version>
//
// switch_to replaces `current` with one rename(2) of a new symlink over the old, then fsyncs the
// folder: after a power cut `current` names the old release or the new one, never anything else.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "core/common/result.hpp"

namespace ef::installed_releases {

class Layout {
 public:
  explicit Layout(std::filesystem::path data_dir) : data_(std::move(data_dir)) {}

  std::filesystem::path releases() const { return data_ / "releases"; }
  std::filesystem::path release(const std::string& version) const { return releases() / version; }
  std::filesystem::path current() const { return data_ / "current"; }

  // True when releases/<version> is a directory (materialize creates it in one rename, complete)
  // and version is a plain folder name (not "..", not a path).
  bool installed(const std::string& version) const;

  // The version `current` points to, or nothing.
  std::optional<std::string> current_version() const;

  // Points `current` at releases/<version> atomically and durably; not_found unless installed().
  Status switch_to(const std::string& version) const;

  // Removes installed releases not in `keep` and leftover staging folders.
  Status remove_all_but(const std::set<std::string>& keep) const;

 private:
  std::filesystem::path data_;
};

}  // namespace ef::installed_releases

// A release: model + code + config, versioned as one unit, described by signed TUF targets.
//
// Every file of release V is a target "releases/V/<part>/<path>" whose custom field says
//   {"edgefleet": {"release": V, "part": "code"|"model"|"config", "epoch": E,
//                  "mode": 420|493, "type": "file"|"symlink"}}
// A symlink's content (what its length and hashes cover) is its link text. release_from_targets
// turns trusted targets metadata into a Release and refuses anything that could escape the
// release folder or make two files land on one path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/trust/metadata.hpp"

namespace ef::release {

enum class Part { code, model, config };
std::string_view part_name(Part part);
Result<Part> part_from_name(std::string_view name);

struct ReleaseFile {
  std::string path;  // inside the release folder: "<part>/<relative path>"
  Part part = Part::code;
  std::string sha256;  // lower-case hex; the blob's name
  std::uint64_t length = 0;
  bool executable = false;
  bool symlink = false;  // content is the link text, relative, inside the release
};

struct Release {
  std::string version;
  std::int64_t epoch = 0;
  std::vector<ReleaseFile> files;

  std::uint64_t bytes(Part part) const;
  std::uint64_t bytes() const;
};

// Versions: 1 to 64 characters of [0-9A-Za-z.+_-], not starting with '.' or '-'.
Status check_version(std::string_view version);

// The target path of a release file ("releases/1.0.0/model/model.onnx").
std::string target_path(std::string_view version, std::string_view file_path);

// Release `version` as listed by trusted targets metadata, fully validated.
Result<Release> release_from_targets(const trust::Targets& targets, std::string_view version);

// Every release version the targets metadata lists, and the highest security epoch among them.
std::vector<std::string> release_versions(const trust::Targets& targets);
std::int64_t highest_epoch(const trust::Targets& targets);

// Where a symlink at link_path (inside the release) pointing at link_text lands, relative to the
// release folder; refuses absolute links, links leaving the release and texts not in normal form
// (leading "..", then plain names).
Result<std::string> resolve_symlink(std::string_view link_path, std::string_view link_text);

// Checks every symlink of a release (path -> link text), refusing links that pass through
// another of the release's symlinks on their way.
Status check_symlinks(const std::map<std::string, std::string>& links);

// Path of a blob in a content-addressed folder: <blob_dir>/<sha256 hex>.
std::filesystem::path blob_path(const std::filesystem::path& blob_dir, std::string_view sha256);

}  // namespace ef::release

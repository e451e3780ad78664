#include "core/release_format/release.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/common/hex.hpp"
#include "core/common/path.hpp"

namespace ef::release {

using json::Json;

std::string_view part_name(Part part) {
  switch (part) {
    case Part::code:
      return "code";
    case Part::model:
      return "model";
    case Part::config:
      return "config";
  }
  return "?";
}

Result<Part> part_from_name(std::string_view name) {
  if (name == "code") return Part::code;
  if (name == "model") return Part::model;
  if (name == "config") return Part::config;
  return make_error(Errc::malformed,
                    "unknown release part \"" + printable(name) + "\" (code, model or config)");
}

std::uint64_t Release::bytes(Part part) const {
  std::uint64_t total = 0;
  for (const auto& f : files) {
    if (f.part == part) total += f.length;
  }
  return total;
}

std::uint64_t Release::bytes() const {
  std::uint64_t total = 0;
  for (const auto& f : files)
    total += f.length;
  return total;
}

Status check_version(std::string_view v) {
  auto bad = [&](std::string why) {
    return make_error(Errc::invalid_argument, "release version \"" + printable(v) + "\" " + why);
  };
  if (v.empty() || v.size() > 64) return bad("must be 1 to 64 characters");
  if (v.front() == '.' || v.front() == '-') return bad("must not start with '.' or '-'");
  for (char c : v) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '.' || c == '+' || c == '_' || c == '-';
    if (!ok) return bad("may hold only letters, digits and . + _ -");
  }
  if (v.find("..") != std::string_view::npos) return bad("must not contain \"..\"");
  return {};
}

std::string target_path(std::string_view version, std::string_view file_path) {
  return "releases/" + std::string(version) + "/" + std::string(file_path);
}

Result<std::string> resolve_symlink(std::string_view link_path, std::string_view link_text) {
  auto escapes = [&](std::string why) {
    return make_error(Errc::unsafe_path, "symlink " + printable(link_path) + " -> " +
                                             printable(link_text) + " " + why);
  };
  if (link_text.empty()) return escapes("is empty");
  if (link_text.front() == '/') return escapes("is absolute");
  // Normal form only: leading ".." components, then names. Anything else ("a/../b", "./a", "a//b")
  // is refused rather than interpreted.
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto slash = link_path.find('/', start);
    if (slash == std::string_view::npos) break;
    parts.push_back(link_path.substr(start, slash - start));
    start = slash + 1;
  }
  bool seen_name = false;
  for (std::size_t start = 0;;) {
    const auto slash = link_text.find('/', start);
    const auto c = link_text.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") {
      if (seen_name) return escapes("is not in normal form");
      if (parts.empty()) return escapes("points outside the release");
      parts.pop_back();
    } else {
      if (auto st = check_plain_name(c); !st) return escapes("has an unsafe component");
      seen_name = true;
      parts.push_back(c);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string resolved;
  for (const auto& p : parts)
    resolved += (resolved.empty() ? "" : "/") + std::string(p);
  if (resolved.empty()) return escapes("points at the release folder itself");
  return resolved;
}

Status check_symlinks(const std::map<std::string, std::string>& links) {
  // The kernel follows symlinks in the middle of a path, so a link resolved lexically inside the
  // release could still escape through another link it passes through: refuse such chains.
  for (const auto& [path, text] : links) {
    EF_TRY(std::string resolved, resolve_symlink(path, text));
    for (std::size_t slash = resolved.find('/'); slash != std::string::npos;
         slash = resolved.find('/', slash + 1)) {
      if (links.contains(resolved.substr(0, slash))) {
        return make_error(Errc::unsafe_path, "symlink " + printable(path) +
                                                 " passes through symlink " +
                                                 printable(resolved.substr(0, slash)));
      }
    }
  }
  return {};
}

namespace {

struct Custom {
  std::string release;
  Part part = Part::code;
  std::int64_t epoch = 0;
  std::int64_t mode = 0644;
  bool symlink = false;
};

Result<Custom> parse_custom(const trust::TargetFile& t) {
  const Json* e = nullptr;
  if (t.custom.is_object()) {
    auto it = t.custom.find("edgefleet");
    if (it != t.custom.end()) e = &*it;
  }
  if (e == nullptr || !e->is_object()) {
    return make_error(Errc::malformed,
                      "target " + printable(t.path) + " has no edgefleet release fields");
  }
  Custom c;
  EF_TRY(c.release, json::get_string(*e, "release"));
  EF_TRY(std::string part, json::get_string(*e, "part"));
  EF_TRY(c.part, part_from_name(part));
  EF_TRY(c.epoch, json::get_int(*e, "epoch"));
  if (c.epoch < 0) return make_error(Errc::malformed, "negative security epoch");
  EF_TRY(c.mode, json::get_int(*e, "mode"));
  if (c.mode != 0644 && c.mode != 0755) {
    return make_error(Errc::malformed,
                      "target " + printable(t.path) + ": mode must be 0644 or 0755");
  }
  EF_TRY(std::string type, json::get_string(*e, "type"));
  if (type != "file" && type != "symlink") {
    return make_error(Errc::malformed,
                      "target " + printable(t.path) + ": type must be file or symlink");
  }
  c.symlink = type == "symlink";
  return c;
}

bool is_release_target(const trust::TargetFile& t) {
  return t.path.starts_with("releases/");
}

}  // namespace

std::vector<std::string> release_versions(const trust::Targets& targets) {
  std::set<std::string> versions;
  for (const auto& [path, t] : targets.targets) {
    if (!is_release_target(t)) continue;
    if (auto c = parse_custom(t)) versions.insert(c->release);
  }
  return {versions.begin(), versions.end()};
}

std::int64_t highest_epoch(const trust::Targets& targets) {
  std::int64_t highest = 0;
  for (const auto& [path, t] : targets.targets) {
    if (!is_release_target(t)) continue;
    if (auto c = parse_custom(t)) highest = std::max(highest, c->epoch);
  }
  return highest;
}

Result<Release> release_from_targets(const trust::Targets& targets, std::string_view version) {
  EF_CHECK(check_version(version));
  Release out;
  out.version = std::string(version);
  const std::string prefix = "releases/" + std::string(version) + "/";
  std::optional<std::int64_t> epoch;
  std::set<std::string> paths;
  for (const auto& [path, t] : targets.targets) {
    if (!path.starts_with(prefix)) continue;
    const std::string inner = path.substr(prefix.size());
    if (auto st = check_relative_path(inner); !st)
      return std::move(st).error().context("release " + out.version);
    EF_TRY(Custom c, parse_custom(t));
    if (c.release != version) {
      return make_error(Errc::mismatch, "target " + printable(path) +
                                            " says it belongs to release " + printable(c.release));
    }
    const auto slash = inner.find('/');
    if (slash == std::string::npos || inner.substr(0, slash) != part_name(c.part)) {
      return make_error(Errc::malformed, "target " + printable(path) +
                                             " is not under its part's folder (" +
                                             std::string(part_name(c.part)) + "/)");
    }
    if (epoch && *epoch != c.epoch) {
      return make_error(Errc::malformed, "release " + out.version + " mixes security epochs");
    }
    epoch = c.epoch;
    auto sha = t.hashes.find("sha256");
    if (sha == t.hashes.end() || !is_lower_hex(sha->second, 64)) {
      return make_error(Errc::malformed, "target " + printable(path) + " has no sha256 hash");
    }
    if (c.symlink && t.length > 4096) {
      return make_error(Errc::malformed,
                        "symlink " + printable(path) + " has a link text over 4096 bytes");
    }
    paths.insert(inner);
    out.files.push_back(ReleaseFile{inner, c.part, sha->second,
                                    static_cast<std::uint64_t>(t.length), c.mode == 0755,
                                    c.symlink});
  }
  if (out.files.empty()) {
    return make_error(Errc::not_found,
                      "release " + printable(version) + " is not in the signed targets");
  }
  // A file may not also be a folder of another file ("code/x" and "code/x/y").
  for (const auto& p : paths) {
    for (std::size_t slash = p.find('/'); slash != std::string::npos;
         slash = p.find('/', slash + 1)) {
      if (paths.contains(p.substr(0, slash))) {
        return make_error(Errc::unsafe_path,
                          "release " + out.version + " lists " + printable(p.substr(0, slash)) +
                              " both as a file and as a folder (duplicate path)");
      }
    }
  }
  out.epoch = *epoch;
  return out;
}

std::filesystem::path blob_path(const std::filesystem::path& blob_dir, std::string_view sha256) {
  return blob_dir / std::string(sha256);
}

}  // namespace ef::release

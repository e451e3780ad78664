#include "core/release_verify/materialize.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <map>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/crypto/hash.hpp"

namespace ef::release {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kFreeSpaceReserve = 16 * 1024 * 1024;

// Opens (creating as needed) the folder `rel` below root_fd without following symlinks.
Result<UniqueFd> open_dirs(int root_fd, const std::string& rel) {
  UniqueFd current(::dup(root_fd));
  std::size_t start = 0;
  while (start < rel.size()) {
    const auto slash = rel.find('/', start);
    const std::string name =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
      return make_error(Errc::io,
                        "cannot create folder " + printable(rel) + ": " + errno_text(errno));
    }
    UniqueFd next(
        ::openat(current.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid())
      return make_error(Errc::unsafe_path,
                        "cannot open folder " + printable(rel) + ": " + errno_text(errno));
    current = std::move(next);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return current;
}

// Copies the blob into (dir_fd, name) while hashing; returns the bytes for symlinks.
Status copy_verified(const fs::path& blob_dir, const ReleaseFile& file, int dir_fd,
                     const std::string& name, std::string* content) {
  const fs::path blob = blob_path(blob_dir, file.sha256);
  UniqueFd in(::open(blob.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid())
    return os_error("cannot open blob for " + printable(file.path) + ":", blob, errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(Errc::malformed,
                      "blob for " + printable(file.path) + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) != file.length) {
    return make_error(Errc::mismatch,
                      printable(file.path) + ": blob is " + std::to_string(st.st_size) +
                          " bytes, the signed release says " + std::to_string(file.length));
  }
  UniqueFd out;
  if (content == nullptr) {
    out = UniqueFd(
        ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid())
      return make_error(Errc::io,
                        "cannot create " + printable(file.path) + ": " + errno_text(errno));
  }
  crypto::Hasher hasher;
  std::string buf(1 << 20, '\0');
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io,
                        "reading blob for " + printable(file.path) + ": " + errno_text(errno));
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    if (total > file.length) break;  // grew since fstat: caught by the length check below
    const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    hasher.update(chunk);
    if (content != nullptr) {
      content->append(chunk);
    } else if (auto w = write_all(out.get(), chunk); !w) {
      return std::move(w).error().context(printable(file.path));
    }
  }
  if (total != file.length) {
    return make_error(Errc::mismatch,
                      printable(file.path) + ": blob changed length while being read");
  }
  if (hasher.hex_digest() != file.sha256) {
    return make_error(Errc::mismatch,
                      printable(file.path) + ": SHA-256 differs from the signed release");
  }
  if (out.valid()) {
    if (::fchmod(out.get(), file.executable ? 0755 : 0644) != 0 || ::fsync(out.get()) != 0) {
      return make_error(Errc::io,
                        "cannot finish " + printable(file.path) + ": " + errno_text(errno));
    }
  }
  return {};
}

Status check_free_space(const fs::path& dir, std::uint64_t needed) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return os_error("cannot stat filesystem of", dir, errno);
  const std::uint64_t available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (available < needed + kFreeSpaceReserve) {
    return make_error(Errc::no_space, "not enough disk space in " + dir.string() + ": need " +
                                          std::to_string(needed) + " bytes plus a reserve, " +
                                          std::to_string(available) + " available");
  }
  return {};
}

Status fsync_tree(const fs::path& root) {
  std::error_code ec;
  EF_CHECK(fsync_dir(root));
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) EF_CHECK(fsync_dir(it->path()));
  }
  if (ec) return make_error(Errc::io, "cannot walk " + root.string() + ": " + ec.message());
  return {};
}

Status stage(const Release& release, const fs::path& blob_dir, const fs::path& staging) {
  UniqueFd root(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return os_error("cannot open", staging, errno);
  std::map<std::string, std::string> links;
  std::map<std::string, const ReleaseFile*> link_files;
  for (const auto& file : release.files) {
    EF_CHECK(check_relative_path(file.path));
    const auto slash = file.path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : file.path.substr(0, slash);
    const std::string name = slash == std::string::npos ? file.path : file.path.substr(slash + 1);
    EF_TRY(UniqueFd dir_fd, open_dirs(root.get(), dir));
    if (file.symlink) {
      std::string text;
      EF_CHECK(copy_verified(blob_dir, file, dir_fd.get(), name, &text));
      links[file.path] = std::move(text);
      link_files[file.path] = &file;
    } else {
      EF_CHECK(copy_verified(blob_dir, file, dir_fd.get(), name, nullptr));
    }
  }
  // Links are created last, after all of them are checked together.
  EF_CHECK(check_symlinks(links));
  for (const auto& [path, text] : links) {
    const auto slash = path.rfind('/');
    EF_TRY(UniqueFd dir_fd, open_dirs(root.get(), path.substr(0, slash)));
    if (::symlinkat(text.c_str(), dir_fd.get(), path.substr(slash + 1).c_str()) != 0) {
      return make_error(Errc::io,
                        "cannot create symlink " + printable(path) + ": " + errno_text(errno));
    }
  }
  return fsync_tree(staging);
}

}  // namespace

Status verify_blob(const fs::path& blob_dir, const ReleaseFile& file) {
  std::string ignored;
  // Reading into memory is bounded by the signed length; files are hashed the same way below.
  if (file.symlink) return copy_verified(blob_dir, file, -1, "", &ignored);
  const fs::path blob = blob_path(blob_dir, file.sha256);
  UniqueFd in(::open(blob.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid())
    return os_error("cannot open blob for " + printable(file.path) + ":", blob, errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != file.length) {
    return make_error(Errc::mismatch,
                      printable(file.path) + ": blob is " + std::to_string(st.st_size) +
                          " bytes, the signed release says " + std::to_string(file.length));
  }
  EF_TRY(std::string digest, crypto::sha256_hex_of_fd(in.get()));
  if (digest != file.sha256) {
    return make_error(Errc::mismatch,
                      printable(file.path) + ": SHA-256 differs from the signed release");
  }
  return {};
}

Status materialize(const Release& release, const fs::path& blob_dir, const fs::path& into) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(into, ec))) {
    if (!fs::is_directory(fs::symlink_status(into, ec)) || !fs::is_empty(into, ec)) {
      return make_error(Errc::exists, into.string() + " already exists and is not an empty folder");
    }
  }
  const fs::path parent = into.has_parent_path() ? into.parent_path() : fs::path(".");
  EF_CHECK(make_dirs(parent));
  EF_CHECK(check_free_space(parent, release.bytes()));
  const fs::path staging =
      parent / (".staging-" + into.filename().string() + "-" + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  if (::mkdir(staging.c_str(), 0755) != 0) return os_error("cannot create", staging, errno);
  if (auto st = stage(release, blob_dir, staging); !st) {
    fs::remove_all(staging, ec);
    return std::move(st).error().context("release " + release.version);
  }
  if (::rename(staging.c_str(), into.c_str()) != 0) {
    const int err = errno;
    fs::remove_all(staging, ec);
    return os_error("cannot move release into", into, err);
  }
  return fsync_dir(parent);
}

}  // namespace ef::release

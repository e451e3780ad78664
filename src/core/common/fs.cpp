#include "core/common/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <random>

namespace ef {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string errno_text(int err) {
  return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

Error os_error(std::string_view what, const std::filesystem::path& path, int err) {
  const Errc code = (err == ENOSPC || err == EDQUOT) ? Errc::no_space
                    : (err == ENOENT)                ? Errc::not_found
                                                     : Errc::io;
  return make_error(code, std::string(what) + " " + path.string() + ": " + errno_text(err));
}

Result<std::string> read_fd(int fd, std::uint64_t max_bytes) {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, "read failed: " + errno_text(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::uint64_t>(n) > max_bytes) {
      return make_error(Errc::too_large, "more than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return os_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode))
    return make_error(Errc::invalid_argument, path.string() + " is not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return make_error(Errc::too_large, path.string() + " is " + std::to_string(st.st_size) +
                                           " bytes, more than the limit of " +
                                           std::to_string(max_bytes));
  }
  auto data = read_fd(fd.get(), max_bytes);
  if (!data) return std::move(data).error().context("reading " + path.string());
  return data;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return make_error((err == ENOSPC || err == EDQUOT) ? Errc::no_space : Errc::io,
                        "write failed: " + errno_text(err));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Status fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return os_error("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return os_error("cannot fsync directory", dir, errno);
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto tmp =
      dir / ("." + path.filename().string() + ".tmp" + std::to_string(rng() % 1000000000));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return os_error("cannot create", tmp, errno);
  auto fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return std::move(e).context("writing " + path.string());
  };
  if (auto st = write_all(fd.get(), data); !st) return fail(st.error());
  if (::fchmod(fd.get(), mode) != 0) return fail(os_error("cannot chmod", tmp, errno));
  if (::fsync(fd.get()) != 0) return fail(os_error("cannot fsync", tmp, errno));
  if (::close(fd.release()) != 0) return fail(os_error("cannot close", tmp, errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(os_error("cannot rename onto", path, errno));
  return fsync_dir(dir);
}

Status make_dirs(const std::filesystem::path& dir, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    EF_CHECK(make_dirs(dir.parent_path(), mode));
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return os_error("cannot create directory", dir, errno);
  }
  return {};
}

}  // namespace ef

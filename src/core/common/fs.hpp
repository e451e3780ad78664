// File helpers with explicit durability and bounded reads.
//
// write_file_atomic is the one way this project replaces a file that must survive a power cut:
// write a temporary file in the same directory, fsync it, rename it over the target, fsync the
// directory. Readers see the old content or the new, never a torn file.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// Reads a whole file, refusing files larger than max_bytes (too_large) before reading them.
Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// Reads everything from an open descriptor from its current offset, up to max_bytes.
Result<std::string> read_fd(int fd, std::uint64_t max_bytes);

// Writes all of data to fd, retrying short writes and EINTR.
Status write_all(int fd, std::string_view data);

// Replaces path with data durably (temp file, fsync, rename, fsync of the directory).
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         mode_t mode = 0644);

// fsyncs a directory so that renames and new entries in it are durable.
Status fsync_dir(const std::filesystem::path& dir);

// Creates dir and its parents (like mkdir -p) with mode for the new ones.
Status make_dirs(const std::filesystem::path& dir, mode_t mode = 0755);

// Describes errno for messages: "No such file or directory (errno 2)".
std::string errno_text(int err);

// An Error for a failed system call on path, with Errc::no_space for ENOSPC/EDQUOT.
Error os_error(std::string_view what, const std::filesystem::path& path, int err);

}  // namespace ef

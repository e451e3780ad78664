#include "device/blob_download/blob_download.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/common/fs.hpp"
#include "core/common/hex.hpp"
#include "core/crypto/hash.hpp"

namespace ef::blob_download {

namespace fs = std::filesystem;

std::uint64_t bytes_on_disk(const fs::path& cache_dir, const std::string& sha256) {
  std::error_code ec;
  if (auto n = fs::file_size(cache_dir / sha256, ec); !ec) return n;
  if (auto n = fs::file_size(cache_dir / (sha256 + ".partial"), ec); !ec) return n;
  return 0;
}

namespace {

// <cache>/<sha256>.partial and the running hash of what it holds. Nothing in it is trusted until
// the whole blob hashes to the name.
class PartialBlob {
 public:
  PartialBlob(const fs::path& cache_dir, const std::string& sha256, std::uint64_t length)
      : path_(cache_dir / (sha256 + ".partial")), sha256_(sha256), length_(length) {}

  // Opens the partial file and hashes what a previous attempt left (it is not trusted either).
  Status open() {
    fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd_.valid()) return os_error("cannot open", path_, errno);
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return os_error("cannot stat", path_, errno);
    have_ = static_cast<std::uint64_t>(st.st_size);
    if (have_ > length_) EF_CHECK(start_over());
    std::string buf(1 << 20, '\0');
    for (std::uint64_t off = 0; off < have_;) {
      const ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(off));
      if (n <= 0) return os_error("cannot read", path_, errno);
      hasher_.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      off += static_cast<std::uint64_t>(n);
    }
    return {};
  }

  std::uint64_t have() const { return have_; }
  bool complete() const { return have_ == length_; }

  // The answer's status: 206 continues a resumed download, 200 starts over (Range ignored).
  Status on_status(long status, std::uint64_t resumed_from, const std::string& url) {
    if (status == 206 && resumed_from > 0) return {};
    if (status == 200) return have_ > 0 ? start_over() : Status();
    return make_error(status == 404 ? Errc::not_found : Errc::network,
                      url + " answered HTTP " + std::to_string(status));
  }

  // Appends a chunk of the body, never past the signed length.
  Status append(std::string_view chunk) {
    if (have_ + chunk.size() > length_) {
      return make_error(Errc::too_large, "the server sent more than the signed length of " +
                                             std::to_string(length_) + " bytes for blob " +
                                             sha256_.substr(0, 12));
    }
    for (std::string_view rest = chunk; !rest.empty();) {
      const ssize_t n = ::pwrite(fd_.get(), rest.data(), rest.size(), static_cast<off_t>(have_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return os_error("cannot write", path_, errno);
      }
      hasher_.update(rest.substr(0, static_cast<std::size_t>(n)));
      have_ += static_cast<std::uint64_t>(n);
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  // Keeps what arrived durably, so that the next attempt resumes from there.
  void keep() { ::fsync(fd_.get()); }
  void discard() { ::unlink(path_.c_str()); }

  // Renames the complete file to <cache>/<sha256> if it hashes to that; else deletes it.
  Status install(const fs::path& final_path) {
    if (hasher_.hex_digest() != sha256_) {
      discard();
      return make_error(Errc::mismatch, "blob " + sha256_.substr(0, 12) +
                                            ": SHA-256 of the downloaded bytes differs");
    }
    if (::fsync(fd_.get()) != 0) return os_error("cannot fsync", path_, errno);
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
      return os_error("cannot rename", path_, errno);
    return fsync_dir(final_path.parent_path());
  }

 private:
  Status start_over() {
    if (::ftruncate(fd_.get(), 0) != 0) return os_error("cannot truncate", path_, errno);
    hasher_ = crypto::Hasher();
    have_ = 0;
    return {};
  }

  fs::path path_;
  std::string sha256_;
  std::uint64_t length_;
  UniqueFd fd_;
  crypto::Hasher hasher_;
  std::uint64_t have_ = 0;
};

// One attempt's transfer limits: a minimum rate over a window and a deadline that grows with
// the length, and a Range request for what is missing.
http_client::Options attempt_options(http_client::Options options, const Limits& limits,
                                     std::uint64_t have, std::uint64_t length) {
  options.range_from = have > 0 ? std::optional<std::uint64_t>(have) : std::nullopt;
  options.max_body_bytes = length;  // PartialBlob::append enforces the exact remainder
  options.min_bytes_per_second = limits.min_bytes_per_second;
  options.low_speed_window = limits.low_speed_window;
  options.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      limits.deadline_base +
      std::chrono::seconds(length / std::max<std::uint64_t>(limits.assumed_bytes_per_second, 1)));
  return options;
}

// Downloads what the partial file lacks.
Status download_rest(http_client::HttpClient& client, const std::string& url, PartialBlob& blob,
                     std::uint64_t length, const std::string& sha256, http_client::Options options,
                     const Limits& limits, const Progress& progress) {
  const std::uint64_t resumed_from = blob.have();
  options = attempt_options(std::move(options), limits, resumed_from, length);
  options.on_status = [&](long status) { return blob.on_status(status, resumed_from, url); };
  auto response = client.get_to(url, options, [&](std::string_view chunk) -> Status {
    EF_CHECK(blob.append(chunk));
    if (progress) progress(blob.have());
    return {};
  });
  blob.keep();
  if (!response) {
    if (response.error().code == Errc::too_large) blob.discard();
    return std::move(response).error().context("blob " + sha256.substr(0, 12));
  }
  if (!blob.complete()) {
    return make_error(Errc::network, "blob " + sha256.substr(0, 12) + ": connection ended after " +
                                         std::to_string(blob.have()) + " of " +
                                         std::to_string(length) + " bytes");
  }
  return {};
}

}  // namespace

Status fetch_blob(http_client::HttpClient& client, const std::string& url,
                  const std::string& sha256, std::uint64_t length, const fs::path& cache_dir,
                  http_client::Options options, const Limits& limits, const Progress& progress) {
  if (!is_lower_hex(sha256, 64))
    return make_error(Errc::invalid_argument, "not a SHA-256: " + sha256.substr(0, 80));
  const fs::path final_path = cache_dir / sha256;
  if (fs::exists(final_path)) {
    if (progress) progress(length);
    return {};
  }
  EF_CHECK(make_dirs(cache_dir, 0700));
  PartialBlob blob(cache_dir, sha256, length);
  EF_CHECK(blob.open());
  if (!blob.complete()) {
    EF_CHECK(
        download_rest(client, url, blob, length, sha256, std::move(options), limits, progress));
  }
  return blob.install(final_path);
}

}  // namespace ef::blob_download

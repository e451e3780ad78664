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
  const fs::path partial = cache_dir / (sha256 + ".partial");
  UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return os_error("cannot open", partial, errno);

  // What a previous attempt left: hash it again (it is not trusted either).
  crypto::Hasher hasher;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("cannot stat", partial, errno);
  std::uint64_t have = static_cast<std::uint64_t>(st.st_size);
  if (have > length) {
    if (::ftruncate(fd.get(), 0) != 0) return os_error("cannot truncate", partial, errno);
    have = 0;
  }
  {
    std::string buf(1 << 20, '\0');
    for (std::uint64_t off = 0; off < have;) {
      const ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(off));
      if (n <= 0) return os_error("cannot read", partial, errno);
      hasher.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      off += static_cast<std::uint64_t>(n);
    }
  }

  if (have < length) {
    const std::uint64_t resumed_from = have;
    options.range_from = have > 0 ? std::optional<std::uint64_t>(have) : std::nullopt;
    options.max_body_bytes = length;  // the sink enforces the exact remainder
    options.min_bytes_per_second = limits.min_bytes_per_second;
    options.low_speed_window = limits.low_speed_window;
    options.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        limits.deadline_base +
        std::chrono::seconds(length / std::max<std::uint64_t>(limits.assumed_bytes_per_second, 1)));
    options.on_status = [&](long status) -> Status {
      if (status == 206 && resumed_from > 0) return {};
      if (status == 200) {
        if (have > 0) {  // the server ignored Range: start over
          if (::ftruncate(fd.get(), 0) != 0) return os_error("cannot truncate", partial, errno);
          hasher = crypto::Hasher();
          have = 0;
        }
        return {};
      }
      return make_error(status == 404 ? Errc::not_found : Errc::network,
                        url + " answered HTTP " + std::to_string(status));
    };
    auto sink = [&](std::string_view chunk) -> Status {
      if (have + chunk.size() > length) {
        return make_error(Errc::too_large, "the server sent more than the signed length of " +
                                               std::to_string(length) + " bytes for blob " +
                                               sha256.substr(0, 12));
      }
      for (std::string_view rest = chunk; !rest.empty();) {
        const ssize_t n = ::pwrite(fd.get(), rest.data(), rest.size(), static_cast<off_t>(have));
        if (n < 0) {
          if (errno == EINTR) continue;
          return os_error("cannot write", partial, errno);
        }
        hasher.update(rest.substr(0, static_cast<std::size_t>(n)));
        have += static_cast<std::uint64_t>(n);
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
      if (progress) progress(have);
      return {};
    };
    auto response = client.get_to(url, options, sink);
    // Keep what arrived (durably) so that the next attempt resumes from there.
    ::fsync(fd.get());
    if (!response) {
      if (response.error().code == Errc::too_large) ::unlink(partial.c_str());
      return std::move(response).error().context("blob " + sha256.substr(0, 12));
    }
    if (have < length) {
      return make_error(Errc::network, "blob " + sha256.substr(0, 12) +
                                           ": connection ended after " + std::to_string(have) +
                                           " of " + std::to_string(length) + " bytes");
    }
  }
  if (hasher.hex_digest() != sha256) {
    ::unlink(partial.c_str());
    return make_error(Errc::mismatch,
                      "blob " + sha256.substr(0, 12) + ": SHA-256 of the downloaded bytes differs");
  }
  if (::fsync(fd.get()) != 0) return os_error("cannot fsync", partial, errno);
  if (::rename(partial.c_str(), final_path.c_str()) != 0)
    return os_error("cannot rename", partial, errno);
  return fsync_dir(cache_dir);
}

}  // namespace ef::blob_download

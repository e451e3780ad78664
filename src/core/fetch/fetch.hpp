// Fetching TUF metadata and target files from a repository: over HTTP(S) or from a folder.
//
// Sources enforce the caller's size limit while receiving. download_target receives at most the
// signed length into memory, checks length and hashes, and only then writes the destination
// atomically: a failed or hostile download leaves the destination as it was. (Large release
// blobs are streamed to disk by the release library instead.)
#pragma once

#include <filesystem>
#include <string>

#include "core/common/result.hpp"
#include "core/http_client/http_client.hpp"
#include "core/trust/metadata.hpp"
#include "core/trust/updater.hpp"

namespace ef::fetch {

// Metadata at base_url + file name. 403 and 404 count as "not found".
class HttpMetadataSource : public trust::MetadataSource {
 public:
  HttpMetadataSource(std::string base_url, http_client::Options options = {});
  Result<std::string> fetch(const std::string& file_name, std::uint64_t max_bytes) override;

 private:
  std::string base_url_;
  http_client::Options options_;
  http_client::HttpClient client_;
};

// Metadata in a local folder (a repository built by `edgefleet release build`).
class DirMetadataSource : public trust::MetadataSource {
 public:
  explicit DirMetadataSource(std::filesystem::path dir);
  Result<std::string> fetch(const std::string& file_name, std::uint64_t max_bytes) override;

 private:
  std::filesystem::path dir_;
};

// Joins a base URL and a relative path with exactly one '/'.
std::string join_url(const std::string& base, const std::string& path);

// Downloads url into destination, verifying target's length and hashes before it appears there.
Status download_target(http_client::HttpClient& client, const std::string& url,
                       const trust::TargetFile& target, const std::filesystem::path& destination,
                       http_client::Options options = {});

}  // namespace ef::fetch

#include "core/fetch/fetch.hpp"

#include "core/common/fs.hpp"
#include "core/common/path.hpp"

namespace ef::fetch {

std::string join_url(const std::string& base, const std::string& path) {
  if (base.empty()) return path;
  if (base.back() == '/') return base + path;
  return base + "/" + path;
}

HttpMetadataSource::HttpMetadataSource(std::string base_url, http_client::Options options)
    : base_url_(std::move(base_url)), options_(std::move(options)) {}

Result<std::string> HttpMetadataSource::fetch(const std::string& file_name,
                                              std::uint64_t max_bytes) {
  auto options = options_;
  options.max_body_bytes = max_bytes;
  const std::string url = join_url(base_url_, file_name);
  EF_TRY(auto response, client_.get(url, options));
  if (response.status == 404 || response.status == 403) {
    return make_error(Errc::not_found,
                      url + " is not there (HTTP " + std::to_string(response.status) + ")");
  }
  if (response.status != 200) {
    return make_error(Errc::network, url + " answered HTTP " + std::to_string(response.status));
  }
  return std::move(response.body);
}

DirMetadataSource::DirMetadataSource(std::filesystem::path dir) : dir_(std::move(dir)) {}

Result<std::string> DirMetadataSource::fetch(const std::string& file_name,
                                             std::uint64_t max_bytes) {
  EF_CHECK(check_plain_name(file_name));
  return read_file(dir_ / file_name, max_bytes);
}

Status download_target(http_client::HttpClient& client, const std::string& url,
                       const trust::TargetFile& target, const std::filesystem::path& destination,
                       http_client::Options options) {
  options.max_body_bytes = static_cast<std::uint64_t>(target.length);
  EF_TRY(auto response, client.get(url, options));
  if (response.status != 200) {
    return make_error(response.status == 404 ? Errc::not_found : Errc::network,
                      url + " answered HTTP " + std::to_string(response.status));
  }
  if (auto st = target.verify(response.body); !st) {
    return std::move(st).error().context("target " + printable(target.path));
  }
  return write_file_atomic(destination, response.body);
}

}  // namespace ef::fetch

#include "device/credentials/credentials.hpp"

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "core/pki/pki.hpp"

namespace ef::credentials {

namespace fs = std::filesystem;
using json::Json;

server_link::Endpoint endpoint(const Paths& paths, const std::string& server_url,
                               bool with_client_certificate) {
  server_link::Endpoint e;
  e.server_url = server_url;
  e.ca_file = paths.ca().string();
  if (with_client_certificate) {
    e.cert_file = paths.certificate().string();
    e.key_file = paths.key().string();
  }
  return e;
}

namespace {
// A renewal writes device.key.next and device.crt.next, then renames both into place. If it was
// interrupted after writing both, finish it; a lone key.next is an unfinished request: drop it.
Status finish_renewal(const Paths& paths) {
  const fs::path key_next = paths.dir / "device.key.next";
  const fs::path crt_next = paths.dir / "device.crt.next";
  if (fs::exists(crt_next)) {
    if (fs::exists(key_next) && ::rename(key_next.c_str(), paths.key().c_str()) != 0) {
      return os_error("cannot install", paths.key(), errno);
    }
    if (::rename(crt_next.c_str(), paths.certificate().c_str()) != 0) {
      return os_error("cannot install", paths.certificate(), errno);
    }
    return fsync_dir(paths.dir);
  }
  std::error_code ec;
  fs::remove(key_next, ec);
  return {};
}
}  // namespace

Result<Identity> load(const Paths& paths) {
  EF_CHECK(finish_renewal(paths));
  EF_TRY(std::string text, read_file(paths.info(), 64 * 1024));
  EF_TRY(Json j, json::parse_strict(text));
  Identity id;
  EF_TRY(id.device_id, json::get_string(j, "device_id"));
  EF_TRY(id.server_urls, bootstrap::read_server_urls(j, false));
  EF_TRY(std::string not_after, json::get_string(j, "not_after"));
  EF_TRY(std::string renew_after, json::get_string(j, "renew_after"));
  EF_TRY(id.not_after, parse_utc(not_after));
  EF_TRY(id.renew_after, parse_utc(renew_after));
  if (!fs::exists(paths.key()) || !fs::exists(paths.certificate())) {
    return make_error(Errc::not_found, "identity files are incomplete in " + paths.dir.string());
  }
  return id;
}

namespace {

Status store(const Paths& paths, const Identity& id, const server_link::Certificate& cert) {
  EF_CHECK(write_file_atomic(paths.certificate(), cert.certificate_pem, 0644));
  if (!cert.ca_certificate_pem.empty())
    EF_CHECK(write_file_atomic(paths.ca(), cert.ca_certificate_pem, 0644));
  Json info{{"device_id", id.device_id},
            {"not_after", format_utc(id.not_after)},
            {"renew_after", format_utc(id.renew_after)}};
  bootstrap::write_server_urls(info, id.server_urls);
  return write_file_atomic(paths.info(), info.dump(1) + "\n", 0600);
}

}  // namespace

Result<Identity> enroll(const Paths& paths, const bootstrap::Bootstrap& boot,
                        const std::string& server_url, server_link::Client& api) {
  EF_CHECK(make_dirs(paths.dir, 0700));
  if (!fs::exists(paths.ca())) EF_CHECK(write_file_atomic(paths.ca(), boot.server_ca_pem, 0644));
  std::string key_pem;
  if (auto existing = read_file(paths.key(), 64 * 1024)) {
    key_pem = *existing;
  } else {
    EF_TRY(auto pair, pki::generate_ec_key());
    key_pem = pair.private_key_pem;
    EF_CHECK(write_file_atomic(paths.key(), key_pem, 0600));
  }
  EF_TRY(std::string csr, pki::make_csr(key_pem, boot.device_id));
  api.set_endpoint(endpoint(paths, server_url, false));
  EF_TRY(server_link::Certificate cert, api.enroll(boot.device_id, boot.enrollment_token, csr));
  Identity id{boot.device_id, boot.server_urls, cert.not_after, cert.renew_after};
  EF_CHECK(store(paths, id, cert));
  return id;
}

Result<Identity> renew(const Paths& paths, const Identity& current, const std::string& server_url,
                       server_link::Client& api) {
  EF_TRY(auto pair, pki::generate_ec_key());
  EF_TRY(std::string csr, pki::make_csr(pair.private_key_pem, current.device_id));
  api.set_endpoint(endpoint(paths, server_url, true));
  EF_TRY(server_link::Certificate cert, api.renew(current.device_id, csr));
  // Both new files first, then the renames (finish_renewal completes them after a crash).
  const fs::path next_key = paths.dir / "device.key.next";
  EF_CHECK(write_file_atomic(next_key, pair.private_key_pem, 0600));
  Identity id{current.device_id, current.server_urls, cert.not_after, cert.renew_after};
  EF_CHECK(write_file_atomic(paths.dir / "device.crt.next", cert.certificate_pem, 0644));
  if (::rename(next_key.c_str(), paths.key().c_str()) != 0)
    return os_error("cannot install", paths.key(), errno);
  if (::rename((paths.dir / "device.crt.next").c_str(), paths.certificate().c_str()) != 0) {
    return os_error("cannot install", paths.certificate(), errno);
  }
  EF_CHECK(fsync_dir(paths.dir));
  EF_CHECK(store(paths, id, cert));
  api.set_endpoint(endpoint(paths, server_url, true));
  return id;
}

}  // namespace ef::credentials

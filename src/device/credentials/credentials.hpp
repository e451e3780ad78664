// The device's own identity: a private key generated on the device (never leaves it, mode 0600),
// the certificate the fleet CA issued for it at enrollment, and the fleet CA. Kept in
// <data>/identity/. Enrollment uses the bootstrap folder's one-time token; renewal happens over
// mutual TLS after the certificate's renew_after time, with a fresh key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bootstrap/bootstrap.hpp"
#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "device/server_link/server_link.hpp"

namespace ef::credentials {

struct Paths {
  std::filesystem::path dir;
  std::filesystem::path key() const { return dir / "device.key"; }
  std::filesystem::path certificate() const { return dir / "device.crt"; }
  std::filesystem::path ca() const { return dir / "fleet-ca.pem"; }
  std::filesystem::path info() const {
    return dir / "identity.json";
  }  // device id, server, renew_after
};

struct Identity {
  std::string device_id;
  // What it enrolled with (bootstrap server_urls); identity.json written before server_urls
  // existed holds one "server_url" and reads as a one-element list.
  std::vector<std::string> server_urls;
  UtcTime not_after;
  UtcTime renew_after;
};

// The identity in dir, or not_found if the device has not enrolled yet.
Result<Identity> load(const Paths& paths);

// Enrols through server_url (one of boot.server_urls: the agent's current choice): generates a
// key (0600) if there is none, sends a CSR with the bootstrap token, stores the certificate and
// CA. A refusal by the server is returned as-is (with its HTTP status).
Result<Identity> enroll(const Paths& paths, const bootstrap::Bootstrap& boot,
                        const std::string& server_url, server_link::Client& api);

// Renews with a fresh key over mutual TLS through server_url; the old key and certificate stay
// until the new ones are stored, so an interrupted renewal leaves a working identity.
Result<Identity> renew(const Paths& paths, const Identity& current, const std::string& server_url,
                       server_link::Client& api);

server_link::Endpoint endpoint(const Paths& paths, const std::string& server_url,
                               bool with_client_certificate);

}  // namespace ef::credentials

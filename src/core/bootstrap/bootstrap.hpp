// The per-device bootstrap folder (on a small partition, e.g. /boot/edgefleet-bootstrap/):
//
//   device.json        {"device_id": "line3-cam07", "server_url": "https://fleet.plant:8443"}
//   server-ca.pem      the fleet CA that signed the server's TLS certificate
//   enrollment-token   the one-time token the operator got for this device (one line)
//   network.json       optional: network settings applied by the OS image (checked here only)
//
// Everything is checked before the agent acts on it; a truncated or damaged folder is refused
// with a message naming the file, and nothing is changed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/json/json.hpp"

namespace ef::bootstrap {

struct Bootstrap {
  std::string device_id;
  std::string server_url;  // https://host[:port], no path
  std::string server_ca_pem;
  std::string enrollment_token;  // empty when the device is already enrolled and it was removed
  std::optional<json::Json> network;  // network.json, if present
};

// Reads and checks the folder. require_token: false once the device holds a certificate.
Result<Bootstrap> load(const std::filesystem::path& dir, bool require_token);

}  // namespace ef::bootstrap

// The per-device bootstrap folder (on a small partition, e.g. /boot/edgefleet-bootstrap/):
//
//   device.json        {"device_id": "line3-cam07",
//                       "server_urls": ["https://fleet-a.plant:8443",
//                       "https://fleet-b.plant:8443"], "server_url": "https://fleet-a.plant:8443"}
//   server-ca.pem      the fleet CA that signed the server's TLS certificate
//   enrollment-token   the one-time token the operator got for this device (one line)
//   network.json       optional: network settings applied by the OS image (checked here only)
//
// Server URLs: "server_urls" lists 1..kMaxServerUrls replicas of the same fleet (each https://
// host[:port], no path, no duplicates); the agent starts on one at random and fails over
// (device/server_choice). A folder with only the older single "server_url" is read as a
// one-element list. write_server_urls() writes both fields, "server_url" being the first entry,
// so an agent older than server_urls still finds a server. When both are present, "server_url"
// must be one of "server_urls" (a hand edit that points older agents elsewhere is refused).
//
// Everything is checked before the agent acts on it; a truncated or damaged folder is refused
// with a message naming the file, and nothing is changed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/json/json.hpp"

namespace ef::bootstrap {

inline constexpr std::size_t kMaxServerUrls = 16;

struct Bootstrap {
  std::string device_id;
  std::vector<std::string> server_urls;  // 1..kMaxServerUrls, each https://host[:port], no path
  std::string server_ca_pem;
  std::string enrollment_token;  // empty when the device is already enrolled and it was removed
  std::optional<json::Json> network;  // network.json, if present
};

// Reads and checks the folder. require_token: false once the device holds a certificate.
Result<Bootstrap> load(const std::filesystem::path& dir, bool require_token);

// Checks a list of server URLs as load() does, dropping trailing '/' in place: 1..kMaxServerUrls
// entries, each https://host[:port] without path, no two naming the same host and port.
Status check_server_urls(std::vector<std::string>& urls);

// The server URLs of a device.json-shaped object ("server_urls", or the older "server_url"), with
// the rules above. check_urls = false checks only the shape (a list of 1..kMaxServerUrls distinct,
// non-empty strings): for the agent's own identity.json, which holds what it was enrolled with.
Result<std::vector<std::string>> read_server_urls(const json::Json& object, bool check_urls = true);

// Sets "server_urls" and, for older agents, "server_url" (the first entry) on object.
void write_server_urls(json::Json& object, const std::vector<std::string>& urls);

}  // namespace ef::bootstrap

// The operator side of the control plane API, for the `edgefleet` CLI: where the server is, how
// to trust it, which token to send, and JSON calls with errors turned into one clear line.
//
// Settings come from, in order of precedence: command-line flags, the environment
// (EDGEFLEET_SERVER, EDGEFLEET_TOKEN, EDGEFLEET_CA), and a JSON config file
// ({"server": "https://fleet.example:8443", "token": "eft_...", "ca_file": "/path/ca.crt"}) named
// by --config, EDGEFLEET_CONFIG, or $XDG_CONFIG_HOME/edgefleet/config.json (default
// ~/.config/edgefleet/config.json). A config file holding a token must be readable by its owner
// only (mode 0600): it is refused otherwise, as ssh refuses an open key file. HTTP error statuses
// become errors whose code says what happened (404 not_found, 409 exists, 401/403 refused, 5xx
// network).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.hpp"
#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"

namespace ef::fleet_client {

struct Settings {
  std::string server;  // https://host:port
  std::string token;
  std::string ca_file;  // empty: the system's CAs
};

struct Overrides {
  std::string server;
  std::string token;
  std::string ca_file;
  std::string config_file;
};

// Resolves the settings; fails with a message saying what to set when the server or token is
// missing (token_required false for endpoints that need none).
Result<Settings> resolve(const Overrides& flags, bool token_required = true);

struct Reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  json::Json json;  // the parsed body when it is JSON, else null
};

class Client {
 public:
  explicit Client(Settings settings) : settings_(std::move(settings)) {}

  // Sends a request; an HTTP error status becomes an Error quoting the server's message.
  Result<Reply> call(std::string_view method, std::string_view path,
                     const json::Json& body = nullptr);
  // The same with a raw body (uploads).
  Result<Reply> send(std::string_view method, std::string_view path, std::string_view body,
                     std::string_view content_type, bool accept_not_found = false);

 private:
  Settings settings_;
  http_client::HttpClient http_;
};

}  // namespace ef::fleet_client

#include "cli/fleet_client/fleet_client.hpp"

#include <cstdlib>
#include <filesystem>

#include "core/common/fs.hpp"

namespace ef::fleet_client {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::filesystem::path default_config_path() {
  if (auto xdg = env("XDG_CONFIG_HOME"); !xdg.empty())
    return std::filesystem::path(xdg) / "edgefleet" / "config.json";
  if (auto home = env("HOME"); !home.empty())
    return std::filesystem::path(home) / ".config" / "edgefleet" / "config.json";
  return {};
}

// A config file holding a token must be readable by its owner only, as ssh insists for keys: a
// token in a world-readable file is a token anyone on the workstation can use.
Status check_private(const std::filesystem::path& config, std::string_view text) {
  if (text.find("\"token\"") == std::string_view::npos) return {};
  std::error_code ec;
  using std::filesystem::perms;
  const auto mode = std::filesystem::status(config, ec).permissions();
  if (!ec && (mode & (perms::group_all | perms::others_all)) != perms::none) {
    return make_error(Errc::refused, "config file " + config.string() +
                                         " holds a token but others may read it: chmod 600 " +
                                         config.string());
  }
  return {};
}

// The error code for an HTTP error status, so callers can branch on what happened.
Errc errc_for_status(long status) {
  switch (status) {
    case 404:
      return Errc::not_found;
    case 409:
      return Errc::exists;
    case 401:
    case 403:
      return Errc::refused;
    case 413:
      return Errc::too_large;
    default:
      return status >= 500 ? Errc::network : Errc::invalid_argument;
  }
}

}  // namespace

Result<Settings> resolve(const Overrides& flags, bool token_required) {
  Settings out;
  std::filesystem::path config = flags.config_file;
  bool explicit_config = !config.empty();
  if (config.empty()) {
    config = env("EDGEFLEET_CONFIG");
    explicit_config = !config.empty();
  }
  if (config.empty()) config = default_config_path();
  std::error_code ec;
  if (!config.empty() && (explicit_config || std::filesystem::exists(config, ec))) {
    EF_TRY(auto text, read_file(config, 1 << 20));
    EF_CHECK(check_private(config, text));
    auto parsed = json::parse_strict(text);
    if (!parsed || !parsed->is_object()) {
      return make_error(Errc::malformed,
                        "config file " + config.string() + " is not a JSON object");
    }
    for (auto [key, field] : {std::pair{"server", &out.server}, std::pair{"token", &out.token},
                              std::pair{"ca_file", &out.ca_file}}) {
      if (!parsed->contains(key)) continue;
      auto value = json::get_string(*parsed, key);
      if (!value) return std::move(value).error().context("config file " + config.string());
      *field = *value;
    }
  }
  for (auto [name, field] :
       {std::pair{"EDGEFLEET_SERVER", &out.server}, std::pair{"EDGEFLEET_TOKEN", &out.token},
        std::pair{"EDGEFLEET_CA", &out.ca_file}}) {
    if (auto value = env(name); !value.empty()) *field = value;
  }
  if (!flags.server.empty()) out.server = flags.server;
  if (!flags.token.empty()) out.token = flags.token;
  if (!flags.ca_file.empty()) out.ca_file = flags.ca_file;
  while (!out.server.empty() && out.server.back() == '/')
    out.server.pop_back();
  if (out.server.empty()) {
    return make_error(
        Errc::invalid_argument,
        "no server given: use --server URL, EDGEFLEET_SERVER, or \"server\" in the config file");
  }
  if (out.server.rfind("https://", 0) != 0 && out.server.rfind("http://", 0) != 0) {
    return make_error(Errc::invalid_argument,
                      "the server URL must start with https:// (got " + out.server + ")");
  }
  if (token_required && out.token.empty()) {
    return make_error(
        Errc::invalid_argument,
        "no operator token given: use --token, EDGEFLEET_TOKEN, or \"token\" in the config file");
  }
  return out;
}

Result<Reply> Client::call(std::string_view method, std::string_view path, const json::Json& body) {
  const std::string text = body.is_null() ? "" : body.dump();
  return send(method, path, text, text.empty() ? "" : "application/json");
}

Result<Reply> Client::send(std::string_view method, std::string_view path, std::string_view body,
                           std::string_view content_type, bool accept_not_found) {
  http_client::Options options;
  options.bearer_token = settings_.token;
  options.tls.ca_file = settings_.ca_file;
  options.total_timeout = std::chrono::minutes(30);
  options.max_body_bytes = 256 * 1024 * 1024;
  const std::string url = settings_.server + std::string(path);
  auto response = http_.request(method, url, body, content_type, options);
  if (!response) return std::move(response).error();  // it names the method and URL already
  Reply reply{response->status, std::move(response->body), std::move(response->headers), nullptr};
  if (!reply.body.empty() && (reply.body.front() == '{' || reply.body.front() == '[')) {
    if (auto parsed = json::parse_strict(reply.body)) reply.json = std::move(*parsed);
  }
  if (reply.status >= 400 && !(accept_not_found && reply.status == 404)) {
    std::string message = "HTTP " + std::to_string(reply.status);
    if (reply.json.is_object() && reply.json.contains("error") && reply.json["error"].is_object()) {
      message += ": " + reply.json["error"].value("message", "");
    }
    return make_error(errc_for_status(reply.status), message);
  }
  return reply;
}

}  // namespace ef::fleet_client

// edgefleet device add|list|show|revoke|token|bootstrap: the device registry on edgefleet-server.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/bootstrap/bootstrap.hpp"
#include "core/common/fs.hpp"

#include "commands.hpp"
#include "server_flags.hpp"

namespace ef::cli {
namespace {

std::string path_for(const std::string& id) {
  return "/api/v1/devices/" + http_client::url_encode(id);
}

std::string text(const json::Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

void print_token(const json::Json& reply) {
  std::cout << "enrollment token (shown once): " << reply.value("enrollment_token", "") << "\n"
            << "expires: " << reply.value("token_expires_at", "") << "\n";
}

// Writes a device's bootstrap folder (see bootstrap.hpp) with a fresh enrollment token: into a
// temporary folder beside `out`, checked with the agent's own loader, then renamed into place, so a
// failure leaves nothing half-written. An existing `out` is never overwritten.
void write_bootstrap(const std::filesystem::path& out, const std::string& id,
                     const std::vector<std::string>& server_urls, const std::string& ca_file,
                     const std::string& network_file, const std::string& token) {
  namespace fs = std::filesystem;
  const std::string command = "device bootstrap";
  std::error_code ec;
  if (fs::exists(out, ec)) fail(command + ": " + out.string() + " exists; choose a new folder");
  if (ca_file.empty())
    fail(command + ": the server's CA certificate is needed (--server-ca, --ca or EDGEFLEET_CA)");
  auto ca = read_file(ca_file, 1024 * 1024);
  if (!ca) fail(command + ": " + ca.error().message);
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (auto st = make_dirs(parent); !st) fail(command + ": " + st.error().message);
  const fs::path tmp = parent / ("." + out.filename().string() + ".tmp");
  fs::remove_all(tmp, ec);
  auto check = [&](Status st) {
    if (!st) {
      fs::remove_all(tmp, ec);
      fail(command + ": " + st.error().message);
    }
  };
  check(make_dirs(tmp, 0700));
  json::Json device = {{"device_id", id}};
  bootstrap::write_server_urls(device, server_urls);
  check(write_file_atomic(tmp / "device.json", device.dump(2) + "\n", 0644));
  check(write_file_atomic(tmp / "server-ca.pem", *ca, 0644));
  check(write_file_atomic(tmp / "enrollment-token", token + "\n", 0600));
  if (!network_file.empty()) {
    auto network = read_file(network_file, 64 * 1024);
    if (!network) check(std::move(network).error());
    check(write_file_atomic(tmp / "network.json", *network, 0644));
  }
  if (auto loaded = bootstrap::load(tmp, true); !loaded) check(std::move(loaded).error());
  fs::rename(tmp, out, ec);
  if (ec) check(make_error(Errc::io, "cannot rename " + tmp.string() + ": " + ec.message()));
  check(fsync_dir(parent));
}

void add_device_add(CLI::App& device) {
  auto* add =
      device.add_subcommand("add", "register a device and print its one-time enrollment token");
  static fleet_client::Overrides add_flags;
  static std::string id, site, cell, location;
  static std::vector<std::string> labels;
  static long ttl = 0;
  add->add_option("ID", id, "device id: letters, digits, '.', '_', '-'")->required();
  add->add_option("--site", site, "site (plant)");
  add->add_option("--cell", cell, "cell (line, station)");
  add->add_option("--location", location, "free-form location");
  add->add_option("--label", labels, "label KEY=VALUE (repeatable)");
  add->add_option("--token-ttl", ttl, "token validity in seconds (default: 7 days)");
  add_server_flags(add, &add_flags);
  add->callback([] {
    json::Json body = {{"id", id}, {"site", site}, {"cell", cell}, {"location", location}};
    json::Json label_map = json::Json::object();
    for (const auto& l : labels) {
      const auto eq = l.find('=');
      if (eq == std::string::npos || eq == 0) fail("device add: --label wants KEY=VALUE, not " + l);
      label_map[l.substr(0, eq)] = l.substr(eq + 1);
    }
    body["labels"] = label_map;
    if (ttl > 0) body["token_ttl_seconds"] = ttl;
    auto client = connect(add_flags, "device add");
    auto reply = must(client.call("POST", "/api/v1/devices", body), "device add");
    std::cout << "device " << id << " registered\n";
    print_token(reply.json);
  });
}

void add_device_list(CLI::App& device) {
  auto* list = device.add_subcommand("list", "list devices");
  static fleet_client::Overrides list_flags;
  static std::string list_site, list_cell, list_status;
  static bool list_json = false;
  list->add_option("--site", list_site);
  list->add_option("--cell", list_cell);
  list->add_option("--status", list_status, "registered, active or revoked");
  list->add_flag("--json", list_json, "print JSON");
  add_server_flags(list, &list_flags);
  list->callback([] {
    std::string query;
    for (auto [name, value] : {std::pair{"site", &list_site}, std::pair{"cell", &list_cell},
                               std::pair{"status", &list_status}}) {
      if (!value->empty())
        query +=
            (query.empty() ? "?" : "&") + std::string(name) + "=" + http_client::url_encode(*value);
    }
    auto client = connect(list_flags, "device list");
    auto reply = must(client.call("GET", "/api/v1/devices" + query), "device list");
    if (list_json) {
      std::cout << reply.json.dump(2) << "\n";
      return;
    }
    std::printf("%-24s %-12s %-12s %-10s %-11s %s\n", "ID", "SITE", "CELL", "STATUS", "CONNECTION",
                "LAST SEEN");
    for (const auto& d : reply.json["devices"]) {
      std::printf("%-24s %-12s %-12s %-10s %-11s %s\n", text(d, "id").c_str(),
                  text(d, "site").c_str(), text(d, "cell").c_str(), text(d, "status").c_str(),
                  text(d, "connectivity").c_str(), text(d, "last_seen").c_str());
    }
  });
}

void add_device_show(CLI::App& device) {
  auto* show =
      device.add_subcommand("show", "show one device, its last report and its pinned release");
  static fleet_client::Overrides show_flags;
  static std::string show_id;
  show->add_option("ID", show_id)->required();
  add_server_flags(show, &show_flags);
  show->callback([] {
    auto client = connect(show_flags, "device show");
    std::cout << must(client.call("GET", path_for(show_id)), "device show").json.dump(2) << "\n";
  });
}

void add_device_revoke(CLI::App& device) {
  auto* revoke =
      device.add_subcommand("revoke", "revoke a device at once (it cannot check in again)");
  static fleet_client::Overrides revoke_flags;
  static std::string revoke_id;
  revoke->add_option("ID", revoke_id)->required();
  add_server_flags(revoke, &revoke_flags);
  revoke->callback([] {
    auto client = connect(revoke_flags, "device revoke");
    must(client.call("POST", path_for(revoke_id) + "/revoke"), "device revoke");
    std::cout << "device " << revoke_id << " revoked\n";
  });
}

void add_device_token(CLI::App& device) {
  auto* token =
      device.add_subcommand("token", "issue a new enrollment token (voids the unused old one)");
  static fleet_client::Overrides token_flags;
  static std::string token_id;
  static long token_ttl = 0;
  token->add_option("ID", token_id)->required();
  token->add_option("--token-ttl", token_ttl, "token validity in seconds (default: 7 days)");
  add_server_flags(token, &token_flags);
  token->callback([] {
    json::Json body = json::Json::object();
    if (token_ttl > 0) body["token_ttl_seconds"] = token_ttl;
    auto client = connect(token_flags, "device token");
    print_token(
        must(client.call("POST", path_for(token_id) + "/enrollment-token", body), "device token")
            .json);
  });
}

void add_device_group(CLI::App& app) {
  CLI::App& device = subcommand(app, "device", "register, list, show and revoke devices");
  add_device_add(device);
  add_device_list(device);
  add_device_show(device);
  add_device_revoke(device);
  add_device_token(device);
}

void add_bootstrap_command(CLI::App& app) {
  CLI::App& device = subcommand(app, "device", "register, list, show and revoke devices");
  auto* boot = device.add_subcommand(
      "bootstrap",
      "write a registered device's bootstrap folder (device.json, server CA, a new one-time "
      "enrollment token) for its bootstrap partition");
  static fleet_client::Overrides flags;
  static std::string id, out, server_ca, network;
  static std::vector<std::string> server_urls;
  static long ttl = 0;
  boot->add_option("ID", id, "a device registered with `edgefleet device add`")->required();
  boot->add_option("--out", out, "the folder to create (must not exist)")->required();
  boot->add_option("--device-server-url", server_urls,
                   "the server URL as the device reaches it (default: --server); repeat it, or "
                   "separate URLs with commas, to list up to 16 replicas: the device starts on "
                   "one at random and fails over to the others")
      ->delimiter(',');
  boot->add_option("--server-ca", server_ca,
                   "CA certificate devices trust for the server (default: --ca)");
  boot->add_option("--network", network, "network.json to include (see docs/agent.md)");
  boot->add_option("--token-ttl", ttl, "token validity in seconds (default: 7 days)");
  add_server_flags(boot, &flags);
  boot->callback([] {
    auto settings = fleet_client::resolve(flags);
    if (!settings) fail("device bootstrap: " + settings.error().message);
    std::vector<std::string> urls = server_urls;
    if (urls.empty()) urls.push_back(settings->server);
    // Checked before a token is made: making one voids the device's previous token.
    if (auto st = bootstrap::check_server_urls(urls); !st)
      fail("device bootstrap: --device-server-url: " + st.error().message);
    const std::string ca = server_ca.empty() ? settings->ca_file : server_ca;
    if (std::filesystem::exists(out))
      fail("device bootstrap: " + out + " exists; choose a new folder");
    fleet_client::Client client(*settings);
    json::Json body = json::Json::object();
    if (ttl > 0) body["token_ttl_seconds"] = ttl;
    auto reply =
        must(client.call("POST", path_for(id) + "/enrollment-token", body), "device bootstrap");
    write_bootstrap(out, id, urls, ca, network, reply.json.value("enrollment_token", ""));
    std::cout << "bootstrap folder for " << id << " written to " << out << " (token expires "
              << reply.json.value("token_expires_at", "") << ")\n";
  });
}

const CommandGroup group("device", add_device_group);
const CommandGroup bootstrap_group("device-bootstrap", add_bootstrap_command);

}  // namespace
}  // namespace ef::cli

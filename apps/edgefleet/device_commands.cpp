// edgefleet device add|list|show|revoke|token: the device registry on edgefleet-server.
#include <cstdio>
#include <iostream>

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

void add_device_group(CLI::App& app) {
  CLI::App& device = subcommand(app, "device", "register, list, show and revoke devices");

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

const CommandGroup group("device", add_device_group);

}  // namespace
}  // namespace ef::cli

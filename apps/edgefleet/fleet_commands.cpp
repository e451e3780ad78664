// edgefleet assign|unassign|inventory export|audit: desired state, inventory and audit log on
// edgefleet-server.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "core/common/fs.hpp"
#include "server_flags.hpp"

namespace ef::cli {
namespace {

void add_assign(CLI::App& app) {
  auto* assign = app.add_subcommand(
      "assign", "pin a published release to devices (named, or every device of a site/cell)");
  static fleet_client::Overrides flags;
  static std::string release, site, cell;
  static std::vector<std::string> devices;
  assign->add_option("RELEASE", release, "release version")->required();
  assign->add_option("DEVICES", devices, "device ids");
  assign->add_option("--site", site, "every device at this site");
  assign->add_option("--cell", cell, "every device in this cell");
  add_server_flags(assign, &flags);
  assign->callback([] {
    json::Json body = {{"release", release}};
    if (!devices.empty()) {
      if (!site.empty() || !cell.empty())
        fail("assign: name devices or give --site/--cell, not both");
      body["devices"] = devices;
    } else {
      if (site.empty() && cell.empty()) fail("assign: name devices, or give --site and/or --cell");
      if (!site.empty()) body["site"] = site;
      if (!cell.empty()) body["cell"] = cell;
    }
    auto client = connect(flags, "assign");
    auto reply = must(client.call("POST", "/api/v1/assignments", body), "assign");
    const auto& assigned = reply.json["assigned"];
    std::cout << "release " << release << " pinned to " << assigned.size() << " device(s)";
    for (const auto& id : assigned)
      std::cout << " " << id.get<std::string>();
    std::cout << "\n";
  });

  auto* unassign = app.add_subcommand("unassign", "remove a device's release pin");
  static fleet_client::Overrides unassign_flags;
  static std::string device;
  unassign->add_option("DEVICE", device)->required();
  add_server_flags(unassign, &unassign_flags);
  unassign->callback([] {
    auto client = connect(unassign_flags, "unassign");
    must(
        client.call("DELETE", "/api/v1/devices/" + http_client::url_encode(device) + "/assignment"),
        "unassign");
    std::cout << "pin removed from " << device << "\n";
  });
}

void add_inventory(CLI::App& app) {
  CLI::App& inventory = subcommand(app, "inventory", "the fleet inventory");
  auto* exp = inventory.add_subcommand("export", "export the inventory as CSV or JSON");
  static fleet_client::Overrides flags;
  static std::string format = "csv", output, site, cell;
  exp->add_option("--format", format, "csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  exp->add_option("--output,-o", output, "write to this file (default: standard output)");
  exp->add_option("--site", site);
  exp->add_option("--cell", cell);
  add_server_flags(exp, &flags);
  exp->callback([] {
    std::string path = "/api/v1/inventory?format=" + format;
    if (!site.empty()) path += "&site=" + http_client::url_encode(site);
    if (!cell.empty()) path += "&cell=" + http_client::url_encode(cell);
    auto client = connect(flags, "inventory export");
    auto reply = must(client.call("GET", path), "inventory export");
    const std::string data = format == "json" ? reply.json.dump(2) + "\n" : reply.body;
    if (output.empty()) {
      std::cout << data;
    } else if (auto written = write_file_atomic(output, data); !written) {
      fail("inventory export: " + written.error().message);
    } else {
      std::cerr << "inventory written to " << output << "\n";
    }
  });
}

void add_audit(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "show the audit log (who did what, when)");
  static fleet_client::Overrides flags;
  static long after = 0, limit = 100;
  static bool as_json = false;
  audit->add_option("--after", after, "show entries after this sequence number");
  audit->add_option("--limit", limit, "at most this many entries (1-1000)")->capture_default_str();
  audit->add_flag("--json", as_json, "print JSON");
  add_server_flags(audit, &flags);
  audit->callback([] {
    auto client = connect(flags, "audit");
    auto reply = must(client.call("GET", "/api/v1/audit?after=" + std::to_string(after) +
                                             "&limit=" + std::to_string(limit)),
                      "audit");
    if (as_json) {
      std::cout << reply.json.dump(2) << "\n";
      return;
    }
    for (const auto& e : reply.json["entries"]) {
      std::printf("%6lld  %s  %-24s %-40s %s  (from %s)\n",
                  static_cast<long long>(e["seq"].get<std::int64_t>()),
                  e["at"].get<std::string>().c_str(), e["action"].get<std::string>().c_str(),
                  e["actor"].get<std::string>().c_str(), e["target"].get<std::string>().c_str(),
                  e["source"].get<std::string>().c_str());
    }
  });
}

void add_fleet(CLI::App& app) {
  add_assign(app);
  add_inventory(app);
  add_audit(app);
}

const CommandGroup group("fleet", add_fleet);

}  // namespace
}  // namespace ef::cli

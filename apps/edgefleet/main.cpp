// edgefleet: the operator CLI (keys, releases, and the control plane's API).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "commands.hpp"

namespace ef::cli {

namespace {
std::map<std::string, std::function<void(CLI::App&)>>& registry() {
  static std::map<std::string, std::function<void(CLI::App&)>> groups;
  return groups;
}
}  // namespace

CommandGroup::CommandGroup(std::string name, std::function<void(CLI::App&)> add) {
  registry().emplace(std::move(name), std::move(add));
}

void add_registered_groups(CLI::App& app) {
  for (auto& [name, add] : registry())
    add(app);
}

CLI::App& subcommand(CLI::App& app, const std::string& name, const std::string& description) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == name) return *sub;
  }
  CLI::App* sub = app.add_subcommand(name, description);
  sub->require_subcommand(1);
  return *sub;
}

void fail(const std::string& message) {
  std::cerr << "edgefleet: " << message << "\n";
  std::exit(1);
}

}  // namespace ef::cli

int main(int argc, char** argv) {
  CLI::App app{"edgefleet: run a fleet of edge inspection devices", "edgefleet"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgefleet 0.1.0");
  ef::cli::add_registered_groups(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

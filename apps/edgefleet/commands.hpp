// The operator CLI is one program whose command groups live in their own files
// (keys_commands.cpp, release_commands.cpp, ...). Each file registers itself with a static
// CommandGroup, so adding a group touches no other file. Commands print one clear line on failure
// and exit non-zero.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace ef::cli {

struct CommandGroup {
  CommandGroup(std::string name, std::function<void(CLI::App&)> add);
};

// Adds every registered group to app, in name order.
void add_registered_groups(CLI::App& app);

// The subcommand `name` of app, created with `description` if no group has created it yet (two
// groups may add commands under one name, e.g. "release build" and "release publish").
CLI::App& subcommand(CLI::App& app, const std::string& name, const std::string& description);

// Ends a command: prints "edgefleet: <message>" to stderr and exits with status 1.
[[noreturn]] void fail(const std::string& message);

}  // namespace ef::cli

// The flags every command that talks to edgefleet-server shares (--server, --token, --ca,
// --config; see fleet_client.hpp for the environment and config file).
#pragma once

#include <memory>

#include "cli/fleet_client/fleet_client.hpp"
#include "commands.hpp"

namespace ef::cli {

inline void add_server_flags(CLI::App* cmd, fleet_client::Overrides* flags) {
  cmd->add_option("--server", flags->server, "server URL (or EDGEFLEET_SERVER)");
  cmd->add_option("--token", flags->token, "operator token (or EDGEFLEET_TOKEN)");
  cmd->add_option("--ca", flags->ca_file,
                  "CA certificate that signed the server's (or EDGEFLEET_CA)");
  cmd->add_option("--config", flags->config_file, "config file (or EDGEFLEET_CONFIG)");
}

// A client for the resolved settings, or the command fails with what to set.
inline fleet_client::Client connect(const fleet_client::Overrides& flags,
                                    const std::string& command) {
  auto settings = fleet_client::resolve(flags);
  if (!settings) fail(command + ": " + settings.error().message);
  return fleet_client::Client(std::move(*settings));
}

// The reply, or the command fails with the server's message.
inline fleet_client::Reply must(Result<fleet_client::Reply> reply, const std::string& command) {
  if (!reply) fail(command + ": " + reply.error().message);
  return std::move(*reply);
}

}  // namespace ef::cli

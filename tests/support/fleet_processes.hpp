// Real edgefleet processes for end-to-end tests on 127.0.0.1: the server from its binary (with
// its repository initialised from release keys), the edgefleet CLI as an operator, and device
// agents, each with its own bootstrap and data folder standing in for a device.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/json/json.hpp"
#include "run_command.hpp"

namespace ef::testing {

struct ProcessOptions {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::filesystem::path log;
};

// A free port on 127.0.0.1 for a process started next (closed before that process binds it: a
// small race, acceptable in tests).
int free_local_port();

// Starts argv[0] with its output appended to log; returns the pid.
pid_t spawn(const ProcessOptions& options);
// SIGTERM (or `signal`), then waits; returns the exit status as waitpid reports it.
int stop_process(pid_t pid, int signal = 15, std::chrono::seconds grace = std::chrono::seconds(20));

class Fleet {
 public:
  // Creates dir, release keys (KEYS), and initialises the server's repository from them.
  explicit Fleet(std::filesystem::path dir);
  ~Fleet();

  // extra_args go after the defaults; "--max-wait" there replaces the default of 30 s, and
  // "--listen" the default of 127.0.0.1:0 (a restart on the same port).
  void start_server(const std::vector<std::string>& extra_args = {});
  void stop_server();

  // Another server process on the same data folder: a replica when args name the same
  // --database as start_server's. Its log is dir/<name>.log; returns its pid and sets *url.
  pid_t start_replica(const std::string& name, const std::vector<std::string>& args,
                      std::string* url) const;

  // Builds the release folder src as `version` with the fleet's keys and publishes it through the
  // server; returns the first command that failed, or the publish.
  CommandResult publish(const std::filesystem::path& src, const std::string& version) const;

  // The CLI with this server's URL, admin token and CA.
  CommandResult cli(const std::string& args) const;
  // The same against another server URL (a replica).
  CommandResult cli_at(const std::string& server_url, const std::string& args) const;
  // The server's API as the admin (GET only here); the body parsed as JSON.
  json::Json api_get(const std::string& path) const;

  // Registers a device and writes its bootstrap folder (device.json, server-ca.pem, token).
  std::filesystem::path add_device(const std::string& id, const std::string& extra_args = "");
  // Starts an agent for a registered device; its data folder is dir/devices/<id>/data.
  pid_t start_agent(const std::string& id, const std::map<std::string, std::string>& env = {},
                    const std::vector<std::string>& extra_args = {});
  std::filesystem::path device_dir(const std::string& id) const { return dir_ / "devices" / id; }

  // Polls `device show` until pred holds or the timeout passes; returns the last answer.
  json::Json wait_for_device(const std::string& id,
                             const std::function<bool(const json::Json&)>& pred,
                             std::chrono::seconds timeout);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path keys() const { return dir_ / "keys"; }
  std::filesystem::path repo() const { return dir_ / "repo"; }
  const std::string& url() const { return url_; }
  const std::string& admin_token() const { return admin_; }
  const std::string& ca_file() const { return ca_; }
  pid_t server_pid() const { return server_; }
  std::string server_log() const;

 private:
  std::filesystem::path dir_;
  pid_t server_ = -1;
  std::string url_, admin_, ca_;
};

}  // namespace ef::testing

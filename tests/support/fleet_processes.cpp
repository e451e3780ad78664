#include "fleet_processes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ef::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
const std::string kBin = EF_BINARY_DIR;
const std::string kServer = kBin + "/apps/edgefleet-server/edgefleet-server";
const std::string kCli = kBin + "/apps/edgefleet/edgefleet";
const std::string kAgent = kBin + "/apps/edgefleet-agent/edgefleet-agent";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

pid_t spawn(const ProcessOptions& o) {
  // o.env overrides the parent's variables: getenv() returns the first of two equal names.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (!o.env.contains(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : o.env)
    env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = o.argv;
  for (auto& s : args)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log = o.log.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int stop_process(pid_t pid, int signal, std::chrono::seconds grace) {
  if (pid <= 0) return -1;
  ::kill(pid, signal);
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + grace;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  return status;
}

Fleet::Fleet(fs::path dir) : dir_(std::move(dir)) {
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  auto keys = run_command(kCli + " keys init --dir " + this->keys().string());
  if (keys.exit_code != 0) throw std::runtime_error("keys init: " + keys.err);
  auto init = run_command(kServer + " init-repository --data " + (dir_ / "server").string() +
                          " --keys " + this->keys().string());
  if (init.exit_code != 0) throw std::runtime_error("init-repository: " + init.err);
}

Fleet::~Fleet() {
  stop_server();
  fs::remove_all(dir_);
}

void Fleet::start_server(const std::vector<std::string>& extra_args) {
  fs::remove(dir_ / "port");
  std::vector<std::string> argv = {kServer, "--data", (dir_ / "server").string(), "--port-file",
                                   (dir_ / "port").string()};
  auto given = [&](const char* flag) {
    return std::find(extra_args.begin(), extra_args.end(), flag) != extra_args.end();
  };
  if (!given("--listen")) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
  if (!given("--max-wait")) argv.insert(argv.end(), {"--max-wait", "30"});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  server_ = spawn({argv, {}, dir_ / "server.log"});
  for (int i = 0; i < 400 && !fs::exists(dir_ / "port"); ++i)
    std::this_thread::sleep_for(25ms);
  const std::string port = slurp(dir_ / "port");
  if (port.empty()) throw std::runtime_error("the server did not start: " + server_log());
  url_ = "https://127.0.0.1:" + port.substr(0, port.find('\n'));
  std::smatch m;
  const std::string text = server_log();
  static const std::regex token("initial admin token[^:]*: (eft_[0-9a-f]{64})");
  if (admin_.empty() && std::regex_search(text, m, token)) admin_ = m[1];
  ca_ = (dir_ / "server/pki/ca.crt").string();
}

pid_t Fleet::start_replica(const std::string& name, const std::vector<std::string>& args,
                           std::string* url) const {
  const fs::path port_file = dir_ / (name + ".port");
  fs::remove(port_file);
  std::vector<std::string> argv = {kServer, "--data", (dir_ / "server").string(), "--port-file",
                                   port_file.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = spawn({argv, {}, dir_ / (name + ".log")});
  for (int i = 0; i < 400 && !fs::exists(port_file); ++i)
    std::this_thread::sleep_for(25ms);
  const std::string port = slurp(port_file);
  if (port.empty())
    throw std::runtime_error(name + " did not start: " + slurp(dir_ / (name + ".log")));
  *url = "https://127.0.0.1:" + port.substr(0, port.find('\n'));
  return pid;
}

void Fleet::stop_server() {
  stop_process(server_);
  server_ = -1;
}

std::string Fleet::server_log() const {
  return slurp(dir_ / "server.log");
}

CommandResult Fleet::publish(const fs::path& src, const std::string& version) const {
  auto built = run_command(kCli + " release build " + src.string() + " --version " + version +
                           " --keys " + keys().string() + " --repo " + repo().string());
  if (built.exit_code != 0) return built;
  return cli("release publish --repo " + repo().string());
}

CommandResult Fleet::cli(const std::string& args) const {
  return cli_at(url_, args);
}

CommandResult Fleet::cli_at(const std::string& server_url, const std::string& args) const {
  return run_command(kCli + " " + args + " --server " + server_url + " --token " + admin_ +
                     " --ca " + ca_);
}

json::Json Fleet::api_get(const std::string& path) const {
  auto r = run_command("curl -sS --cacert " + ca_ + " -H 'Authorization: Bearer " + admin_ + "' " +
                       url_ + path);
  auto j = json::parse_strict(r.out, {.allow_floats = true});
  return j ? *j : json::Json();
}

fs::path Fleet::add_device(const std::string& id, const std::string& extra_args) {
  auto added = cli("device add " + id + " " + extra_args);
  std::smatch m;
  static const std::regex token("(eet_[0-9a-f]{32})");
  if (added.exit_code != 0 || !std::regex_search(added.out, m, token)) {
    throw std::runtime_error("device add " + id + ": " + added.err + added.out);
  }
  const fs::path boot = device_dir(id) / "bootstrap";
  fs::create_directories(boot);
  std::ofstream(boot / "device.json") << json::Json{{"device_id", id}, {"server_url", url_}}.dump();
  fs::copy_file(ca_, boot / "server-ca.pem", fs::copy_options::overwrite_existing);
  std::ofstream(boot / "enrollment-token") << std::string(m[1]) << "\n";
  return boot;
}

pid_t Fleet::start_agent(const std::string& id, const std::map<std::string, std::string>& env,
                         const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{kAgent,
                                "--bootstrap",
                                (device_dir(id) / "bootstrap").string(),
                                "--data",
                                (device_dir(id) / "data").string(),
                                "--trust-root",
                                (keys() / "root.json").string()};
  // Tests check in every 10 s unless they say otherwise (the agent's default is 25 s).
  if (std::find(extra_args.begin(), extra_args.end(), "--checkin-wait") == extra_args.end())
    argv.insert(argv.end(), {"--checkin-wait", "10"});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return spawn({argv, env, device_dir(id) / "agent.log"});
}

json::Json Fleet::wait_for_device(const std::string& id,
                                  const std::function<bool(const json::Json&)>& pred,
                                  std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  json::Json last;
  while (std::chrono::steady_clock::now() < until) {
    last = api_get("/api/v1/devices/" + id);
    if (pred(last)) return last;
    std::this_thread::sleep_for(200ms);
  }
  return last;
}

}  // namespace ef::testing

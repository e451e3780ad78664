// Real processes on 127.0.0.1: edgefleet-server, the edgefleet CLI, and edgefleet-agent daemons,
// each with its own bootstrap and data folder standing in for a device, supervising the
// stand-in runtime. Enrolment, updates, rollback reported to the server, a download resumed
// after the agent was killed, revocation, a damaged bootstrap, and SIGKILL of the agent at every
// journaled step of an update with the server told the truth afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "connect_proxy.hpp"
#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "core/json/json.hpp"
#include "core/trust/metadata.hpp"
#include "fake_release.hpp"
#include "fleet_processes.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using json::Json;
using namespace std::chrono_literals;
using testing::Variant;

class AgentFleet : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    fleet_ = std::make_unique<testing::Fleet>(
        fs::temp_directory_path() /
        ("ef-af-" + std::to_string(::getpid()) + "-" + std::to_string(++counter)));
    fleet_->start_server();
  }
  void TearDown() override {
    for (auto& [id, pid] : agents_)
      testing::stop_process(pid);
    fleet_.reset();
  }

  void publish(const std::string& version, const Variant& v) {
    const fs::path src = fleet_->dir() / ("src-" + version);
    testing::write_fake_release(src, v);
    auto published = fleet_->publish(src, version);
    ASSERT_EQ(published.exit_code, 0) << published.err << published.out;
  }
  void assign(const std::string& version, const std::string& devices) {
    auto r = fleet_->cli("assign " + version + " " + devices);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void start(const std::string& id, const std::map<std::string, std::string>& env = {}) {
    agents_[id] = fleet_->start_agent(id, env);
  }
  // Waits for an agent killed at a fail point; returns true if it died of SIGKILL.
  bool wait_killed(const std::string& id, std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(agents_[id], &status, WNOHANG) == agents_[id]) {
        agents_.erase(id);
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  Json report_when(const std::string& id, const std::function<bool(const Json&)>& pred,
                   int seconds = 90) {
    return fleet_->wait_for_device(
        id,
        [&](const Json& d) {
          return d.contains("report") && d["report"].is_object() && pred(d["report"]);
        },
        std::chrono::seconds(seconds));
  }
  static bool settled_on(const Json& r, const std::string& version) {
    return r.value("installed_release", Json()) == version &&
           r.value("trial_release", Json()).is_null() && r.value("update", Json()).is_null() &&
           r.value("model_version", Json()).is_string();
  }
  std::string agent_log(const std::string& id) {
    auto t = read_file(fleet_->device_dir(id) / "agent.log", 1 << 22);
    return t ? *t : "";
  }
  // The device's installed release holds exactly what its trusted metadata lists.
  void expect_complete(const std::string& id, const std::string& version) {
    const fs::path data = fleet_->device_dir(id) / "data";
    EXPECT_EQ(fs::read_symlink(data / "current"), "releases/" + version);
    auto env =
        trust::parse_envelope(*read_file(data / "trust/metadata/targets.json", 1 << 24), 1 << 24);
    ASSERT_TRUE(env);
    auto targets = trust::parse_targets(env->signed_json);
    int files = 0;
    for (const auto& [path, t] : targets->targets) {
      if (!path.starts_with("releases/" + version + "/")) continue;
      ++files;
      auto content = read_file(data / path, 1 << 24);
      ASSERT_TRUE(content) << path;
      EXPECT_EQ(crypto::sha256_hex(*content), t.hashes.at("sha256")) << path;
    }
    EXPECT_EQ(files, 6);
  }

  std::unique_ptr<testing::Fleet> fleet_;
  std::map<std::string, pid_t> agents_;
};

TEST_F(AgentFleet, EnrolsUpdatesRollsBackAndReportsToTheServer) {
  publish("1.0.0", {});
  fleet_->add_device("cam-01", "--site plant-a --cell line-3");
  fleet_->add_device("cam-02", "--site plant-a --cell line-3");
  start("cam-01");
  start("cam-02");
  auto seen = report_when(
      "cam-01", [](const Json& r) { return r.value("agent_version", "") == "0.1.0"; }, 60);
  ASSERT_EQ(seen["report"]["agent_version"], "0.1.0")
      << agent_log("cam-01") << fleet_->server_log();
  EXPECT_FALSE(seen["report"]["hardware"]["cpu"].get<std::string>().empty());
  EXPECT_GT(seen["report"]["hardware"]["memory_bytes"].get<std::int64_t>(), 0);
  // The private key stays on the device, readable by its owner only.
  EXPECT_EQ(fs::status(fleet_->device_dir("cam-01") / "data/identity/device.key").permissions() &
                fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  assign("1.0.0", "cam-01 cam-02");
  for (const char* id : {"cam-01", "cam-02"}) {
    auto r = report_when(id, [](const Json& r) { return settled_on(r, "1.0.0"); });
    ASSERT_TRUE(settled_on(r["report"], "1.0.0")) << r.dump() << agent_log(id);
    EXPECT_EQ(r["report"]["model_version"], "m1");
    expect_complete(id, "1.0.0");
  }

  // A release whose runtime crashes: cam-01 tries it, rolls back on its own, and says why.
  publish("1.2.0", {.behaviour = "crash", .code = 3});
  assign("1.2.0", "cam-01");
  auto failed = report_when("cam-01", [](const Json& r) {
    return r.value("last_failure_reason", Json()).is_string() && settled_on(r, "1.0.0");
  });
  ASSERT_TRUE(failed["report"]["last_failure_reason"].is_string())
      << failed.dump() << agent_log("cam-01");
  EXPECT_NE(failed["report"]["last_failure_reason"].get<std::string>().find("1.2.0 rolled back"),
            std::string::npos);
  EXPECT_NE(failed["report"]["last_failure_reason"].get<std::string>().find("exit 3"),
            std::string::npos);
  expect_complete("cam-01", "1.0.0");

  // The inventory shows both devices with what they run.
  auto inventory = fleet_->cli("inventory export --format csv");
  ASSERT_EQ(inventory.exit_code, 0) << inventory.err;
  EXPECT_NE(inventory.out.find("cam-01"), std::string::npos);
  EXPECT_NE(inventory.out.find("1.0.0"), std::string::npos);
}

// A plant whose devices reach the control plane only through an HTTPS proxy: given HTTPS_PROXY,
// the agent enrols, checks in and downloads through CONNECT tunnels to the server and nowhere
// else, and the update completes as it would directly.
TEST_F(AgentFleet, GoesThroughTheHttpsProxyItIsGiven) {
  testing::ConnectProxy proxy;
  publish("1.0.0", {});
  fleet_->add_device("cam-p");
  start("cam-p", {{"HTTPS_PROXY", proxy.url()},
                  {"https_proxy", proxy.url()},
                  {"NO_PROXY", ""},
                  {"no_proxy", ""}});
  assign("1.0.0", "cam-p");
  auto r = report_when("cam-p", [](const Json& r) { return settled_on(r, "1.0.0"); });
  ASSERT_TRUE(settled_on(r["report"], "1.0.0")) << r.dump() << agent_log("cam-p");
  expect_complete("cam-p", "1.0.0");

  // The server's API is addressed as 127.0.0.1, its release repository as localhost.
  const std::string port = fleet_->url().substr(fleet_->url().rfind(':') + 1);
  const auto tunnels = proxy.tunnels();
  ASSERT_FALSE(tunnels.empty()) << agent_log("cam-p");
  for (const auto& t : tunnels)
    EXPECT_TRUE(t == "127.0.0.1:" + port || t == "localhost:" + port) << t;
}

TEST_F(AgentFleet, ADownloadInterruptedByAKillResumesAfterRestart) {
  publish("1.0.0", {});
  fleet_->add_device("cam-r");
  start("cam-r");
  assign("1.0.0", "cam-r");
  ASSERT_TRUE(settled_on(
      report_when("cam-r", [](const Json& r) { return settled_on(r, "1.0.0"); })["report"],
      "1.0.0"));
  testing::stop_process(agents_["cam-r"]);
  agents_.erase("cam-r");

  publish("2.0.0", {.code = 9});
  assign("2.0.0", "cam-r");
  start("cam-r", {{"EDGEFLEET_FAIL_POINT", "blob_partial"}});
  ASSERT_TRUE(wait_killed("cam-r", 90s)) << agent_log("cam-r");
  // Part of a blob is on disk; the device still runs 1.0.0.
  std::uint64_t partial = 0;
  for (const auto& e : fs::directory_iterator(fleet_->device_dir("cam-r") / "data/blobs")) {
    if (e.path().extension() == ".partial") partial += fs::file_size(e.path());
  }
  EXPECT_GT(partial, 0u);
  EXPECT_EQ(fs::read_symlink(fleet_->device_dir("cam-r") / "data/current"), "releases/1.0.0");
  start("cam-r");
  auto r = report_when("cam-r", [](const Json& r) { return settled_on(r, "2.0.0"); });
  ASSERT_TRUE(settled_on(r["report"], "2.0.0")) << r.dump() << agent_log("cam-r");
  expect_complete("cam-r", "2.0.0");
}

TEST_F(AgentFleet, ARevokedDeviceKeepsRunningButIsRefused) {
  publish("1.0.0", {});
  fleet_->add_device("cam-x");
  start("cam-x");
  assign("1.0.0", "cam-x");
  auto installed = report_when("cam-x", [](const Json& r) { return settled_on(r, "1.0.0"); });
  ASSERT_TRUE(settled_on(installed["report"], "1.0.0")) << installed.dump() << agent_log("cam-x");
  ASSERT_EQ(fleet_->cli("device revoke cam-x").exit_code, 0);
  for (int i = 0; i < 100 && agent_log("cam-x").find("refused this device") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(agent_log("cam-x").find("refused this device"), std::string::npos)
      << agent_log("cam-x");
  EXPECT_EQ(::waitpid(agents_["cam-x"], nullptr, WNOHANG), 0) << "the agent died";
  EXPECT_EQ(fs::read_symlink(fleet_->device_dir("cam-x") / "data/current"), "releases/1.0.0");
}

// A port on 127.0.0.1 that refuses connections for as long as this lives: bound, never listening,
// so no other process can take it meanwhile.
class DeadPort {
 public:
  DeadPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot reserve a port");
    }
    url_ = "https://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~DeadPort() { ::close(fd_); }
  const std::string& url() const { return url_; }

 private:
  int fd_ = -1;
  std::string url_;
};

// Two servers in the bootstrap, the first one dead: the agent starts there (fixed for the test
// with EDGEFLEET_FIRST_SERVER), says so, fails over to the live one within its first round,
// enrols, updates through it; after the live one restarts, a full round of failures later it is
// back and takes an assignment again.
TEST_F(AgentFleet, FailsOverFromADeadServerToALiveOne) {
  DeadPort dead;
  publish("1.0.0", {});
  const fs::path boot = fleet_->add_device("cam-f");
  std::ofstream(boot / "device.json") << Json{
      {"device_id", "cam-f"},
      {"server_urls", {dead.url(), fleet_->url()}},
      {"server_url", dead.url()}}.dump();
  const auto started = std::chrono::steady_clock::now();
  start("cam-f", {{"EDGEFLEET_FIRST_SERVER", "0"}});
  auto seen = report_when(
      "cam-f", [](const Json& r) { return r.contains("agent_version"); }, 30);
  ASSERT_TRUE(seen["report"].is_object()) << agent_log("cam-f");
  // Within the first round: one failure, then at most 1 s before the next server.
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 15s);
  std::cout << "first report through the second server after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  const std::string log = agent_log("cam-f");
  EXPECT_NE(log.find("server " + dead.url() + " (1 of 2)"), std::string::npos) << log;
  EXPECT_NE(log.find("server " + dead.url() + " unreachable; trying " + fleet_->url()),
            std::string::npos)
      << log;
  const auto identity = json::parse_strict(
      *read_file(fleet_->device_dir("cam-f") / "data/identity/identity.json", 4096));
  ASSERT_TRUE(identity);
  EXPECT_EQ((*identity)["server_urls"], (Json{dead.url(), fleet_->url()}));

  assign("1.0.0", "cam-f");
  auto r = report_when("cam-f", [](const Json& r) { return settled_on(r, "1.0.0"); });
  ASSERT_TRUE(settled_on(r["report"], "1.0.0")) << r.dump() << agent_log("cam-f");

  // The live server goes away and comes back on its port: the agent goes round both, backs off,
  // and checks in again (the new assignment reaches it).
  const std::string port = fleet_->url().substr(fleet_->url().rfind(':') + 1);
  fleet_->stop_server();
  std::this_thread::sleep_for(3s);
  fleet_->start_server({"--listen", "127.0.0.1:" + port});
  const auto restarted = std::chrono::steady_clock::now();
  publish("1.1.0", {});
  assign("1.1.0", "cam-f");
  r = report_when("cam-f", [](const Json& r) { return settled_on(r, "1.1.0"); });
  ASSERT_TRUE(settled_on(r["report"], "1.1.0")) << r.dump() << agent_log("cam-f");
  std::cout << "back on the restarted server and updated "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - restarted)
                   .count()
            << " ms after its restart\n";
  EXPECT_NE(
      agent_log("cam-f").find("server " + fleet_->url() + " unreachable; trying " + dead.url()),
      std::string::npos)
      << agent_log("cam-f");
}

// One address for the plant: Debian's HAProxy in TCP mode in front of the server (and of a dead
// replica its health checks take out), with the haproxy.cfg of docs/server.md. The device knows
// only HAProxy's address; its certificate still reaches the server (mutual TLS passes through),
// so it enrols, checks in and updates as if it were talking to the server directly.
TEST_F(AgentFleet, ChecksInAndUpdatesThroughHaproxyInTcpMode) {
  const std::string haproxy = "/usr/sbin/haproxy";
  ASSERT_TRUE(fs::exists(haproxy)) << "install Debian's haproxy (scripts/packages/test.txt)";
  DeadPort dead;
  const std::string server_port = fleet_->url().substr(fleet_->url().rfind(':') + 1);
  const std::string front = std::to_string(testing::free_local_port());
  const std::string front_url = "https://127.0.0.1:" + front;
  // The repository URLs devices get name the one address too.
  fleet_->stop_server();
  fleet_->start_server({"--listen", "127.0.0.1:" + server_port, "--public-url", front_url});
  const fs::path cfg = fleet_->dir() / "haproxy.cfg";
  std::ofstream(cfg) << "defaults\n"
                        "  mode tcp\n"
                        "  timeout connect 5s\n"
                        "  timeout client 20m\n"
                        "  timeout server 20m\n"
                        "  retries 2\n"
                        "  option redispatch\n"
                        "frontend edgefleet\n"
                        "  bind 127.0.0.1:"
                     << front
                     << "\n"
                        "  default_backend replicas\n"
                        "backend replicas\n"
                        "  balance leastconn\n"
                        "  option httpchk GET /healthz\n"
                        "  http-check expect status 200\n"
                        "  default-server check check-ssl verify required ca-file "
                     << fleet_->ca_file()
                     << " inter 1s fall 2 rise 2\n"
                        "  server replica-1 127.0.0.1:"
                     << server_port << "\n  server replica-2 127.0.0.1:"
                     << dead.url().substr(dead.url().rfind(':') + 1) << "\n";
  auto checked = testing::run_command(haproxy + " -c -f " + cfg.string());
  ASSERT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  const pid_t proxy =
      testing::spawn({{haproxy, "-db", "-f", cfg.string()}, {}, fleet_->dir() / "haproxy.log"});
  struct Stop {
    pid_t pid;
    ~Stop() { testing::stop_process(pid); }
  } stop_proxy{proxy};

  publish("1.0.0", {});
  const fs::path boot = fleet_->add_device("cam-h");
  std::ofstream(boot / "device.json")
      << Json{{"device_id", "cam-h"}, {"server_urls", {front_url}}}.dump();
  start("cam-h");
  assign("1.0.0", "cam-h");
  auto r = report_when("cam-h", [](const Json& r) { return settled_on(r, "1.0.0"); });
  ASSERT_TRUE(settled_on(r["report"], "1.0.0"))
      << r.dump() << agent_log("cam-h") << *read_file(fleet_->dir() / "haproxy.log", 1 << 20);
  expect_complete("cam-h", "1.0.0");
  // The health checks (GET /healthz over TLS, verified against the fleet CA) took the dead
  // replica out and kept the live one.
  std::string proxy_log;
  for (int i = 0; i < 100 && proxy_log.find("replica-2 is DOWN") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    proxy_log = *read_file(fleet_->dir() / "haproxy.log", 1 << 20);
  }
  EXPECT_NE(proxy_log.find("replica-2 is DOWN"), std::string::npos) << proxy_log;
  EXPECT_EQ(proxy_log.find("replica-1 is DOWN"), std::string::npos) << proxy_log;
}

TEST_F(AgentFleet, ADamagedBootstrapStopsTheAgentWithTheReason) {
  const fs::path boot = fleet_->add_device("cam-d");
  std::ofstream(boot / "device.json") << R"({"device_id": "cam-d", "server_u)";
  start("cam-d");
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(agents_["cam-d"], &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(50ms);
  agents_.erase("cam-d");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  EXPECT_NE(agent_log("cam-d").find("bootstrap file device.json"), std::string::npos)
      << agent_log("cam-d");
  EXPECT_FALSE(fs::exists(fleet_->device_dir("cam-d") / "data/identity/device.crt"));
}

TEST_F(AgentFleet, AUsedEnrollmentTokenIsRefusedAndNothingChanges) {
  const fs::path boot = fleet_->add_device("cam-t");
  start("cam-t");
  ASSERT_TRUE(report_when(
                  "cam-t", [](const Json& r) { return r.contains("agent_version"); }, 60)
                  .contains("report"));
  testing::stop_process(agents_["cam-t"]);
  agents_.erase("cam-t");
  // A second device presents the same (now used) token.
  fleet_->add_device("cam-u");
  fs::copy_file(boot / "enrollment-token",
                fleet_->device_dir("cam-u") / "bootstrap/enrollment-token",
                fs::copy_options::overwrite_existing);
  start("cam-u");
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(agents_["cam-u"], &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(50ms);
  agents_.erase("cam-u");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << agent_log("cam-u");
  EXPECT_NE(agent_log("cam-u").find("enrollment refused"), std::string::npos) << agent_log("cam-u");
  EXPECT_FALSE(fs::exists(fleet_->device_dir("cam-u") / "data/identity/device.crt"));
}

// SIGKILL at every journaled step of an update, through the real agent and server: after each
// restart the device must run a complete, verified release and the server must hear exactly that.
TEST_F(AgentFleet, KilledAtEveryJournaledStepTheDeviceRecoversAndReportsTheTruth) {
  struct Step {
    const char* fail_point;
    const char* kind;  // full | swap | crash
  };
  const std::vector<Step> steps = {
      {"update_started", "full"},
      {"release_verified", "full"},
      {"download_journaled", "full"},
      {"blob_partial", "full"},
      {"blob_downloaded", "full"},
      {"blob_downloaded:2", "full"},
      {"downloads_complete", "full"},
      {"staging_journaled", "full"},
      {"staged", "full"},
      {"switch_journaled", "full"},
      {"current_switched", "full"},
      {"trial_journaled", "full"},
      {"runtime_started", "full"},
      {"health_passed", "full"},
      {"commit_journaled", "full"},
      {"committed", "full"},
      {"cleaned", "full"},
      {"swap_requested", "swap"},
      {"health_passed", "swap"},
      {"trial_journaled", "crash"},
      {"rollback_journaled", "crash"},
      {"rollback_switched", "crash"},
      {"rollback_runtime_started", "crash"},
      {"rollback_done", "crash"},
  };
  publish("1.0.0", {});
  fleet_->add_device("cam-k");
  start("cam-k");
  assign("1.0.0", "cam-k");
  ASSERT_TRUE(settled_on(
      report_when("cam-k", [](const Json& r) { return settled_on(r, "1.0.0"); })["report"],
      "1.0.0"))
      << agent_log("cam-k");
  testing::stop_process(agents_["cam-k"]);
  agents_.erase("cam-k");

  std::string installed = "1.0.0";
  std::string model = "m1";
  int code_now = 1;
  int n = 0;
  for (const auto& step : steps) {
    SCOPED_TRACE(std::string(step.kind) + " " + step.fail_point);
    ++n;
    const std::string version = "2." + std::to_string(n) + ".0";
    Variant v{.model_version = model, .code = 100 + n};
    // A model-only release keeps the code (and config) of what runs now.
    if (std::string(step.kind) == "swap")
      v = {.model_version = "m" + std::to_string(n + 1), .code = code_now};
    if (std::string(step.kind) == "crash")
      v = {.behaviour = "crash", .model_version = model, .code = 100 + n};
    publish(version, v);
    assign(version, "cam-k");
    start("cam-k", {{"EDGEFLEET_FAIL_POINT", step.fail_point}});
    ASSERT_TRUE(wait_killed("cam-k", 120s)) << "never reached " << step.fail_point << "\n"
                                            << agent_log("cam-k");
    start("cam-k");
    const bool crash = std::string(step.kind) == "crash";
    const std::string expected = crash ? installed : version;
    auto r = report_when("cam-k", [&](const Json& r) {
      return settled_on(r, expected) &&
             (!crash || r.value("last_failure_reason", Json()).is_string());
    });
    ASSERT_TRUE(settled_on(r["report"], expected)) << r.dump() << agent_log("cam-k");
    expect_complete("cam-k", expected);
    if (crash) {
      EXPECT_NE(r["report"]["last_failure_reason"].get<std::string>().find(version),
                std::string::npos)
          << r.dump();
    } else {
      installed = version;
      model = v.model_version;
      code_now = v.code;
      EXPECT_EQ(r["report"]["model_version"], model);
    }
    testing::stop_process(agents_["cam-k"]);
    agents_.erase("cam-k");
  }
}

}  // namespace
}  // namespace ef

namespace ef {
namespace {

// A device whose clock is ten years behind cannot validate the server's certificate: it changes
// nothing, keeps running what it runs, and says why in its log; with the clock right it updates.
TEST_F(AgentFleet, AClockFarOffChangesNothingUntilItIsRight) {
  if (testing::run_command("command -v faketime").exit_code != 0)
    GTEST_SKIP() << "faketime is not installed";
  publish("1.0.0", {});
  fleet_->add_device("cam-c");
  start("cam-c");
  assign("1.0.0", "cam-c");
  ASSERT_TRUE(settled_on(
      report_when("cam-c", [](const Json& r) { return settled_on(r, "1.0.0"); })["report"],
      "1.0.0"));
  testing::stop_process(agents_["cam-c"]);
  agents_.erase("cam-c");

  publish("2.0.0", {.code = 2});
  assign("2.0.0", "cam-c");
  agents_["cam-c"] = fleet_->start_agent(
      "cam-c", {{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"},
                {"FAKETIME", "-3650d"},
                {"FAKETIME_DONT_RESET", "1"}});
  for (int i = 0; i < 150 && agent_log("cam-c").find("check-in failed") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(agent_log("cam-c").find("check-in failed"), std::string::npos) << agent_log("cam-c");
  EXPECT_NE(agent_log("cam-c").find("certificate"), std::string::npos) << agent_log("cam-c");
  EXPECT_EQ(fs::read_symlink(fleet_->device_dir("cam-c") / "data/current"), "releases/1.0.0");
  EXPECT_FALSE(fs::exists(fleet_->device_dir("cam-c") / "data/releases/2.0.0"));
  testing::stop_process(agents_["cam-c"]);
  agents_.erase("cam-c");

  start("cam-c");
  auto r = report_when("cam-c", [](const Json& r) { return settled_on(r, "2.0.0"); });
  EXPECT_TRUE(settled_on(r["report"], "2.0.0")) << r.dump() << agent_log("cam-c");
}

}  // namespace
}  // namespace ef

// Real processes on 127.0.0.1: edgefleet-server, the edgefleet CLI, and edgefleet-agent daemons,
// each with its own bootstrap and data folder standing in for a device, supervising the
// stand-in runtime. Enrolment, updates, rollback reported to the server, a download resumed
// after the agent was killed, revocation, a damaged bootstrap, and SIGKILL of the agent at every
// journaled step of an update with the server told the truth afterwards.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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
    auto built = testing::run_command(
        std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet release build " + src.string() +
        " --version " + version + " --keys " + fleet_->keys().string() + " --repo " +
        fleet_->repo().string());
    ASSERT_EQ(built.exit_code, 0) << built.err;
    auto published = fleet_->cli("release publish --repo " + fleet_->repo().string());
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

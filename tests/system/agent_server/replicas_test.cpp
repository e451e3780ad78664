// Two edgefleet-server replicas on one PostgreSQL database and one data folder, and a dozen real
// edgefleet-agent daemons that know both (bootstrap server_urls), half of them starting on each.
// Assignments made through either replica update every device; then one replica is SIGKILLed and
// a new release assigned through the other reaches every device, each updated exactly once.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "fake_release.hpp"
#include "fleet_processes.hpp"
#include "postgres_cluster.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using json::Json;
using namespace std::chrono_literals;

constexpr int kDevices = 12;

std::string device_id(int i) {
  return "cam-" + std::to_string(10 + i);
}

class AgentReplicas : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::PostgresCluster::shared();
    ASSERT_TRUE(cluster) << cluster.error().message;
    auto database = (*cluster)->create_database();
    ASSERT_TRUE(database) << database.error().message;
    database_ = (*cluster)->url(*database);
    fleet_ = std::make_unique<testing::Fleet>(fs::temp_directory_path() /
                                              ("ef-ar-" + std::to_string(::getpid())));
    // One public URL for both (docs/server.md, Replicas); agents move repository URLs onto the
    // server they talk to, so downloads follow a fail-over.
    const std::string port = std::to_string(testing::free_local_port());
    public_url_ = "https://127.0.0.1:" + port;
    fleet_->start_server(
        {"--database", database_, "--listen", "127.0.0.1:" + port, "--public-url", public_url_});
    second_ = fleet_->start_replica("replica-2",
                                    {"--database", database_, "--listen", "127.0.0.1:0",
                                     "--public-url", public_url_, "--max-wait", "30"},
                                    &second_url_);
  }
  void TearDown() override {
    for (auto& [id, pid] : agents_)
      testing::stop_process(pid);
    testing::stop_process(second_);
    fleet_.reset();
  }

  void publish(const std::string& version) {
    const fs::path src = fleet_->dir() / ("src-" + version);
    testing::write_fake_release(src, {});
    auto published = fleet_->publish(src, version);
    ASSERT_EQ(published.exit_code, 0) << published.err << published.out;
  }

  // Registers device i through one replica or the other and starts its agent on replica i % 2.
  void start_device(int i) {
    const std::string id = device_id(i);
    const fs::path boot = fleet_->add_device(id, "--site plant-r");
    std::ofstream(boot / "device.json")
        << Json{{"device_id", id}, {"server_urls", {fleet_->url(), second_url_}}}.dump();
    agents_[id] = fleet_->start_agent(id, {{"EDGEFLEET_FIRST_SERVER", std::to_string(i % 2)}});
  }

  bool settled_on(const std::string& id, const std::string& version, std::chrono::seconds wait) {
    auto shown = fleet_->wait_for_device(
        id,
        [&](const Json& d) {
          const auto& r = d.value("report", Json());
          return r.is_object() && r.value("installed_release", Json()) == version &&
                 r.value("trial_release", Json()).is_null() && r.value("update", Json()).is_null();
        },
        wait);
    return shown.value("report", Json()).is_object() &&
           shown["report"].value("installed_release", Json()) == version;
  }

  std::string agent_log(const std::string& id) {
    auto t = read_file(fleet_->device_dir(id) / "agent.log", 1 << 22);
    return t ? *t : "";
  }
  // How many times the agent committed this release (each a download, install and swap).
  int commits(const std::string& id, const std::string& version) {
    const std::string log = agent_log(id), line = "release " + version + " committed";
    int n = 0;
    for (auto at = log.find(line); at != std::string::npos; at = log.find(line, at + 1))
      ++n;
    return n;
  }
  std::string replica_log(const std::string& name) {
    auto t = read_file(fleet_->dir() / (name + ".log"), 1 << 22);
    return t ? *t : "";
  }

  std::string database_, public_url_, second_url_;
  std::unique_ptr<testing::Fleet> fleet_;
  pid_t second_ = -1;
  std::map<std::string, pid_t> agents_;
};

TEST_F(AgentReplicas, UpdatesThroughEitherReplicaAndSurvivesKillingOne) {
  publish("1.0.0");
  for (int i = 0; i < kDevices; ++i)
    start_device(i);
  // Half assigned through each replica.
  std::string first_half, second_half;
  for (int i = 0; i < kDevices; ++i)
    (i < kDevices / 2 ? first_half : second_half) += " " + device_id(i);
  ASSERT_EQ(fleet_->cli("assign 1.0.0" + first_half).exit_code, 0);
  auto via_second = fleet_->cli_at(second_url_, "assign 1.0.0" + second_half);
  ASSERT_EQ(via_second.exit_code, 0) << via_second.err;
  for (int i = 0; i < kDevices; ++i) {
    const auto id = device_id(i);
    ASSERT_TRUE(settled_on(id, "1.0.0", 120s)) << id << "\n" << agent_log(id);
  }
  // Both replicas served devices: every agent that started on the second one checked in there.
  EXPECT_NE(agent_log(device_id(1)).find(second_url_), std::string::npos)
      << agent_log(device_id(1));

  testing::stop_process(second_, SIGKILL);
  second_ = -1;
  const auto killed = std::chrono::steady_clock::now();
  publish("1.1.0");
  ASSERT_EQ(fleet_->cli("assign 1.1.0 --site plant-r").exit_code, 0);
  for (int i = 0; i < kDevices; ++i) {
    const auto id = device_id(i);
    ASSERT_TRUE(settled_on(id, "1.1.0", 180s)) << id << "\n"
                                               << agent_log(id) << "\n"
                                               << fleet_->server_log();
  }
  std::cout << "every device on 1.1.0 through the surviving replica "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed)
                   .count()
            << " ms after the other was killed\n";
  for (int i = 0; i < kDevices; ++i) {
    const auto id = device_id(i);
    EXPECT_EQ(commits(id, "1.0.0"), 1) << id << "\n" << agent_log(id);
    EXPECT_EQ(commits(id, "1.1.0"), 1) << id << "\n" << agent_log(id);
  }
  // The devices that lost their replica went over to the other one.
  const std::string moved = agent_log(device_id(1));
  EXPECT_NE(moved.find("server " + second_url_ + " unreachable; trying " + fleet_->url()),
            std::string::npos)
      << moved;
  // One audit log: the three assignments, through both replicas, are in it.
  const auto audit = fleet_->api_get("/api/v1/audit?limit=1000");
  int assignments = 0;
  for (const auto& entry : audit.value("entries", Json::array()))
    assignments += entry.value("action", "") == "release.assign";
  EXPECT_EQ(assignments, 3) << audit.dump();
}

}  // namespace
}  // namespace ef

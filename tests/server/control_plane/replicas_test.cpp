// Two replicas (two control planes, one PostgreSQL database, one shared data folder) serving one
// fleet: an assignment made on either wakes long-polls parked on the other (LISTEN/NOTIFY), and a
// device served by either sees the same desired state.
#include <cstdlib>
#include <future>

#include "fleet_fixture.hpp"
#include "server/store/open/open_store.hpp"

namespace ef::test {
namespace {

using namespace std::chrono_literals;

class ReplicasTest : public FleetFixture {
 protected:
  ReplicasTest() { ::setenv("EF_TEST_DATABASE", "postgresql", 1); }

  // Replicas share one public URL (the repository URLs in desired state): a device that moves to
  // the other replica sees the same desired state, not a change.
  void configure(control_plane::Config& config) override {
    config.threads = 2;
    config.public_url = "https://fleet.plant.example:8443";
  }

  // The second replica: the same database and data folder, its own port and threads.
  void start_second() {
    second_context_ = std::make_unique<boost::asio::io_context>(1);
    auto plane = control_plane::ControlPlane::start(*second_context_, config_);
    ASSERT_TRUE(plane) << plane.error().message;
    second_ = std::move(*plane);
    second_base_ = "https://127.0.0.1:" + std::to_string(second_->port());
    second_thread_ = std::thread([this] { second_context_->run(); });
  }

  void TearDown() override {
    if (second_) {
      boost::asio::post(*second_context_, [this] { second_->stop(); });
      second_thread_.join();
      second_.reset();
    }
    FleetFixture::TearDown();
  }

  // A check-in on the given replica.
  ApiResponse checkin_on(const std::string& base, const std::string& id,
                         const http_client::TlsOptions& tls, const std::string& etag = "",
                         int wait = 0) {
    auto path =
        "/api/v1/devices/" + id + "/checkin" + (wait > 0 ? "?wait=" + std::to_string(wait) : "");
    std::vector<std::pair<std::string, std::string>> headers;
    if (!etag.empty()) headers.emplace_back("If-None-Match", etag);
    return call_at(base, "POST", path, json::Json::object(), "", &tls, headers);
  }

  void add_release(const std::string& version) {
    auto store = store::open_store(config_.database, config_.data_dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->add_release({version, 1, 0, 10, 1, utc_now(), "test"}));
  }

  std::unique_ptr<boost::asio::io_context> second_context_;
  std::unique_ptr<control_plane::ControlPlane> second_;
  std::thread second_thread_;
  std::string second_base_;
};

TEST_F(ReplicasTest, AnAssignmentOnOneReplicaWakesLongPollsOnTheOther) {
  start_second();
  ASSERT_FALSE(second_->initial_admin_token()) << "the second replica made another admin";
  std::vector<http_client::TlsOptions> devices;
  for (int i = 0; i < 6; ++i)
    devices.push_back(enrolled_device("cam-" + std::to_string(i), {{"site", "r"}}));
  add_release("1.0.0");
  add_release("2.0.0");
  for (const std::string& via : {base_, second_base_}) {
    const std::string release = via == base_ ? "2.0.0" : "1.0.0";
    // Half the devices park on each replica; the assignment goes through the other one.
    std::vector<std::future<ApiResponse>> polls;
    for (int i = 0; i < 6; ++i) {
      const std::string id = "cam-" + std::to_string(i);
      const std::string parked_on = i % 2 == 0 ? base_ : second_base_;
      const auto first = checkin_on(parked_on, id, devices[i]);
      ASSERT_EQ(first.status, 200) << first.raw;
      polls.push_back(
          std::async(std::launch::async, [&, id, parked_on, i, etag = first.headers.at("etag")] {
            return checkin_on(parked_on, id, devices[i], etag, 30);
          }));
    }
    std::this_thread::sleep_for(500ms);
    const auto start = std::chrono::steady_clock::now();
    auto assigned =
        call_at(via, "POST", "/api/v1/assignments", {{"release", release}, {"site", "r"}}, admin_);
    ASSERT_EQ(assigned.status, 200) << assigned.raw;
    for (auto& p : polls) {
      auto r = p.get();
      EXPECT_EQ(r.status, 200) << r.raw;
      EXPECT_EQ(r.body["release"]["version"], release);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  }
}

TEST_F(ReplicasTest, BothReplicasServeTheSameStateAndAudit) {
  start_second();
  auto device = enrolled_device("cam-1");
  add_release("3.0.0");
  ASSERT_EQ(call_at(second_base_, "POST", "/api/v1/assignments",
                    {{"release", "3.0.0"}, {"devices", {"cam-1"}}}, admin_)
                .status,
            200);
  const auto a = checkin_on(base_, "cam-1", device);
  const auto b = checkin_on(second_base_, "cam-1", device);
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(a.headers.at("etag"), b.headers.at("etag"));
  EXPECT_EQ(a.body["release"]["version"], "3.0.0");
  const auto audit = call("GET", "/api/v1/audit?limit=1000", nullptr, admin_);
  bool seen = false;
  for (const auto& e : audit.body["entries"])
    seen = seen || e.value("action", "") == "release.assign";
  EXPECT_TRUE(seen) << audit.raw;
}

// Every connection to the database is cut (a database restart, a failover): requests fail with
// 503 and Retry-After, nothing half-written, and the server reconnects by itself.
TEST_F(ReplicasTest, ALostDatabaseConnectionFailsCleanlyAndTheServerReconnects) {
  auto device = enrolled_device("cam-1");
  const std::string path = "/api/v1/devices/cam-1/checkin";
  ASSERT_EQ(call("POST", path, {{"agent_version", "a"}}, "", &device).status, 200);
  auto cluster = ef::testing::PostgresCluster::shared();
  ASSERT_TRUE(cluster);
  // postgresql://[authority]/NAME?host=/socket/folder
  const auto after_scheme = config_.database.substr(config_.database.find("://") + 3);
  const auto name_and_query = after_scheme.substr(after_scheme.find('/') + 1);
  const auto database = name_and_query.substr(0, name_and_query.find('?'));
  auto killed = (*cluster)->execute(
      "postgres",
      "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE "
      "datname = '" +
          database + "' AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed) << killed.error().message;
  EXPECT_GE(std::stoi(*killed), 3) << "thread connections, the writer and the listener";
  int unavailable = 0, attempts = 0;
  ApiResponse r;
  do {
    r = call("POST", path, {{"agent_version", "b"}}, "", &device);
    if (r.status == 503) {
      ++unavailable;
      EXPECT_EQ(r.headers["retry-after"], "5");
      EXPECT_EQ(r.body["error"]["code"], "network") << r.raw;
    }
  } while (r.status != 200 && ++attempts < 20);
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_GE(unavailable, 1);
  auto store = store::open_store(config_.database, config_.data_dir);
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->device("cam-1")->report["agent_version"], "b");
  // Operator calls run on the main thread's own connection: its first use after the cut fails
  // (503), the next reconnects.
  auto listed = call("GET", "/api/v1/devices", nullptr, admin_);
  if (listed.status == 503) listed = call("GET", "/api/v1/devices", nullptr, admin_);
  EXPECT_EQ(listed.status, 200) << listed.raw;
}

}  // namespace
}  // namespace ef::test

// The control plane serving on two threads (config.threads = 2), over real TLS on 127.0.0.1:
// check-ins run on both, other routes on the main thread, long-polls on either wake on an
// assignment, changed reports are all durable (group commit), and the port is not shared by
// accident with another server.
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>

#include "fleet_fixture.hpp"
#include "server/store/open/open_store.hpp"

namespace ef::test {
namespace {

using namespace std::chrono_literals;

class ThreadedPlaneTest : public FleetFixture {
 protected:
  void configure(control_plane::Config& config) override { config.threads = 2; }

  void add_release(const std::string& version) {
    auto store = store::open_store(config_.database, config_.data_dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->add_release({version, 1, 0, 10, 1, utc_now(), "test"}));
  }

  std::vector<http_client::TlsOptions> enrolled(int n, const std::string& prefix) {
    std::vector<http_client::TlsOptions> out;
    for (int i = 0; i < n; ++i)
      out.push_back(enrolled_device(prefix + std::to_string(i), {{"site", "t"}}));
    return out;
  }
};

TEST_F(ThreadedPlaneTest, ConcurrentChangedReportsAreAllAnsweredAndDurable) {
  constexpr int kDevices = 12, kRounds = 15;
  auto devices = enrolled(kDevices, "cam-");
  std::vector<std::future<int>> clients;
  for (int d = 0; d < kDevices; ++d) {
    clients.push_back(std::async(std::launch::async, [&, d] {
      int ok = 0;
      for (int i = 0; i < kRounds; ++i) {
        auto r = call("POST", "/api/v1/devices/cam-" + std::to_string(d) + "/checkin",
                      {{"runtime", {{"frames_processed", i}}}}, "", &devices[d]);
        ok += r.status == 200 ? 1 : 0;
      }
      return ok;
    }));
  }
  for (auto& c : clients)
    EXPECT_EQ(c.get(), kRounds);
  auto store = store::open_store(config_.database, config_.data_dir);
  ASSERT_TRUE(store);
  for (int d = 0; d < kDevices; ++d) {
    auto device = (*store)->device("cam-" + std::to_string(d));
    ASSERT_TRUE(device);
    EXPECT_EQ(device->report["runtime"]["frames_processed"], kRounds - 1);
  }
  const auto metrics = call("GET", "/metrics").raw;
  EXPECT_NE(metrics.find("edgefleet_server_report_writes " + std::to_string(kDevices * kRounds)),
            std::string::npos)
      << metrics;
}

// Check-ins keep being answered while the main thread is busy: they run on the other thread too.
// Twelve connections land on the main thread's listener alone with odds of 1 in 4,096.
TEST_F(ThreadedPlaneTest, CheckInsAreAnsweredWhileTheMainThreadIsBusy) {
  auto devices = enrolled(12, "cam-");
  std::promise<void> busy;
  boost::asio::post(*context_, [&] {
    busy.set_value();
    std::this_thread::sleep_for(3s);
  });
  busy.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<std::chrono::steady_clock::duration>> clients;
  for (int d = 0; d < 12; ++d) {
    clients.push_back(std::async(std::launch::async, [&, d] {
      auto r = call("POST", "/api/v1/devices/cam-" + std::to_string(d) + "/checkin",
                    json::Json::object(), "", &devices[d]);
      EXPECT_EQ(r.status, 200) << r.raw;
      return std::chrono::steady_clock::now() - start;
    }));
  }
  int during_block = 0;
  for (auto& c : clients)
    during_block += c.get() < 2s ? 1 : 0;
  EXPECT_GT(during_block, 0) << "no check-in was answered while the main thread was busy";
  EXPECT_LT(during_block, 12) << "check-ins on the main thread's connections should have waited";
}

TEST_F(ThreadedPlaneTest, LongPollsOnEveryThreadWakeOnAnAssignment) {
  constexpr int kDevices = 10;
  auto devices = enrolled(kDevices, "cam-");
  add_release("2.0.0");
  std::vector<std::future<ApiResponse>> polls;
  for (int d = 0; d < kDevices; ++d) {
    const std::string path = "/api/v1/devices/cam-" + std::to_string(d) + "/checkin";
    const auto first = call("POST", path, json::Json::object(), "", &devices[d]);
    const auto etag = first.headers.at("etag");
    polls.push_back(std::async(std::launch::async, [&, path, etag, d] {
      return call("POST", path + "?wait=30", json::Json::object(), "", &devices[d],
                  {{"If-None-Match", etag}});
    }));
  }
  std::this_thread::sleep_for(500ms);
  const auto start = std::chrono::steady_clock::now();
  auto assigned =
      call("POST", "/api/v1/assignments", {{"release", "2.0.0"}, {"site", "t"}}, admin_);
  ASSERT_EQ(assigned.status, 200) << assigned.raw;
  for (auto& p : polls) {
    auto r = p.get();
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["release"]["version"], "2.0.0");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// Operator routes arrive on any thread's connection and run on the main thread.
TEST_F(ThreadedPlaneTest, OperatorRoutesWorkWhicheverThreadAccepts) {
  for (int i = 0; i < 16; ++i) {
    auto added = call("POST", "/api/v1/devices", {{"id", "new-" + std::to_string(i)}}, admin_);
    EXPECT_EQ(added.status, 201) << added.raw;
    auto listed = call("GET", "/api/v1/devices", nullptr, admin_);
    EXPECT_EQ(listed.status, 200);
    EXPECT_EQ(listed.body["devices"].size(), static_cast<std::size_t>(i + 1));
  }
  EXPECT_EQ(call("GET", "/api/v1/devices", nullptr, "not-a-token").status, 401);
}

// SO_REUSEPORT would let a second server join the port unnoticed; it is refused instead.
TEST_F(ThreadedPlaneTest, ASecondServerOnTheSamePortIsRefused) {
  auto config = config_;
  config.data_dir = dir_ / "other";
  config.database.clear();
  config.listen_port = plane_->port();
  boost::asio::io_context other;
  auto second = control_plane::ControlPlane::start(other, config);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::network) << second.error().message;
  EXPECT_NE(second.error().message.find(std::to_string(plane_->port())), std::string::npos)
      << second.error().message;
}

}  // namespace
}  // namespace ef::test

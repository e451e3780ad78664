// The relay against a stand-in Prometheus that answers what we tell it: retries on 5xx and 429,
// a 400 is final, too-old samples are never sent, and the queue survives a restart.
#include "server/prometheus_relay/relay.hpp"
#include "server/prometheus_relay/remote_write_client.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <thread>

#include "core/telemetry/remote_write.hpp"
#include "temp_dir_test.hpp"
#include "test_http_server.hpp"

namespace ef::prometheus_relay {
namespace {

using namespace std::chrono_literals;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

telemetry::Series series(const std::string& device, std::vector<std::int64_t> times) {
  telemetry::Series s{"edgefleet_device_uptime_seconds", {{"device", device}}, {}};
  for (auto t : times)
    s.points.push_back({t, double(t % 1000)});
  return s;
}

class RelayTest : public ef::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    prometheus_.route("/api/v1/write", [this](const ef::testing::Request& r) {
      std::lock_guard lock(mutex_);
      headers_ = r.headers;
      ef::testing::Reply reply;
      reply.status = statuses_.empty() ? 204 : statuses_.front();
      if (!statuses_.empty()) statuses_.pop_front();
      if (reply.status == 204) {
        auto decoded = telemetry::decode_write_request(r.body);
        if (decoded) received_.insert(received_.end(), decoded->begin(), decoded->end());
      }
      ++requests_;
      return reply;
    });
  }

  std::unique_ptr<Relay> start() {
    Options o;
    o.queue_dir = dir_ / "queue";
    o.remote_write_url = prometheus_.url("/api/v1/write");
    o.out_of_order_window = 2h;
    o.safety_margin = 10min;
    o.seal_interval = 20ms;
    o.min_backoff = 10ms;
    o.max_backoff = 50ms;
    auto relay = Relay::start(o, registry_);
    EXPECT_TRUE(relay) << relay.error().message;
    return relay ? std::move(*relay) : nullptr;
  }

  // Waits until pred holds (the relay works on its own thread).
  template <typename Pred>
  bool eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (pred()) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::size_t received_points() {
    std::size_t n = 0;
    for (const auto& s : received_)
      n += s.points.size();
    return n;
  }

  ef::testing::TestHttpServer prometheus_;
  metrics::Registry registry_;
  std::mutex mutex_;
  std::deque<int> statuses_;
  std::vector<telemetry::Series> received_;
  std::map<std::string, std::string> headers_;
  int requests_ = 0;
};

TEST_F(RelayTest, SendsRemoteWriteWithOriginalTimestamps) {
  auto relay = start();
  const auto t = now_ms() - 3'600'000;  // an hour old: inside the window
  ASSERT_TRUE(relay->enqueue({series("cam-01", {t, t + 15'000})}));
  ASSERT_TRUE(eventually([&] { return received_points() == 2; }));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(received_[0].points[0].timestamp_ms, t);
  EXPECT_EQ(headers_["content-encoding"], "snappy");
  EXPECT_EQ(headers_["x-prometheus-remote-write-version"], "0.1.0");
}

TEST_F(RelayTest, RetriesServerErrorsAnd429ButDropsA400) {
  {
    std::lock_guard lock(mutex_);
    statuses_ = {500, 429, 503, 204, 400};
  }
  auto relay = start();
  const auto t = now_ms();
  ASSERT_TRUE(relay->enqueue({series("cam-01", {t})}));
  ASSERT_TRUE(eventually([&] { return requests_ >= 4; }));
  ASSERT_TRUE(eventually([&] { return received_points() == 1; }));
  ASSERT_TRUE(relay->enqueue({series("cam-02", {t})}));  // answered 400
  ASSERT_TRUE(eventually([&] { return requests_ >= 5; }));
  relay->stop();
  const auto text = registry_.expose();
  EXPECT_NE(text.find("{outcome=\"relayed\",reason=\"\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("{outcome=\"dropped\",reason=\"rejected\"} 1"), std::string::npos) << text;
}

TEST_F(RelayTest, SamplesOlderThanTheWindowAreDroppedNotRetriedForever) {
  auto relay = start();
  const auto now = now_ms();
  ASSERT_TRUE(relay->enqueue({series("cam-01", {now - 3 * 3'600'000, now - 1000})}));
  ASSERT_TRUE(eventually([&] { return received_points() == 1; }));
  relay->stop();
  EXPECT_NE(registry_.expose().find("{outcome=\"dropped\",reason=\"older_than_window\"} 1"),
            std::string::npos);
}

TEST_F(RelayTest, WhatPrometheusDidNotTakeIsSentAfterARestart) {
  {
    std::lock_guard lock(mutex_);
    statuses_.assign(100000, 503);  // down
  }
  auto relay = start();
  const auto t = now_ms();
  ASSERT_TRUE(relay->enqueue({series("cam-01", {t, t + 1})}));
  ASSERT_TRUE(eventually([&] { return requests_ >= 2; }));
  relay->stop();
  relay.reset();
  {
    std::lock_guard lock(mutex_);
    statuses_.clear();  // back up
  }
  auto again = start();
  ASSERT_TRUE(eventually([&] { return received_points() == 2; }));
}

TEST_F(RelayTest, AFullQueueRefusesInsteadOfDropping) {
  {
    std::lock_guard lock(mutex_);
    statuses_.assign(100000, 503);
  }
  Options o;
  o.queue_dir = dir_ / "queue";
  o.remote_write_url = prometheus_.url("/api/v1/write");
  o.max_queue_bytes = 4096;
  auto relay = Relay::start(o, registry_);
  ASSERT_TRUE(relay);
  std::vector<std::int64_t> times;
  for (int i = 0; i < 400; ++i)
    times.push_back(now_ms() - 400 + i);
  Status last;
  for (int i = 0; i < 50 && last; ++i)
    last = (*relay)->enqueue({series("cam-" + std::to_string(i), times)});
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, Errc::no_space);
}

TEST(RelayUrl, OnlyPlainHttpWithAHostAndPort) {
  EXPECT_TRUE(parse_http_url("http://127.0.0.1:9090/api/v1/write"));
  EXPECT_EQ(parse_http_url("http://prom/api/v1/write")->port, "80");
  for (const char* bad : {"https://prom:9090/w", "prom:9090", "http://:9090/w", "http://h:0/w",
                          "http://h:99999/w", "http://h:90x/w", ""}) {
    EXPECT_FALSE(parse_http_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace ef::prometheus_relay

// The telemetry endpoint: what a device may send, what it is answered, what reaches the relay.
#include "server/telemetry_ingest/ingest.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"
#include "core/telemetry/batch_codec.hpp"

namespace ef::telemetry_ingest {
namespace {

using http::Verb;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(utc_now().time_since_epoch())
      .count();
}

class IngestTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    add_device("cam-01", "plant-a", "line-3");
    ASSERT_TRUE(
        store_->record_running("cam-01", {"1.0", "ae-1", utc_now() - std::chrono::hours(1)}));
  }

  void routes(bool configured = true) {
    Sink sink;
    if (configured) {
      sink = [this](const std::vector<telemetry::Series>& s) -> Status {
        if (full_) return make_error(Errc::no_space, "queue full");
        relayed_.insert(relayed_.end(), s.begin(), s.end());
        return {};
      };
    }
    ASSERT_TRUE(add_routes(router_,
                           {*store_, registry_, std::move(sink), {}, [this](const std::string& id) {
                              heard_.push_back(id);
                            }}));
  }

  http::Response post(const std::string& body, const std::string& cn = "cam-01",
                      std::string content_type = std::string(telemetry::kBatchContentType)) {
    auto r = test::make_request(Verb::post, "/api/v1/devices/cam-01/telemetry", body);
    r.headers.set("Content-Type", content_type);
    auto peer = std::make_shared<http::Peer>(*r.peer);
    peer->tls = true;
    http::ClientCertificate cert;
    cert.verified = true;
    cert.subject_cn = cn;
    peer->client_certificate = cert;
    r.peer = std::move(peer);
    return test::call_route(router_, r);
  }

  static std::string batch(std::uint64_t first, std::uint64_t last, metrics::Labels labels = {}) {
    telemetry::Batch b{first, last, {{"edgefleet_runtime_healthy", std::move(labels), {}}}};
    for (int i = 0; i < 4; ++i)
      b.series[0].points.push_back({now_ms() - 60'000 + i * 15'000, 1.0});
    auto encoded = telemetry::encode_batch(b);
    EXPECT_TRUE(encoded);
    return encoded ? *encoded : "";
  }

  http::Router router_;
  metrics::Registry registry_;
  std::vector<telemetry::Series> relayed_;
  std::vector<std::string> heard_;  // heard_from calls (the server's presence)
  bool full_ = false;
};

TEST_F(IngestTest, AcceptsABatchAndRelaysItStamped) {
  routes();
  auto r = post(batch(1, 4));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(test::body_of(r)["accepted"], 4);
  ASSERT_EQ(relayed_.size(), 1u);
  EXPECT_NE(std::find(relayed_[0].labels.begin(), relayed_[0].labels.end(),
                      std::pair<std::string, std::string>("device", "cam-01")),
            relayed_[0].labels.end());
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 4u);
  EXPECT_NE(registry_.expose().find(
                "edgefleet_server_telemetry_samples_total{outcome=\"received\",reason=\"\"} 4"),
            std::string::npos);
}

TEST_F(IngestTest, AReplayedBatchIsAnsweredButNotRelayedTwice) {
  routes();
  ASSERT_EQ(post(batch(1, 4)).status, 200u);
  auto again = post(batch(1, 4));
  ASSERT_EQ(again.status, 200u);
  EXPECT_EQ(test::body_of(again)["duplicate"], true);
  EXPECT_EQ(relayed_.size(), 1u);
  ASSERT_EQ(post(batch(5, 8)).status, 200u);
  EXPECT_EQ(relayed_.size(), 2u);
}

TEST_F(IngestTest, HostileBodiesAreRefusedAndNothingIsRelayed) {
  routes();
  const std::string good = batch(1, 4);
  EXPECT_EQ(post("").status, 400u);
  EXPECT_EQ(post("not a batch at all").status, 400u);
  EXPECT_EQ(post(good.substr(0, good.size() / 2)).status, 400u);
  EXPECT_EQ(post(good, "cam-01", "application/json").status, 415u);
  EXPECT_EQ(post(good, "cam-02").status, 403u);  // another device's certificate
  EXPECT_TRUE(relayed_.empty());
  // A garbled push still proves the device alive; a foreign certificate proves nothing.
  EXPECT_EQ(heard_, std::vector<std::string>(4, "cam-01"));
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 0u);
}

TEST_F(IngestTest, AnUnreportedModelIsRefusedForNowWith409) {
  routes();
  auto r = post(batch(1, 4, {{"model_version", "ae-7"}}));
  EXPECT_EQ(r.status, 409u);
  EXPECT_TRUE(relayed_.empty());
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 0u);  // the device will send it again
}

TEST_F(IngestTest, AFullQueueOrNoRelayIs503SoTheDeviceKeepsItsBatch) {
  routes();
  full_ = true;
  auto r = post(batch(1, 4));
  EXPECT_EQ(r.status, 503u);
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 0u);

  http::Router unconfigured;
  std::swap(router_, unconfigured);
  routes(false);
  heard_.clear();
  EXPECT_EQ(post(batch(1, 4)).status, 503u);
  EXPECT_EQ(heard_, std::vector<std::string>{"cam-01"});
}

}  // namespace
}  // namespace ef::telemetry_ingest

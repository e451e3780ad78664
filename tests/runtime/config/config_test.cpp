#include "runtime/config/config.hpp"

#include <gtest/gtest.h>

namespace ef::runtime {
namespace {

TEST(RuntimeConfig, ParsesAFullConfig) {
  auto config = parse_runtime_config(R"({
    "camera": {"type": "synthetic", "fps": 30, "synthetic": {"seed": 1, "defect_rate": 0.05}},
    "model": {"backend": "opencv_dnn", "warm_up_runs": 2},
    "pipeline": {"queue_capacity": 8, "recent_results": 500},
    "health": {"healthy_within_ms": 2000},
    "health_gate": {"deadline_s": 90},
    "hmi": {"listen": "127.0.0.1:8470"}
  })");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->camera.type, camera::SourceConfig::Type::synthetic);
  EXPECT_EQ(config->camera.width, 160);  // the synthetic camera's default size
  EXPECT_EQ(config->warm_up_runs, 2);
  EXPECT_EQ(config->queue_capacity, 8u);
  EXPECT_EQ(config->recent_results, 500u);
  EXPECT_EQ(config->healthy_within, std::chrono::milliseconds(2000));
  EXPECT_EQ(config->health_gate_deadline, std::chrono::seconds(90));
  EXPECT_EQ(config->hmi.kind, ListenAddress::Kind::tcp);
  EXPECT_EQ(config->hmi.port, 8470);
}

TEST(RuntimeConfig, OnlyTheCameraIsRequired) {
  auto config = parse_runtime_config(R"({"camera": {"type": "folder", "location": "/data"}})");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->hmi.kind, ListenAddress::Kind::none);
  EXPECT_EQ(config->backend, "opencv_dnn");
}

TEST(RuntimeConfig, RefusesBadConfigsNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "JSON"},
      {"{", "JSON"},
      {"[]", "object"},
      {R"({})", "camera"},
      {R"({"camera": {"type": "synthetic"}, "extra": 1})", "extra"},
      {R"({"camera": {"type": "synthetic"}, "model": {"warm_up_runs": 0}})", "model.warm_up_runs"},
      {R"({"camera": {"type": "synthetic"}, "model": {"backend": 5}})", "model.backend"},
      {R"({"camera": {"type": "synthetic"}, "pipeline": {"queue_capacity": 100000}})",
       "pipeline.queue_capacity"},
      {R"({"camera": {"type": "synthetic"}, "health": {"healthy_within_ms": 1}})",
       "health.healthy_within_ms"},
      {R"({"camera": {"type": "synthetic"}, "health_gate": {"deadline": 5}})",
       "health_gate.deadline"},
      {R"({"camera": {"type": "synthetic"}, "hmi": {"listen": "0.0.0.0:80"}})", "loopback"},
      {R"({"camera": {"type": "synthetic"}, "camera": {"type": "file"}})", "duplicate"},
  };
  for (const auto& [text, needle] : cases) {
    auto config = parse_runtime_config(text);
    ASSERT_FALSE(config) << text;
    EXPECT_NE(config.error().message.find(needle), std::string::npos)
        << text << " -> " << config.error().message;
  }
  EXPECT_EQ(parse_runtime_config(std::string(2 * 1024 * 1024, ' ')).error().code, Errc::too_large);
}

TEST(ListenAddress, LoopbackAndUnixOnly) {
  auto v4 = parse_listen_address("127.0.0.1:0");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  auto v6 = parse_listen_address("[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
  auto local = parse_listen_address("localhost:1");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->host, "127.0.0.1");
  auto unix_socket = parse_listen_address("unix:/run/edgefleet/hmi.sock");
  ASSERT_TRUE(unix_socket);
  EXPECT_EQ(unix_socket->path, "/run/edgefleet/hmi.sock");
  for (const char* bad : {"0.0.0.0:80", "10.0.0.5:80", "[::]:80", "example.com:80", "127.0.0.1",
                          "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8x",
                          "unix:", "unix:relative.sock", ":80"}) {
    EXPECT_FALSE(parse_listen_address(bad)) << bad;
  }
}

}  // namespace
}  // namespace ef::runtime

#include "server/control_plane/serve.hpp"

#include <gtest/gtest.h>

namespace ef::control_plane {
namespace {

using namespace std::chrono_literals;

ServeOptions with_data() {
  ServeOptions o;
  o.data_dir = "/tmp/ef-serve-test";
  return o;
}

TEST(ServeOptionsTest, FlagsBecomeTheConfig) {
  auto o = with_data();
  o.listen = "[::1]:0";
  o.metrics_listen = "127.0.0.1:9999";
  o.server_names = {"fleet.example.com"};
  o.device_certificate_days = 3;
  auto config = config_from(o);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_host, "::1");
  EXPECT_EQ(config->listen_port, 0);
  EXPECT_EQ(config->metrics_host, std::optional<std::string>("127.0.0.1"));
  EXPECT_EQ(config->metrics_port, 9999);
  EXPECT_EQ(config->server_dns_names, std::vector<std::string>{"fleet.example.com"});
  EXPECT_EQ(config->server_ip_addresses, std::vector<std::string>{"127.0.0.1"});  // default kept
  EXPECT_EQ(config->enrollment.certificate_validity, 72h);
  EXPECT_FALSE(config->tls_certificate);
}

TEST(ServeOptionsTest, LongPollWaitSetsTheOnlineWindowAndIdleTimeout) {
  auto o = with_data();
  o.max_wait = 300s;
  auto config = config_from(o);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->checkin.max_wait, 300s);
  EXPECT_EQ(config->registry.online_window, 630s);
  EXPECT_GE(config->limits.idle_timeout, 330s);
}

TEST(ServeOptionsTest, RefusesUnusableAddressesNamingTheFlag) {
  for (const std::string bad : {"8443", "host:", ":8443", "host:65536", "host:-1", "host:80x"}) {
    auto o = with_data();
    o.listen = bad;
    auto config = config_from(o);
    ASSERT_FALSE(config) << bad;
    EXPECT_EQ(config.error().code, Errc::invalid_argument);
    EXPECT_NE(config.error().message.find("--listen"), std::string::npos);
  }
  auto o = with_data();
  o.metrics_listen = "nope";
  EXPECT_NE(config_from(o).error().message.find("--metrics-listen"), std::string::npos);
  EXPECT_EQ(config_from(ServeOptions{}).error().code, Errc::invalid_argument);  // no --data
}

}  // namespace
}  // namespace ef::control_plane

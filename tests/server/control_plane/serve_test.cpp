#include "server/control_plane/serve.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/common/fs.hpp"

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
  EXPECT_EQ(config->registry.online.checkin, 630s);
  EXPECT_GE(config->limits.idle_timeout, 330s);
}

// By default long-polls are held 900 s (agents ask for that much). A device is "seen" when its
// poll starts and when it ends: parked for a whole poll, then reconnecting a little late, it must
// still count as online, and the connection must outlive the poll.
TEST(ServeOptionsTest, ByDefaultAParkedDeviceStaysOnlineThroughAWholeLongPoll) {
  auto config = config_from(with_data());
  ASSERT_TRUE(config);
  EXPECT_EQ(config->checkin.max_wait, 900s);
  EXPECT_GT(config->registry.online.checkin, config->checkin.max_wait + 60s);
  EXPECT_GT(config->limits.idle_timeout, config->checkin.max_wait);
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

TEST(ServeOptionsTest, DatabaseIsAPostgresUrlOrNothing) {
  auto o = with_data();
  EXPECT_EQ(config_from(o)->database, "");  // SQLite in the data folder
  for (const std::string good : {"postgresql://fleet@db.plant/fleet", "postgres:///fleet"}) {
    o.database = good;
    auto config = config_from(o);
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->database, good);
  }
  for (const std::string bad : {"fleet.db", "sqlite:///x", "mysql://root:hunter2@db/fleet"}) {
    o.database = bad;
    auto config = config_from(o);
    ASSERT_FALSE(config) << bad;
    EXPECT_EQ(config.error().code, Errc::invalid_argument);
    EXPECT_NE(config.error().message.find("--database"), std::string::npos);
    EXPECT_EQ(config.error().message.find("hunter2"), std::string::npos);
  }
}

TEST(ServeOptionsTest, ShiftsFileIsParsedOrTheServerRefusesToStart) {
  const auto dir = std::filesystem::temp_directory_path() / "ef-serve-test-shifts";
  std::filesystem::create_directories(dir);
  auto o = with_data();
  o.shifts_file = dir / "shifts.json";
  ASSERT_TRUE(write_file_atomic(o.shifts_file, R"({"default": {"utc_offset": "+02:00",
      "shifts": [{"name": "day", "start": "06:00"}, {"name": "night", "start": "18:00"}]}})"));
  auto config = config_from(o);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(config->shifts);
  EXPECT_EQ(config->shifts->fallback()->utc_offset_minutes, 120);
  EXPECT_FALSE(config_from(with_data())->shifts);  // no --shifts, no schedules

  ASSERT_TRUE(write_file_atomic(o.shifts_file, R"({"default": {"utc_offset": "+02:00",
      "shifts": [{"name": "day", "start": "25:00"}]}})"));
  config = config_from(o);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, Errc::invalid_argument);
  EXPECT_NE(config.error().message.find("--shifts"), std::string::npos);
  EXPECT_NE(config.error().message.find("default.shifts[0].start"), std::string::npos)
      << config.error().message;

  o.shifts_file = dir / "missing.json";
  EXPECT_NE(config_from(o).error().message.find("--shifts"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ef::control_plane

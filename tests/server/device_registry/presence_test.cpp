#include "server/device_registry/presence.hpp"

#include <gtest/gtest.h>

#include "../support/server_test_support.hpp"

namespace ef::device_registry {
namespace {

UtcTime at(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

class PresenceTest : public test::StoreTest {};

TEST_F(PresenceTest, KeepsTheNewestTimeAndWritesItOnlyOnFlush) {
  add_device("cam-01");
  Presence presence;
  presence.seen("cam-01", at(2000));
  presence.seen("cam-01", at(1000));  // an older report arriving late does not go back in time
  auto stored = store_->device("cam-01");
  EXPECT_FALSE(stored->last_seen);
  EXPECT_EQ(presence.last_seen(*stored), at(2000));
  ASSERT_TRUE(presence.flush(*store_));
  EXPECT_EQ(store_->device("cam-01")->last_seen, at(2000));
  // A restarted server knows what was flushed.
  Presence restarted;
  EXPECT_EQ(restarted.last_seen(*store_->device("cam-01")), at(2000));
}

TEST_F(PresenceTest, TheStoreWinsWhenItIsNewer) {
  add_device("cam-01");
  ASSERT_TRUE(store_->save_last_seen({{"cam-01", at(5000)}}));
  Presence presence;
  presence.seen("cam-01", at(4000));
  EXPECT_EQ(presence.last_seen(*store_->device("cam-01")), at(5000));
}

constexpr OnlineWindows kWindows{.checkin = std::chrono::seconds(1830),
                                 .telemetry = std::chrono::seconds(300)};

TEST_F(PresenceTest, ADeviceWithoutTelemetryIsOnlineThroughALongHeldCheckIn) {
  add_device("cam-01");
  Presence presence;
  presence.seen("cam-01", at(1000));  // a check-in starts and is held
  const auto d = *store_->device("cam-01");
  EXPECT_TRUE(presence.online(d, at(1000 + 1800), kWindows));
  EXPECT_FALSE(presence.online(d, at(1000 + 1831), kWindows));
}

// Powered off in the middle of a held check-in: its telemetry stops, so it goes offline after
// the telemetry window, not after the hold.
TEST_F(PresenceTest, ADeviceSendingTelemetryIsOfflineSoonAfterItsPushesStop) {
  add_device("cam-01");
  Presence presence;
  presence.seen("cam-01", at(1000));
  presence.pushed_telemetry("cam-01", at(1060));
  presence.pushed_telemetry("cam-01", at(1120));
  const auto d = *store_->device("cam-01");
  EXPECT_TRUE(presence.online(d, at(1120 + 300), kWindows));
  EXPECT_FALSE(presence.online(d, at(1120 + 301), kWindows));
  // A check-in (the next poll) counts too.
  presence.seen("cam-01", at(1500));
  EXPECT_TRUE(presence.online(d, at(1700), kWindows));
  // Once its last push is older than the check-in window it is judged by check-ins again (its
  // telemetry was switched off).
  presence.seen("cam-01", at(1120 + 1831));
  EXPECT_TRUE(presence.online(d, at(1120 + 1831 + 600), kWindows));
}

TEST_F(PresenceTest, NeverSeenIsNotOnline) {
  add_device("cam-01");
  Presence presence;
  EXPECT_FALSE(presence.online(*store_->device("cam-01"), at(10), kWindows));
}

TEST_F(PresenceTest, CountsDevicesOnlineAndForgets) {
  Presence presence;
  presence.seen("a", at(100));
  presence.seen("b", at(1000));
  presence.pushed_telemetry("c", at(1000));
  EXPECT_EQ(presence.count_online(at(1200), kWindows), 3u);
  EXPECT_EQ(presence.count_online(at(1301), kWindows), 2u);  // c: no push for 301 s
  EXPECT_EQ(presence.count_online(at(1931), kWindows), 1u);  // a: silent 1831 s
  presence.forget("b");
  EXPECT_EQ(presence.count_online(at(1200), kWindows), 2u);
}

}  // namespace
}  // namespace ef::device_registry

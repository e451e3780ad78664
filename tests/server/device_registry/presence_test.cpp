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

TEST_F(PresenceTest, CountsDevicesSeenSinceAndForgets) {
  Presence presence;
  presence.seen("a", at(100));
  presence.seen("b", at(200));
  presence.seen("c", at(300));
  EXPECT_EQ(presence.count_seen_since(at(200)), 2u);
  EXPECT_EQ(presence.count_seen_since(at(301)), 0u);
  presence.forget("c");
  EXPECT_EQ(presence.count_seen_since(at(200)), 1u);
}

}  // namespace
}  // namespace ef::device_registry

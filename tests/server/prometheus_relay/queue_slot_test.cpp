// Each replica sharing a data folder gets a relay queue of its own; a freed one is taken over.
#include "server/prometheus_relay/queue_slot.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "temp_dir_test.hpp"

namespace ef::prometheus_relay {
namespace {

class QueueSlotTest : public ef::testing::TempDirTest {};

TEST_F(QueueSlotTest, EachClaimGetsItsOwnQueueAndAFreedOneIsTakenOver) {
  const auto base = dir_ / "data" / "telemetry-relay";
  auto first = claim_queue_slot(base);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->dir, base);  // where a single server has always kept it
  auto second = claim_queue_slot(base);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->dir, base.string() + "-1");
  EXPECT_TRUE(std::filesystem::is_directory(second->dir));
  ASSERT_TRUE(write_file_atomic(second->dir / "leftover", "queued"));

  { QueueSlot stopped = std::move(*second); }  // that replica stops: its queue is free
  auto third = claim_queue_slot(base);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(third->dir, base.string() + "-1");
  EXPECT_TRUE(std::filesystem::exists(third->dir / "leftover"));
}

TEST_F(QueueSlotTest, RefusesWhenEverySlotIsHeld) {
  const auto base = dir_ / "telemetry-relay";
  std::vector<QueueSlot> held;
  for (int i = 0; i < kMaxQueueSlots; ++i) {
    auto slot = claim_queue_slot(base);
    ASSERT_TRUE(slot) << i << ": " << slot.error().message;
    held.push_back(std::move(*slot));
  }
  auto none = claim_queue_slot(base);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::exists);
}

}  // namespace
}  // namespace ef::prometheus_relay

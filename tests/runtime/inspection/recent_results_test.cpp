#include "runtime/inspection/recent_results.hpp"

#include <gtest/gtest.h>

namespace ef::inspection {
namespace {

FrameResult result(std::uint64_t sequence, Decision decision = Decision::pass) {
  FrameResult r;
  r.sequence = sequence;
  r.decision = decision;
  r.model_version = "m1";
  return r;
}

TEST(RecentResults, KeepsTheLastCapacityInOrder) {
  RecentResults recent(3);
  for (std::uint64_t s : {1, 2, 4, 7, 9})
    recent.push(result(s));
  const auto all = recent.after(0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sequence, 4u);
  EXPECT_EQ(all[2].sequence, 9u);
  const auto later = recent.after(4, 1);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].sequence, 7u);
  EXPECT_TRUE(recent.after(9, 10).empty());
}

TEST(RecentResults, CapacityIsAtLeastOne) {
  RecentResults recent(0);
  recent.push(result(1));
  recent.push(result(2));
  EXPECT_EQ(recent.capacity(), 1u);
  ASSERT_EQ(recent.after(0, 10).size(), 1u);
}

TEST(RecentResults, OverrideOnceAndOnlyToTheOtherDecision) {
  RecentResults recent(4);
  recent.push(result(1, Decision::pass));
  recent.push(result(3, Decision::reject));

  auto same = recent.set_override(3, Decision::reject, "ana");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, Errc::invalid_argument);
  auto gap = recent.set_override(2, Decision::reject, "ana");  // never scored
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, Errc::not_found);

  auto done = recent.set_override(3, Decision::pass, "ana");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->override_decision, Decision::pass);
  EXPECT_EQ(recent.after(2, 1)[0].override_operator, "ana");

  auto twice = recent.set_override(3, Decision::reject, "bo");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::exists);
}

TEST(RecentResults, ForgottenFramesCannotBeOverridden) {
  RecentResults recent(2);
  for (std::uint64_t s = 1; s <= 5; ++s)
    recent.push(result(s));
  auto old = recent.set_override(1, Decision::reject, "ana");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, Errc::not_found);
}

}  // namespace
}  // namespace ef::inspection

#include "core/common/backoff.hpp"

#include <gtest/gtest.h>

namespace ef {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCapAndResetStartsAgain) {
  Backoff backoff({.initial = milliseconds(200), .max = milliseconds(5000)});
  const milliseconds expected[] = {milliseconds(200),  milliseconds(400),  milliseconds(800),
                                   milliseconds(1600), milliseconds(3200), milliseconds(5000),
                                   milliseconds(5000)};
  for (auto want : expected)
    EXPECT_EQ(backoff.next(), want);
  EXPECT_EQ(backoff.failures(), 7);
  backoff.reset();
  EXPECT_EQ(backoff.next(), milliseconds(200));
}

TEST(Backoff, ManyFailuresNeitherOverflowNorPassTheCap) {
  Backoff backoff({.initial = milliseconds(1000), .max = milliseconds(60000)});
  for (int i = 0; i < 1000; ++i) {
    const auto wait = backoff.next();
    ASSERT_GT(wait.count(), 0) << i;
    ASSERT_LE(wait, milliseconds(60000)) << i;
  }
}

TEST(Backoff, JitterDrawsBetweenHalfTheCapAndTheCapAndSpreads) {
  Backoff backoff({.initial = milliseconds(1000), .max = milliseconds(8000), .jitter = true});
  for (int i = 0; i < 4; ++i)
    backoff.next();  // now at the 8 s cap
  milliseconds lowest = milliseconds::max(), highest = milliseconds::zero();
  for (int i = 0; i < 200; ++i) {
    const auto wait = backoff.next();
    ASSERT_GE(wait, milliseconds(4000));
    ASSERT_LE(wait, milliseconds(8000));
    lowest = std::min(lowest, wait);
    highest = std::max(highest, wait);
  }
  // 200 uniform draws over 4 s: a spread under 2 s would mean the jitter is not applied.
  EXPECT_GT((highest - lowest).count(), 2000);
}

TEST(Backoff, NonsensePolicyIsMadeUsable) {
  Backoff backoff({.initial = milliseconds(0), .max = milliseconds(-5)});
  EXPECT_EQ(backoff.next(), milliseconds(1));
  EXPECT_EQ(backoff.next(), milliseconds(1));
}

}  // namespace
}  // namespace ef

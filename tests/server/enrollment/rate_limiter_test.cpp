#include "server/enrollment/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace ef::enrollment {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiterTest, AdmitsUntilTheLimitThenRefusesUntilTheOldestFailureLeavesTheWindow) {
  RateLimiter limiter(3, 60s);
  const auto t0 = Clock::time_point() + 1000s;
  EXPECT_EQ(limiter.retry_after("host:a", t0), 0s);
  limiter.failure("host:a", t0);
  limiter.failure("host:a", t0 + 10s);
  EXPECT_EQ(limiter.retry_after("host:a", t0 + 10s), 0s);
  limiter.failure("host:a", t0 + 20s);
  EXPECT_EQ(limiter.retry_after("host:a", t0 + 20s), 40s);
  EXPECT_EQ(limiter.retry_after("host:a", t0 + 59s), 1s);
  // The first failure left the window: one more try is allowed, not three.
  EXPECT_EQ(limiter.retry_after("host:a", t0 + 60s), 0s);
  limiter.failure("host:a", t0 + 60s);
  EXPECT_GT(limiter.retry_after("host:a", t0 + 60s), 0s);
}

TEST(RateLimiterTest, NeverAsksToWaitLessThanOneSecondWhileRefusing) {
  RateLimiter limiter(1, 10s);
  const auto t0 = Clock::time_point() + 1000s;
  limiter.failure("k", t0);
  EXPECT_EQ(limiter.retry_after("k", t0 + 9999ms), 1s);
}

TEST(RateLimiterTest, KeysCountSeparately) {
  RateLimiter limiter(2, 60s);
  const auto t0 = Clock::time_point() + 1000s;
  limiter.failure("host:a", t0);
  limiter.failure("host:a", t0);
  EXPECT_GT(limiter.retry_after("host:a", t0), 0s);
  EXPECT_EQ(limiter.retry_after("host:b", t0), 0s);
  EXPECT_EQ(limiter.retry_after("device:a", t0), 0s);
}

TEST(RateLimiterTest, MemoryIsBoundedByDroppingTheStalestKey) {
  RateLimiter limiter(1, 600s, /*max_keys=*/2);
  const auto t0 = Clock::time_point() + 1000s;
  limiter.failure("old", t0);
  limiter.failure("newer", t0 + 1s);
  limiter.failure("newest", t0 + 2s);  // table full: "old" is dropped
  EXPECT_EQ(limiter.retry_after("old", t0 + 3s), 0s);
  EXPECT_GT(limiter.retry_after("newer", t0 + 3s), 0s);
  EXPECT_GT(limiter.retry_after("newest", t0 + 3s), 0s);
}

}  // namespace
}  // namespace ef::enrollment

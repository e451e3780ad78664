#include "runtime/inspection/rate_meter.hpp"

#include <gtest/gtest.h>

namespace ef::inspection {
namespace {

using namespace std::chrono_literals;

TEST(RateMeter, AveragesWholeSecondsAndSkipsThePartialFirstOne) {
  RateMeter meter;
  const auto t0 = RateMeter::Clock::time_point(1000s + 700ms);
  EXPECT_EQ(meter.per_second(10, t0), 0);
  // 3 ticks in the partial first second, then 30 per second for 4 seconds.
  for (int i = 0; i < 3; ++i)
    meter.tick(t0);
  for (int s = 1; s <= 4; ++s) {
    for (int i = 0; i < 30; ++i)
      meter.tick(RateMeter::Clock::time_point(1000s + s * 1s));
  }
  EXPECT_EQ(meter.per_second(10, RateMeter::Clock::time_point(1001s + 500ms)), 0);  // none whole
  EXPECT_DOUBLE_EQ(meter.per_second(10, RateMeter::Clock::time_point(1005s + 10ms)), 30);
  // Ten quiet seconds later the window holds only silence.
  EXPECT_DOUBLE_EQ(meter.per_second(10, RateMeter::Clock::time_point(1016s)), 0);
  // A window of 2 over seconds 1003 and 1004.
  EXPECT_DOUBLE_EQ(meter.per_second(2, RateMeter::Clock::time_point(1005s)), 30);
}

}  // namespace
}  // namespace ef::inspection

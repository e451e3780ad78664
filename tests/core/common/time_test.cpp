#include "core/common/time.hpp"

#include <gtest/gtest.h>

namespace ef {
namespace {

TEST(Time, RoundTripsTufFormat) {
  auto t = parse_utc("2030-01-02T03:04:05Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_utc(*t), "2030-01-02T03:04:05Z");
  EXPECT_EQ(t->time_since_epoch().count(), 1893553445);
}

TEST(Time, RefusesOtherFormsAndImpossibleDates) {
  for (const char* bad : {"2030-01-02T03:04:05", "2030-01-02T03:04:05.000Z", "2030-01-02 03:04:05Z",
                          "2030-02-30T00:00:00Z", "2030-13-01T00:00:00Z", "2030-01-02T24:00:00Z",
                          "", "x030-01-02T03:04:05Z", "2030-01-02T03:04:05+00:00"}) {
    auto t = parse_utc(bad);
    EXPECT_FALSE(t) << bad;
    if (!t) {
      EXPECT_EQ(t.error().code, Errc::malformed);
    }
  }
}

}  // namespace
}  // namespace ef

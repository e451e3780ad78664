#include "runtime/inspection/log_limiter.hpp"

#include <gtest/gtest.h>

namespace ef::inspection {
namespace {

using namespace std::chrono_literals;

TEST(LogLimiter, OncePerIntervalPerKey) {
  LogLimiter log(10s);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(log.warn("unreadable", "first", t0));
  EXPECT_FALSE(log.warn("unreadable", "again", t0 + 1s));
  EXPECT_TRUE(log.warn("wrong_size", "another kind", t0 + 1s));
  EXPECT_FALSE(log.warn("unreadable", "again", t0 + 9s));
  EXPECT_TRUE(log.warn("unreadable", "after the interval", t0 + 10s));
}

}  // namespace
}  // namespace ef::inspection

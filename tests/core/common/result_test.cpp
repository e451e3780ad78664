#include "core/common/result.hpp"

#include <gtest/gtest.h>

namespace ef {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return make_error(Errc::invalid_argument, std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> quarter(int x) {
  EF_TRY(int h, half(x));
  EF_TRY(int q, half(h));
  return q;
}

Status must_be_even(int x) {
  EF_CHECK(half(x));
  return {};
}

TEST(Result, CarriesValueOrError) {
  auto ok = quarter(8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message, "3 is odd");
}

TEST(Result, StatusPropagates) {
  EXPECT_TRUE(must_be_even(4));
  EXPECT_FALSE(must_be_even(5));
}

TEST(Result, ContextPrefixesMessage) {
  Error e = make_error(Errc::io, "disk on fire").context("saving journal");
  EXPECT_EQ(e.message, "saving journal: disk on fire");
  EXPECT_EQ(e.code, Errc::io);
}

}  // namespace
}  // namespace ef

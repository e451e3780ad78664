#include "core/common/path.hpp"

#include <gtest/gtest.h>

namespace ef {
namespace {

TEST(Path, AcceptsPlainRelativePaths) {
  EXPECT_TRUE(check_relative_path("model/model.onnx"));
  EXPECT_TRUE(check_relative_path("a"));
  EXPECT_TRUE(check_relative_path("releases/1.0.0/code/edgefleet-runtime"));
  EXPECT_TRUE(check_plain_name("targets"));
}

TEST(Path, RefusesEverythingThatCouldEscapeOrConfuse) {
  using namespace std::string_literals;
  for (const std::string& bad :
       {"../etc/passwd"s, "a/../../b"s, "/etc/passwd"s, "a//b"s, "a/"s, "."s, "a/./b"s, "a%2Fb"s,
        "a?b"s, "a#b"s, "a\0b"s, "a\\b"s, ""s, "a\nb"s, std::string(5000, 'a')}) {
    auto st = check_relative_path(bad);
    ASSERT_FALSE(st) << printable(bad);
    EXPECT_EQ(st.error().code, Errc::unsafe_path);
  }
  EXPECT_FALSE(check_plain_name("a/b"));
}

TEST(Path, PrintableEscapesControlBytes) {
  EXPECT_EQ(printable(std::string("a\0b\n", 4)), "a\\x00b\\x0a");
}

}  // namespace
}  // namespace ef

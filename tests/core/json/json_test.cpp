#include "core/json/json.hpp"

#include <gtest/gtest.h>

namespace ef::json {
namespace {

TEST(Json, CanonicalSortsKeysAndEscapesOnlyQuoteAndBackslash) {
  auto v = parse_strict(R"({"b": [1, true, null], "a": "x\"y\\z\n", "c": {"z": 1, "y": -2}})");
  ASSERT_TRUE(v);
  auto c = canonical(*v);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "{\"a\":\"x\\\"y\\\\z\n\",\"b\":[1,true,null],\"c\":{\"y\":-2,\"z\":1}}");
}

TEST(Json, CanonicalKeepsUtf8AsIs) {
  auto v = parse_strict("{\"k\": \"caf\\u00e9\"}");
  ASSERT_TRUE(v);
  EXPECT_EQ(*canonical(*v), "{\"k\":\"caf\xc3\xa9\"}");
}

TEST(Json, RefusesDuplicateKeysAtAnyDepth) {
  for (const char* doc : {R"({"a": 1, "a": 2})", R"({"x": {"a": 1, "b": 2, "a": 3}})",
                          R"([{"k": 1}, {"k": 1, "k": 1}])"}) {
    auto v = parse_strict(doc);
    ASSERT_FALSE(v) << doc;
    EXPECT_NE(v.error().message.find("duplicate JSON key"), std::string::npos);
  }
  // The same key in sibling objects is fine.
  EXPECT_TRUE(parse_strict(R"([{"k": 1}, {"k": 2}])"));
}

TEST(Json, RefusesFloatsDeepNestingOversizeAndGarbage) {
  EXPECT_FALSE(parse_strict(R"({"v": 1.5})"));
  EXPECT_FALSE(parse_strict(R"({"v": 1e3})"));
  EXPECT_FALSE(parse_strict(R"({"v": 123456789012345678901234567890})"));
  EXPECT_FALSE(parse_strict(std::string(100, '[') + std::string(100, ']')));
  auto big = parse_strict(R"({"a": "0123456789"})", Limits{.max_bytes = 10});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::too_large);
  EXPECT_FALSE(parse_strict("{\"a\": 1"));
  EXPECT_FALSE(parse_strict("{\"a\": \"\xff\xfe\"}"));
  EXPECT_FALSE(parse_strict("\"just a string\""));
  EXPECT_FALSE(parse_strict("{} trailing"));
  EXPECT_FALSE(parse_strict(""));
}

TEST(Json, TypedGettersNameTheField) {
  auto v = *parse_strict(R"({"version": "3", "n": 4, "big": 18446744073709551615})");
  auto version = get_int(v, "version");
  ASSERT_FALSE(version);
  EXPECT_NE(version.error().message.find("\"version\""), std::string::npos);
  EXPECT_EQ(*get_int(v, "n"), 4);
  EXPECT_FALSE(get_int(v, "big"));
  EXPECT_FALSE(get_string(v, "missing"));
}

}  // namespace
}  // namespace ef::json

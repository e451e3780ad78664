#include "core/json/reader.hpp"

#include <gtest/gtest.h>

namespace ef::json {
namespace {

Json parse(const char* text) {
  Limits limits;
  limits.allow_floats = true;
  return *parse_strict(text, limits);
}

TEST(ObjectReader, ReadsTypedFieldsAndKeepsDefaultsForAbsentOnes) {
  const auto doc = parse(R"({"name": "x", "rate": 0.5, "count": 3, "on": true, "big": 7})");
  ObjectReader r(doc, "cfg");
  EXPECT_EQ(*r.string("name"), "x");
  double rate = 0, absent_rate = 9;
  int count = 0;
  bool on = false;
  std::uint64_t big = 0;
  std::string absent = "default";
  ASSERT_TRUE(r.optional("rate", rate, 0, 1));
  ASSERT_TRUE(r.optional("count", count, 0, 10));
  ASSERT_TRUE(r.optional("on", on));
  ASSERT_TRUE(r.optional("big", big));
  ASSERT_TRUE(r.optional("missing", absent));
  ASSERT_TRUE(r.optional("missing_rate", absent_rate, 0, 1));
  EXPECT_DOUBLE_EQ(rate, 0.5);
  EXPECT_EQ(count, 3);
  EXPECT_TRUE(on);
  EXPECT_EQ(big, 7u);
  EXPECT_EQ(absent, "default");
  EXPECT_DOUBLE_EQ(absent_rate, 9);
  EXPECT_TRUE(r.finish());
}

TEST(ObjectReader, ErrorsNameTheFullPath) {
  const auto doc = parse(R"({"rate": 1.5, "count": 2.5, "name": 3, "sub": []})");
  ObjectReader r(doc, "camera.synthetic");
  double rate = 0;
  int count = 0;
  auto bad_rate = r.optional("rate", rate, 0, 1);
  ASSERT_FALSE(bad_rate);
  EXPECT_EQ(bad_rate.error().message, "camera.synthetic.rate: must be between 0 and 1, not 1.5");
  auto bad_count = r.optional("count", count, 0, 10);
  ASSERT_FALSE(bad_count);
  EXPECT_NE(bad_count.error().message.find("camera.synthetic.count: must be an integer"),
            std::string::npos);
  EXPECT_FALSE(r.string("name"));
  EXPECT_FALSE(r.string("absent"));
  EXPECT_FALSE(r.optional_object("sub"));
}

TEST(ObjectReader, FinishRefusesKeysNobodyAskedFor) {
  const auto doc = parse(R"({"fps": 30, "fsp": 30})");
  ObjectReader r(doc, "camera");
  double fps = 0;
  ASSERT_TRUE(r.optional("fps", fps, 0, 100));
  auto finished = r.finish();
  ASSERT_FALSE(finished);
  EXPECT_NE(finished.error().message.find("camera.fsp"), std::string::npos);
}

TEST(ObjectReader, NonObjectsAreRefused) {
  const auto doc = parse(R"([1])");
  ObjectReader r(doc, "camera");
  EXPECT_FALSE(r.valid());
  std::string s;
  EXPECT_FALSE(r.optional("x", s));
  EXPECT_FALSE(r.finish());
}

TEST(ParseStrict, FloatsOnlyWhenAllowed) {
  EXPECT_FALSE(parse_strict(R"({"a": 0.5})"));
  Limits limits;
  limits.allow_floats = true;
  EXPECT_TRUE(parse_strict(R"({"a": 0.5})", limits));
}

}  // namespace
}  // namespace ef::json

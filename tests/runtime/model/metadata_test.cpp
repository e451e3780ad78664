// model.json parsing: the good file, and every way a hostile or careless one can be wrong.
#include "runtime/model/metadata.hpp"

#include <gtest/gtest.h>

#include "core/json/json.hpp"

namespace ef::model {
namespace {

const std::string kGood = R"({
  "format": 1,
  "name": "plate-ae",
  "version": "ae-2026.11.1",
  "onnx": "model.onnx",
  "input": {"name": "image", "width": 64, "height": 48, "color": "gray",
            "scale": 0.00392156862745098, "mean": [0.5], "std": [0.25]},
  "outputs": {"score": "score", "anomaly_map": "anomaly_map"},
  "threshold": 0.0123,
  "info": {"anything": ["goes", 1, 2.5, {"here": null}]}
})";

// Replaces the first occurrence of from in kGood.
std::string with(const std::string& from, const std::string& to) {
  std::string text = kGood;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  return text;
}

Error refused(const std::string& text) {
  auto m = parse_metadata(text);
  EXPECT_FALSE(m) << text;
  return m ? Error{Errc::internal, "accepted"} : m.error();
}

TEST(Metadata, ParsesAGoodFile) {
  auto m = parse_metadata(kGood);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->version, "ae-2026.11.1");
  EXPECT_EQ(m->onnx_file, "model.onnx");
  EXPECT_EQ(m->input.width, 64);
  EXPECT_EQ(m->input.height, 48);
  EXPECT_EQ(m->input.channels(), 1);
  EXPECT_DOUBLE_EQ(m->input.std[0], 0.25);
  EXPECT_EQ(m->map_output, "anomaly_map");
  EXPECT_DOUBLE_EQ(m->threshold, 0.0123);
}

TEST(Metadata, AnomalyMapIsOptionalAndColorSetsChannels) {
  auto no_map = parse_metadata(with(R"(, "anomaly_map": "anomaly_map")", ""));
  ASSERT_TRUE(no_map) << no_map.error().message;
  EXPECT_TRUE(no_map->map_output.empty());
  // rgb needs three means and stds: refused with a message naming the field.
  auto short_mean = refused(with(R"("color": "gray")", R"("color": "rgb")"));
  EXPECT_NE(short_mean.message.find("input.mean"), std::string::npos) << short_mean.message;
  auto rgb = parse_metadata(
      with(R"("mean": [0.5], "std": [0.25])", R"("mean": [1, 2, 3], "std": [1, 1, 1])")
          .replace(kGood.find("\"gray\""), 6, "\"rgb\""));
  ASSERT_TRUE(rgb) << rgb.error().message;
  EXPECT_EQ(rgb->input.channels(), 3);
}

TEST(Metadata, RefusesNonJsonAndWrongShapes) {
  EXPECT_EQ(refused("").code, Errc::malformed);
  EXPECT_EQ(refused("not json").code, Errc::malformed);
  EXPECT_EQ(refused("[1, 2]").code, Errc::malformed);
  EXPECT_EQ(refused(kGood.substr(0, kGood.size() / 2)).code, Errc::malformed);  // truncated
  EXPECT_EQ(refused(std::string(70 * 1024, ' ') + kGood).code, Errc::too_large);
  std::string deep(100, '[');
  EXPECT_EQ(refused(R"({"format": 1, "info": )" + deep).code, Errc::malformed);
}

TEST(Metadata, RefusesDuplicateAndUnknownKeys) {
  auto dup = refused(with(R"("threshold": 0.0123)", R"("threshold": 0.0123, "threshold": 99)"));
  EXPECT_NE(dup.message.find("duplicate"), std::string::npos) << dup.message;
  auto typo = refused(with(R"("threshold")", R"("treshold": 1, "threshold")"));
  EXPECT_NE(typo.message.find("treshold"), std::string::npos) << typo.message;
  auto nested = refused(with(R"("color": "gray")", R"("color": "gray", "colour": "gray")"));
  EXPECT_NE(nested.message.find("input.colour"), std::string::npos) << nested.message;
}

TEST(Metadata, RefusesMissingAndMistypedFields) {
  auto no_version = refused(with(R"("version": "ae-2026.11.1",)", ""));
  EXPECT_NE(no_version.message.find("version"), std::string::npos);
  auto no_input = refused(with(R"("input": {)", R"("inputs": {)"));
  EXPECT_NE(no_input.message.find("input"), std::string::npos);
  auto width_string = refused(with(R"("width": 64)", R"("width": "64")"));
  EXPECT_NE(width_string.message.find("input.width"), std::string::npos) << width_string.message;
  auto width_fraction = refused(with(R"("width": 64)", R"("width": 64.5)"));
  EXPECT_NE(width_fraction.message.find("input.width"), std::string::npos);
  EXPECT_EQ(refused(with(R"("format": 1)", R"("format": 2)")).code, Errc::unsupported);
  EXPECT_EQ(refused(with(R"("format": 1)", R"("format": "1")")).code, Errc::malformed);
}

TEST(Metadata, RefusesOutOfRangeNumbers) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("width": 64)", R"("width": 0)"},
           {R"("width": 64)", R"("width": -64)"},
           {R"("width": 64)", R"("width": 1000000)"},
           {R"("height": 48)", R"("height": 18446744073709551615)"},
           {R"("threshold": 0.0123)", R"("threshold": 0)"},
           {R"("threshold": 0.0123)", R"("threshold": -1)"},
           {R"("threshold": 0.0123)", R"("threshold": 1e400)"},
           {R"("std": [0.25])", R"("std": [0])"},
           {R"("std": [0.25])", R"("std": [-0.25])"},
           {R"("std": [0.25])", R"("std": ["x"])"},
           {R"("mean": [0.5])", R"("mean": [0.5, 0.5])"},
           {R"("scale": 0.00392156862745098)", R"("scale": 0)"},
           {R"("color": "gray")", R"("color": "cmyk")"},
       }) {
    EXPECT_EQ(refused(with(from, to)).code, Errc::malformed) << to;
  }
}

TEST(Metadata, RefusesOnnxNamesThatLeaveTheDirectory) {
  for (const char* name : {"../model.onnx", "/etc/passwd", "sub/model.onnx", "..", ".", "",
                           "a\\b.onnx", "model\n.onnx"}) {
    const std::string escaped = ef::json::Json(name).dump();
    auto error = refused(with(R"("onnx": "model.onnx")", R"("onnx": )" + escaped));
    EXPECT_EQ(error.code, Errc::unsafe_path) << name << ": " << error.message;
  }
}

TEST(Metadata, RefusesVersionsThatCannotLabelMetrics) {
  for (const char* version :
       {"", "has space", "a/b", "quote\"", "\u00e9t\u00e9",
        "0123456789012345678901234567890123456789012345678901234567890123456789"}) {
    const std::string escaped = ef::json::Json(version).dump();
    EXPECT_EQ(refused(with(R"("version": "ae-2026.11.1")", R"("version": )" + escaped)).code,
              Errc::malformed)
        << version;
  }
  EXPECT_TRUE(valid_version("ae-2026.11.1+build_7"));
}

TEST(Metadata, RefusesInvalidUtf8) {
  EXPECT_EQ(refused(with(R"("plate-ae")", "\"plate-\xff\xfe\"")).code, Errc::malformed);
}

}  // namespace
}  // namespace ef::model

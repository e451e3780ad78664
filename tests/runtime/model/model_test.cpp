// Models through the OpenCV dnn backend, and every bad model input the issue names: corrupt
// ONNX, input shape that does not match the metadata, missing metadata, and models that load but
// cannot run. Uses a tiny model built in the test; trained_model_test.cpp tests the real one.
#include "runtime/model/model.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "tiny_model.hpp"

namespace ef::model {
namespace {

namespace fs = std::filesystem;

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-model-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    base_ = dir_ / "base";
    testing::write_tiny_model(base_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A copy of the tiny model whose model.json is edited by edit().
  fs::path copy_model(const std::function<void(json::Json&)>& edit = {}) {
    const auto out = dir_ / ("m" + std::to_string(copies_++));
    fs::create_directories(out);
    fs::copy_file(base_ / "model.onnx", out / "model.onnx");
    auto text = read_file(base_ / "model.json", 1 << 20);
    EXPECT_TRUE(text);
    auto doc = json::Json::parse(*text);
    if (edit) edit(doc);
    std::ofstream(out / "model.json") << doc.dump(2);
    return out;
  }

  std::string onnx_bytes() { return *read_file(base_ / "model.onnx", 64 << 20); }
  void write(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path dir_, base_;
  int copies_ = 0;
};

TEST_F(ModelTest, LoadsWarmsAndScoresTheTinyModel) {
  auto model = Model::load(base_);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ((*model)->metadata().version, "tiny-1");
  EXPECT_EQ((*model)->backend_name(), "opencv_dnn");
  ASSERT_TRUE((*model)->warm_up(2));
  // The tiny model's score is the mean brightness in [0, 1].
  auto dark = (*model)->infer(cv::Mat(120, 160, CV_8UC3, cv::Scalar::all(51)));
  ASSERT_TRUE(dark) << dark.error().message;
  EXPECT_NEAR(dark->score, 0.2, 1e-3);
  EXPECT_TRUE(dark->anomaly_map.empty());  // only when asked for
  auto bright = (*model)->infer(cv::Mat(120, 160, CV_8UC3, cv::Scalar::all(204)), true);
  ASSERT_TRUE(bright);
  EXPECT_NEAR(bright->score, 0.8, 1e-3);
  EXPECT_EQ(bright->anomaly_map.rows, 32);
  EXPECT_EQ(bright->anomaly_map.cols, 32);
}

TEST_F(ModelTest, ColorModelsGetThreeNormalizedChannels) {
  const auto dir = dir_ / "rgb";
  testing::write_tiny_model(dir, {.version = "tiny-rgb", .color = "rgb"});
  auto model = Model::load(dir);
  ASSERT_TRUE(model) << model.error().message;
  cv::Mat frame(40, 40, CV_8UC3, cv::Scalar(0, 0, 255));  // pure red in BGR
  auto result = (*model)->infer(frame);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_NEAR(result->score, 1.0 / 3, 1e-3);
  cv::Mat tensor, fitted;
  fit_to_input(frame, (*model)->metadata().input, fitted);
  to_tensor(fitted, (*model)->metadata().input, tensor);
  EXPECT_FLOAT_EQ(*tensor.ptr<float>(0, 0), 1.0f);  // channel 0 is red for an rgb model
  EXPECT_FLOAT_EQ(*tensor.ptr<float>(0, 2), 0.0f);
}

TEST_F(ModelTest, ScoresFramesOfAnySizeButRefusesEmptyAndNonBgrFrames) {
  auto model = Model::load(base_);
  ASSERT_TRUE(model);
  EXPECT_TRUE((*model)->infer(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(90))));
  auto empty = (*model)->infer(cv::Mat());
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
  auto gray = (*model)->infer(cv::Mat(64, 64, CV_8UC1, cv::Scalar::all(90)));
  ASSERT_FALSE(gray);
  EXPECT_NE(gray.error().message.find("BGR"), std::string::npos);
}

TEST_F(ModelTest, MissingMetadataIsAClearError) {
  const auto dir = copy_model();
  fs::remove(dir / "model.json");
  auto model = Model::load(dir);
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, Errc::not_found);
  EXPECT_NE(model.error().message.find("model.json"), std::string::npos) << model.error().message;
}

TEST_F(ModelTest, MissingModelDirectoryAndOnnxFileAreClearErrors) {
  auto no_dir = Model::load(dir_ / "nope");
  ASSERT_FALSE(no_dir);
  EXPECT_EQ(no_dir.error().code, Errc::not_found);
  const auto dir = copy_model();
  fs::remove(dir / "model.onnx");
  auto model = Model::load(dir);
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, Errc::not_found);
  EXPECT_NE(model.error().message.find("model.onnx"), std::string::npos);
}

TEST_F(ModelTest, CorruptOnnxFilesAreRefusedBeforeTheEngineSeesThem) {
  const std::string good = onnx_bytes();
  std::mt19937 rng(42);
  std::string random(20000, '\0');
  for (auto& c : random)
    c = static_cast<char>(rng());
  std::string flipped = good;
  for (std::size_t i = 100; i < flipped.size(); i += 97)
    flipped[i] = static_cast<char>(~flipped[i]);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty file", ""},
      {"truncated to half", good.substr(0, good.size() / 2)},
      {"truncated to 10 bytes", good.substr(0, 10)},
      {"random bytes", random},
      {"bit flips", flipped},
      {"text", "this is not an onnx model\n"},
      {"model.json as onnx", *read_file(base_ / "model.json", 1 << 20)},
  };
  for (const auto& [what, bytes] : cases) {
    const auto dir = copy_model();
    write(dir / "model.onnx", bytes);
    auto model = Model::load(dir);
    ASSERT_FALSE(model) << what;
    EXPECT_NE(model.error().message.find("model.onnx"), std::string::npos)
        << what << ": " << model.error().message;
  }
}

TEST_F(ModelTest, InputShapeThatDoesNotMatchTheMetadataIsRefused) {
  // Metadata that claims another size or color than the graph takes.
  for (const auto& edit : std::vector<std::function<void(json::Json&)>>{
           [](json::Json& m) { m["input"]["width"] = 48; },
           [](json::Json& m) { m["input"]["height"] = 128; },
           [](json::Json& m) {
             m["input"]["color"] = "rgb";
             m["input"]["mean"] = {0.5, 0.5, 0.5};
             m["input"]["std"] = {0.25, 0.25, 0.25};
           }}) {
    auto model = Model::load(copy_model(edit));
    ASSERT_FALSE(model);
    EXPECT_EQ(model.error().code, Errc::mismatch);
    EXPECT_NE(model.error().message.find("input shape mismatch"), std::string::npos)
        << model.error().message;
  }
  // And a graph edited to take another shape than the metadata says.
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(onnx_bytes()));
  auto* dims = proto.mutable_graph()
                   ->mutable_input(0)
                   ->mutable_type()
                   ->mutable_tensor_type()
                   ->mutable_shape();
  dims->mutable_dim(2)->set_dim_value(96);  // height
  const auto dir = copy_model();
  write(dir / "model.onnx", proto.SerializeAsString());
  auto model = Model::load(dir);
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().message.find("1x1x96x32"), std::string::npos) << model.error().message;
}

TEST_F(ModelTest, NamesThatDoNotMatchTheGraphAreRefused) {
  auto input = Model::load(copy_model([](json::Json& m) { m["input"]["name"] = "pixels"; }));
  ASSERT_FALSE(input);
  EXPECT_NE(input.error().message.find("\"image\""), std::string::npos) << input.error().message;
  auto score = Model::load(copy_model([](json::Json& m) { m["outputs"]["score"] = "logits"; }));
  ASSERT_FALSE(score);
  EXPECT_NE(score.error().message.find("logits"), std::string::npos);
  auto map = Model::load(copy_model([](json::Json& m) { m["outputs"]["anomaly_map"] = "heat"; }));
  ASSERT_FALSE(map);
  EXPECT_NE(map.error().message.find("heat"), std::string::npos);
}

TEST_F(ModelTest, GraphThatFailsTheOnnxCheckerIsRefused) {
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(onnx_bytes()));
  proto.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOperator");
  const auto dir = copy_model();
  write(dir / "model.onnx", proto.SerializeAsString());
  auto model = Model::load(dir);
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().message.find("ONNX checker"), std::string::npos) << model.error().message;
}

TEST_F(ModelTest, ModelThatLoadsButCannotScoreFailsItsWarmUp) {
  // The anomaly map (64x64 values) named as the score: loads, but is not one number.
  auto model = Model::load(copy_model([](json::Json& m) {
    m["outputs"]["score"] = "anomaly_map";
    m["outputs"].erase("anomaly_map");
  }));
  ASSERT_TRUE(model) << model.error().message;
  auto warm = (*model)->warm_up(1);
  ASSERT_FALSE(warm);
  EXPECT_NE(warm.error().message.find("warming up"), std::string::npos) << warm.error().message;
  EXPECT_NE(warm.error().message.find("1024 values"), std::string::npos) << warm.error().message;
}

TEST_F(ModelTest, UnknownBackendIsRefused) {
  LoadOptions options;
  options.backend = "tensorrt";
  auto model = Model::load(base_, options);
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, Errc::unsupported);
}

TEST_F(ModelTest, OversizedOnnxIsRefusedBeforeReading) {
  LoadOptions options;
  options.max_onnx_bytes = 100;
  auto model = Model::load(base_, options);
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, Errc::too_large);
}

}  // namespace
}  // namespace ef::model

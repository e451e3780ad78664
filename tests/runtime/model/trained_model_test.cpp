// The trained demo model (models/generated/ae-1, made by scripts/setup.d/50-model): it loads in
// OpenCV 4.6's dnn module and separates the synthetic camera's good and defective frames.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "runtime/camera/synthetic.hpp"
#include "runtime/model/model.hpp"

namespace ef::model {
namespace {

namespace fs = std::filesystem;

const fs::path kModelDir = fs::path(EF_SOURCE_DIR) / "models/generated/ae-1";

class TrainedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kModelDir / "model.json"))
        << "the demo model is missing: run scripts/setup (scripts/setup.d/50-model trains it)";
  }
};

TEST_F(TrainedModel, LoadsWarmsAndScoresTheDemoModel) {
  auto model = Model::load(kModelDir);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ((*model)->metadata().version, "ae-1");
  EXPECT_EQ((*model)->backend_name(), "opencv_dnn");
  ASSERT_TRUE((*model)->warm_up(2));
  camera::SyntheticRenderer renderer({});
  auto result = (*model)->infer(renderer.render(0, 0).image, true);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_GT(result->score, 0);
  EXPECT_EQ(result->anomaly_map.rows, 64);
  EXPECT_EQ(result->anomaly_map.cols, 64);
}

// The trained model must separate the synthetic camera's good frames from defective ones, on
// frames it never saw in training (training used indices from 1,000,000).
TEST_F(TrainedModel, TrainedModelScoresDefectiveFramesAboveGoodOnes) {
  auto model = Model::load(kModelDir);
  ASSERT_TRUE(model) << model.error().message;
  const double threshold = (*model)->metadata().threshold;
  camera::SyntheticOptions options;
  options.defect_rate = 0.5;
  options.drift_amplitude = 0.04;
  camera::SyntheticRenderer renderer(options);
  std::map<std::string, std::vector<double>> scores;
  for (std::uint64_t i = 0; i < 400; ++i) {
    auto frame = renderer.render(i, static_cast<double>(i) / 30);
    auto result = (*model)->infer(frame.image);
    ASSERT_TRUE(result) << result.error().message;
    scores[camera::defect_name(frame.defect)].push_back(result->score);
  }
  ASSERT_GT(scores["good"].size(), 100u);
  int false_rejects = 0;
  double good_max = 0;
  for (double s : scores["good"]) {
    false_rejects += s > threshold;
    good_max = std::max(good_max, s);
  }
  EXPECT_LE(false_rejects, 2) << "good frames above the threshold " << threshold;
  for (const char* kind : {"scratch", "spot", "missing_part"}) {
    const auto& bad = scores[kind];
    ASSERT_GT(bad.size(), 20u) << kind;
    int caught = 0;
    for (double s : bad)
      caught += s > threshold;
    EXPECT_GE(caught, static_cast<int>(bad.size() * 95 / 100))
        << kind << ": " << caught << " of " << bad.size() << " above " << threshold;
    std::vector<double> sorted = bad;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_GT(sorted[sorted.size() / 2], 1.5 * good_max) << kind << " median vs good max";
  }
}

}  // namespace
}  // namespace ef::model

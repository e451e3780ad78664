// The hot-swap acceptance test with the trained model (models/generated/ae-1, made by
// scripts/setup): a 30 fps synthetic camera, repeated swaps between two versions, no frame
// dropped, every result labelled with the model that scored it, and decisions that still match
// the camera's ground truth across the swaps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "runtime/inspection/pipeline.hpp"

namespace ef::inspection {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kModelDir = fs::path(EF_SOURCE_DIR) / "models/generated/ae-1";

TEST(TrainedHotSwap, RepeatedSwapsAt30FpsDropNothingAndLabelEveryFrame) {
  ASSERT_TRUE(fs::exists(kModelDir / "model.json")) << "run scripts/setup to train the model";
  const auto dir = fs::temp_directory_path() / ("ef-trained-swap-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "ae-1b");
  fs::copy_file(kModelDir / "model.onnx", dir / "ae-1b" / "model.onnx");
  auto meta = json::Json::parse(*read_file(kModelDir / "model.json", 1 << 20));
  meta["version"] = "ae-1b";
  std::ofstream(dir / "ae-1b" / "model.json") << meta.dump();
  const std::vector<fs::path> dirs = {kModelDir, dir / "ae-1b"};
  const std::vector<std::string> versions = {"ae-1", "ae-1b"};

  camera::SourceConfig config;
  config.fps = 30;
  config.synthetic.defect_rate = 0.2;
  metrics::Registry registry;
  auto model = model::Model::load(kModelDir);
  ASSERT_TRUE(model) << model.error().message;
  ASSERT_TRUE((*model)->warm_up(3));
  PipelineOptions options;
  options.expected_frame_size = {160, 120};
  auto pipeline =
      Pipeline::create(std::make_unique<camera::Camera>(std::move(*camera::make_source(config))),
                       std::move(*model), registry, options);
  ASSERT_TRUE(pipeline) << pipeline.error().message;
  std::mutex mutex;
  std::vector<FrameResult> results;
  (*pipeline)->set_observer([&](const FrameResult& r) {
    std::lock_guard lock(mutex);
    results.push_back(r);
  });
  (*pipeline)->start();

  std::vector<std::uint64_t> boundaries;
  for (int swap = 1; swap <= 8; ++swap) {
    std::this_thread::sleep_for(400ms);
    ASSERT_TRUE((*pipeline)->request_swap(dirs[swap % 2], versions[swap % 2]));
    SwapStatus status;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    do {
      std::this_thread::sleep_for(5ms);
      status = (*pipeline)->swap_status();
    } while (status.in_progress() && std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(status.state, SwapStatus::State::swapped) << status.error;
    boundaries.push_back(status.last_sequence_before);
  }
  std::this_thread::sleep_for(400ms);
  (*pipeline)->stop();

  std::lock_guard lock(mutex);
  const auto counters = (*pipeline)->counters();
  EXPECT_EQ(counters.dropped, 0u);
  EXPECT_EQ(counters.invalid, 0u);
  ASSERT_GE(results.size(), 90u);  // ~4 s at 30 fps
  int agree = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    ASSERT_EQ(r.sequence, i + 1) << "a gap: a frame was lost";
    std::size_t swaps_before = 0;
    while (swaps_before < boundaries.size() && r.sequence > boundaries[swaps_before])
      ++swaps_before;
    EXPECT_EQ(r.model_version, versions[swaps_before % 2]) << "frame " << r.sequence;
    agree += (r.truth == "good") == (r.decision == Decision::pass);
  }
  EXPECT_GE(agree, static_cast<int>(results.size()) * 95 / 100);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ef::inspection

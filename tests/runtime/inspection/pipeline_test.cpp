// The inspection pipeline with real threads, a real camera source and real ONNX models (tiny
// ones built by the test; trained_pipeline_test.cpp runs the trained model).
#include "runtime/inspection/pipeline.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "tiny_model.hpp"

namespace ef::inspection {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-pipeline-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    pipeline_.reset();
    fs::remove_all(dir_);
  }

  fs::path tiny(const std::string& version, double threshold = 0.5) {
    const auto dir = dir_ / version;
    model::testing::write_tiny_model(dir, {.version = version, .threshold = threshold});
    return dir;
  }

  std::unique_ptr<camera::Camera> synthetic(double fps, std::uint64_t seed = 1) {
    camera::SourceConfig config;
    config.fps = fps;
    config.synthetic.seed = seed;
    return std::make_unique<camera::Camera>(std::move(*camera::make_source(config)));
  }

  std::unique_ptr<camera::Camera> folder(const fs::path& path) {
    camera::SourceConfig config;
    config.type = camera::SourceConfig::Type::folder;
    config.location = path.string();
    config.fps = 0;
    return std::make_unique<camera::Camera>(std::move(*camera::make_source(config)));
  }

  void start(std::unique_ptr<camera::Camera> camera, const fs::path& model_dir,
             PipelineOptions options = {}) {
    auto model = model::Model::load(model_dir);
    ASSERT_TRUE(model) << model.error().message;
    ASSERT_TRUE((*model)->warm_up(1));
    options.warm_up_runs = 1;
    auto pipeline = Pipeline::create(std::move(camera), std::move(*model), registry_, options);
    ASSERT_TRUE(pipeline) << pipeline.error().message;
    pipeline_ = std::move(*pipeline);
    pipeline_->set_observer([this](const FrameResult& r) {
      if (observer_delay_.count() > 0) std::this_thread::sleep_for(observer_delay_);
      std::lock_guard lock(mutex_);
      results_.push_back(r);
    });
    pipeline_->start();
  }

  std::vector<FrameResult> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }

  bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return condition();
  }

  SwapStatus wait_swap_done() {
    SwapStatus status;
    EXPECT_TRUE(wait_for([&] {
      status = pipeline_->swap_status();
      return !status.in_progress();
    }));
    return status;
  }

  fs::path dir_;
  metrics::Registry registry_;
  std::unique_ptr<Pipeline> pipeline_;
  std::mutex mutex_;
  std::vector<FrameResult> results_;
  std::chrono::milliseconds observer_delay_{0};  // a slow consumer on the inference thread
};

TEST_F(PipelineTest, ScoresEveryFrameOfAFolderAndDecidesByTheThreshold) {
  const auto frames = dir_ / "frames";
  fs::create_directories(frames);
  // The tiny model's score is the mean brightness in [0, 1]; its threshold 0.5.
  for (int i = 0; i < 10; ++i) {
    const int level = i < 5 ? 60 : 200;
    cv::imwrite((frames / ("f" + std::to_string(i) + ".png")).string(),
                cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(level)));
  }
  start(folder(frames), tiny("tiny-1"));
  ASSERT_TRUE(wait_for([&] { return pipeline_->finished(); }));
  const auto got = results();
  ASSERT_EQ(got.size(), 10u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].sequence, i + 1);
    EXPECT_EQ(got[i].model_version, "tiny-1");
    EXPECT_EQ(got[i].origin, "f" + std::to_string(i) + ".png");
    EXPECT_EQ(got[i].decision, i < 5 ? Decision::pass : Decision::reject) << i;
    EXPECT_GT(got[i].latency_seconds, 0);
  }
  const auto counters = pipeline_->counters();
  EXPECT_EQ(counters.processed, 10u);
  EXPECT_EQ(counters.dropped, 0u);
  const auto health = pipeline_->health();
  EXPECT_EQ(health.frames_processed, 10u);
  EXPECT_TRUE(health.last_inference.has_value());
}

TEST_F(PipelineTest, WrongSizeAndUnreadableFramesAreRefusedAndTheRestStillScored) {
  const auto frames = dir_ / "frames";
  fs::create_directories(frames);
  cv::imwrite((frames / "a.png").string(), cv::Mat(120, 160, CV_8UC3, cv::Scalar::all(90)));
  cv::imwrite((frames / "b.png").string(), cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(90)));
  std::ofstream(frames / "c.png") << "garbage";
  cv::imwrite((frames / "d.png").string(), cv::Mat(120, 160, CV_8UC3, cv::Scalar::all(90)));
  PipelineOptions options;
  options.expected_frame_size = {160, 120};
  start(folder(frames), tiny("tiny-1"), options);
  ASSERT_TRUE(wait_for([&] { return pipeline_->finished(); }));
  const auto got = results();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].origin, "a.png");
  EXPECT_EQ(got[1].origin, "d.png");
  EXPECT_EQ(pipeline_->counters().invalid, 2u);
  const auto text = registry_.expose();
  EXPECT_NE(text.find("edgefleet_runtime_frames_invalid_total{reason=\"wrong_size\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("edgefleet_runtime_frames_invalid_total{reason=\"unreadable\"} 1"),
            std::string::npos);
  // The last error names the frame and what was wrong with it.
  EXPECT_NE(pipeline_->health().last_frame_error.find("c.png"), std::string::npos);
}

TEST_F(PipelineTest, WrongSizeErrorSaysWhatWasExpected) {
  const auto frames = dir_ / "frames";
  fs::create_directories(frames);
  cv::imwrite((frames / "big.png").string(), cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(90)));
  PipelineOptions options;
  options.expected_frame_size = {160, 120};
  start(folder(frames), tiny("tiny-1"), options);
  ASSERT_TRUE(wait_for([&] { return pipeline_->finished(); }));
  const auto error = pipeline_->health().last_frame_error;
  EXPECT_NE(error.find("640x480"), std::string::npos) << error;
  EXPECT_NE(error.find("160x120"), std::string::npos) << error;
}

// The issue's acceptance test: at 30 fps, repeated swaps drop no frame and every result names
// the model that produced it.
TEST_F(PipelineTest, HotSwapsAt30FpsDropNoFrameAndLabelEveryResult) {
  const std::vector<std::string> versions = {"tiny-1", "tiny-2", "tiny-3", "tiny-4", "tiny-5"};
  for (const auto& v : versions)
    tiny(v);
  start(synthetic(30), dir_ / versions[0]);
  ASSERT_TRUE(wait_for([&] { return results().size() >= 10; }));
  std::vector<SwapStatus> swaps;
  for (std::size_t i = 1; i < versions.size(); ++i) {
    auto id = pipeline_->request_swap(dir_ / versions[i], versions[i]);
    ASSERT_TRUE(id) << id.error().message;
    const auto done = wait_swap_done();
    ASSERT_EQ(done.state, SwapStatus::State::swapped) << done.error;
    EXPECT_EQ(done.previous_version, versions[i - 1]);
    EXPECT_EQ(done.new_version, versions[i]);
    swaps.push_back(done);
    std::this_thread::sleep_for(300ms);  // ~9 frames per model
  }
  const std::size_t before_stop = results().size();
  ASSERT_TRUE(wait_for([&] { return results().size() >= before_stop + 5; }));
  pipeline_->stop();

  const auto got = results();
  const auto counters = pipeline_->counters();
  EXPECT_EQ(counters.dropped, 0u);
  EXPECT_EQ(counters.invalid, 0u);
  // Every frame the camera produced was scored, in order, with no gap.
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i].sequence, i + 1);
  EXPECT_GE(counters.captured, got.size());
  EXPECT_LE(counters.captured - got.size(), 4u);  // at most the queue left at stop
  // Each frame carries the version that was current for it.
  for (const auto& r : got) {
    std::size_t model = 0;
    while (model < swaps.size() && r.sequence > swaps[model].last_sequence_before)
      ++model;
    EXPECT_EQ(r.model_version, versions[model]) << "frame " << r.sequence;
  }
  // And every model scored some frames.
  for (const auto& v : versions) {
    EXPECT_TRUE(std::any_of(got.begin(), got.end(), [&](const FrameResult& r) {
      return r.model_version == v;
    })) << v;
  }
  const auto text = registry_.expose();
  EXPECT_NE(text.find("edgefleet_runtime_model_swaps_total{result=\"swapped\"} 4"),
            std::string::npos);
  EXPECT_NE(text.find("edgefleet_runtime_frames_dropped_total{reason=\"queue_full\"} 0"),
            std::string::npos);
  EXPECT_NE(
      text.find("edgefleet_runtime_model_info{model_version=\"tiny-5\",model_name=\"tiny-test-"
                "model\",release=\"\",backend=\"opencv_dnn\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("edgefleet_runtime_model_info{model_version=\"tiny-1\""), std::string::npos);
}

TEST_F(PipelineTest, AModelThatFailsToLoadOrWarmLeavesTheOldOneRunning) {
  start(synthetic(60), tiny("tiny-1"));
  ASSERT_TRUE(wait_for([&] { return results().size() >= 3; }));

  // Corrupt ONNX.
  const auto corrupt = dir_ / "corrupt";
  model::testing::write_tiny_model(corrupt, {.version = "tiny-bad"});
  std::ofstream(corrupt / "model.onnx", std::ios::trunc) << "not onnx";
  ASSERT_TRUE(pipeline_->request_swap(corrupt, ""));
  auto status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("not a valid ONNX file"), std::string::npos) << status.error;

  // Loads, but its warm-up fails (the score output is not one value).
  const auto unwarmable = dir_ / "unwarmable";
  model::testing::write_tiny_model(unwarmable, {.version = "tiny-map-as-score"});
  {
    auto meta = json::Json::parse(*read_file(unwarmable / "model.json", 1 << 16));
    meta["outputs"] = {{"score", "anomaly_map"}};
    std::ofstream(unwarmable / "model.json", std::ios::trunc) << meta.dump();
  }
  ASSERT_TRUE(pipeline_->request_swap(unwarmable, ""));
  status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("warming up"), std::string::npos) << status.error;

  // An input shape that does not match the metadata, and a directory without model.json.
  const auto reshaped = dir_ / "reshaped";
  model::testing::write_tiny_model(reshaped, {.version = "tiny-shape"});
  {
    auto meta = json::Json::parse(*read_file(reshaped / "model.json", 1 << 16));
    meta["input"]["height"] = 48;
    std::ofstream(reshaped / "model.json", std::ios::trunc) << meta.dump();
  }
  ASSERT_TRUE(pipeline_->request_swap(reshaped, ""));
  status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("input shape mismatch"), std::string::npos) << status.error;
  const auto no_metadata = dir_ / "no-metadata";
  model::testing::write_tiny_model(no_metadata, {.version = "tiny-no-meta"});
  fs::remove(no_metadata / "model.json");
  ASSERT_TRUE(pipeline_->request_swap(no_metadata, ""));
  status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("model.json is missing"), std::string::npos) << status.error;

  // Missing directory, and a version other than the one asked for.
  ASSERT_TRUE(pipeline_->request_swap(dir_ / "missing", ""));
  status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("model.json"), std::string::npos) << status.error;
  ASSERT_TRUE(pipeline_->request_swap(tiny("tiny-2"), "tiny-3"));
  status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("not the requested tiny-3"), std::string::npos) << status.error;

  // Still inferring with the old model.
  const std::size_t seen = results().size();
  ASSERT_TRUE(wait_for([&] { return results().size() >= seen + 5; }));
  EXPECT_EQ(results().back().model_version, "tiny-1");
  EXPECT_TRUE(pipeline_->health().healthy);
  EXPECT_EQ(pipeline_->health().model_version, "tiny-1");
  EXPECT_NE(registry_.expose().find("edgefleet_runtime_model_swaps_total{result=\"failed\"} 6"),
            std::string::npos);
}

TEST_F(PipelineTest, OneSwapAtATime) {
  start(synthetic(30), tiny("tiny-1"));
  tiny("tiny-2");
  ASSERT_TRUE(pipeline_->request_swap(dir_ / "tiny-2", ""));
  auto second = pipeline_->request_swap(dir_ / "tiny-2", "");
  if (!second) {
    EXPECT_EQ(second.error().code, Errc::refused);  // the first was still loading
  }
  EXPECT_EQ(wait_swap_done().state, SwapStatus::State::swapped);
}

TEST_F(PipelineTest, RefusesSwapsOnceStopped) {
  start(synthetic(30), tiny("tiny-1"));
  pipeline_->stop();
  auto refused = pipeline_->request_swap(tiny("tiny-2"), "");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::closed);
}

TEST_F(PipelineTest, SwapCompletesEvenWhenNoFramesArrive) {
  camera::SourceConfig config;
  config.type = camera::SourceConfig::Type::folder;
  config.location = (dir_ / "never").string();  // the camera never opens
  start(std::make_unique<camera::Camera>(std::move(*camera::make_source(config)),
                                         Backoff::Policy{10ms, 50ms}),
        tiny("tiny-1"));
  ASSERT_TRUE(pipeline_->request_swap(tiny("tiny-2"), "tiny-2"));
  const auto status = wait_swap_done();
  EXPECT_EQ(status.state, SwapStatus::State::swapped);
  EXPECT_EQ(pipeline_->health().model_version, "tiny-2");
}

TEST_F(PipelineTest, HealthFollowsTheCamera) {
  camera::SourceConfig config;
  config.type = camera::SourceConfig::Type::folder;
  config.location = (dir_ / "later").string();
  PipelineOptions options;
  options.healthy_within = 300ms;
  start(std::make_unique<camera::Camera>(std::move(*camera::make_source(config)),
                                         Backoff::Policy{10ms, 20ms}),
        tiny("tiny-1"), options);
  ASSERT_TRUE(wait_for([&] { return pipeline_->health().status == "camera_down"; }))
      << pipeline_->health().status;
  auto health = pipeline_->health();
  EXPECT_FALSE(health.healthy);
  EXPECT_NE(health.camera.last_error.find("does not exist"), std::string::npos);
  EXPECT_NE(registry_.expose().find("edgefleet_runtime_healthy 0"), std::string::npos);

  // The folder appears, complete (a camera plugged in): the pipeline starts inferring by itself.
  fs::create_directories(dir_ / "staging");
  for (int i = 0; i < 3; ++i) {
    cv::imwrite((dir_ / "staging" / ("f" + std::to_string(i) + ".png")).string(),
                cv::Mat(32, 32, CV_8UC3, cv::Scalar::all(10)));
  }
  fs::rename(dir_ / "staging", dir_ / "later");
  ASSERT_TRUE(wait_for([&] { return pipeline_->health().healthy; }));
  EXPECT_EQ(pipeline_->health().status, "inferring");
  // Without new frames it stops being healthy once healthy_within passes.
  ASSERT_TRUE(wait_for([&] { return !pipeline_->health().healthy; }));
  EXPECT_EQ(pipeline_->health().status, "finished");
  pipeline_->stop();
  EXPECT_EQ(pipeline_->health().status, "stopped");
}

TEST_F(PipelineTest, DropsWhenInferenceFallsBehindAreCountedAndVisibleAsGaps) {
  PipelineOptions options;
  options.queue_capacity = 2;
  // A 500 fps live camera and a consumer that needs 5 ms per frame: most frames are lost, as
  // queue overflow or overwritten in the camera.
  observer_delay_ = 5ms;
  start(synthetic(500), tiny("tiny-1"), options);
  ASSERT_TRUE(wait_for([&] { return results().size() >= 100; }));
  pipeline_->stop();
  const auto got = results();
  const auto counters = pipeline_->counters();
  std::uint64_t gaps = got.front().sequence - 1;
  for (std::size_t i = 1; i < got.size(); ++i)
    gaps += got[i].sequence - got[i - 1].sequence - 1;
  // Every frame is accounted for: scored, dropped, refused, or still queued at stop.
  EXPECT_EQ(counters.sequences,
            counters.processed + counters.dropped + counters.invalid + counters.queued);
  EXPECT_EQ(counters.processed, got.size());
  // The holes in the results are drops; the rest of the drops came after the last result.
  EXPECT_LE(gaps, counters.dropped);
  EXPECT_EQ(counters.dropped - gaps, counters.sequences - got.back().sequence - counters.queued);
  EXPECT_GT(counters.dropped, 50u);
}

TEST_F(PipelineTest, RecordedSourcesWaitForTheModelInsteadOfDropping) {
  PipelineOptions options;
  options.queue_capacity = 1;
  observer_delay_ = 1ms;
  start(synthetic(0), tiny("tiny-1"), options);  // unpaced: as fast as the model takes them
  ASSERT_TRUE(wait_for([&] { return results().size() >= 100; }));
  pipeline_->stop();
  EXPECT_EQ(pipeline_->counters().dropped, 0u);
  const auto got = results();
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i].sequence, i + 1);
}

// Overrides are recorded on the kept results (validation and metrics: operator_actions_test).
TEST_F(PipelineTest, KeepsRecentResultsForOverrides) {
  PipelineOptions options;
  options.recent_results = 8;
  start(synthetic(100), tiny("tiny-1"), options);
  ASSERT_TRUE(wait_for([&] { return results().size() >= 20; }));
  const auto kept = pipeline_->results().after(0, 100);
  ASSERT_EQ(kept.size(), 8u);
  EXPECT_GT(kept.front().sequence, 1u);  // the oldest were forgotten
  const auto frame = kept[2];
  const Decision other = frame.decision == Decision::pass ? Decision::reject : Decision::pass;
  auto done = pipeline_->results().set_override(frame.sequence, other, "ana");
  ASSERT_TRUE(done) << done.error().message;
  const auto listed = pipeline_->results().after(frame.sequence - 1, 1);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].override_decision, other);
  EXPECT_EQ(listed[0].override_operator, "ana");
}

TEST_F(PipelineTest, MetricsCoverTheIssuesListAndPassPromtool) {
  start(synthetic(100), tiny("tiny-1"));
  ASSERT_TRUE(wait_for([&] { return results().size() >= 150; }));  // > 1 s of frames
  std::this_thread::sleep_for(1100ms);
  const auto text = registry_.expose();
  for (const char* name : {
           "edgefleet_runtime_inference_duration_seconds_bucket{model_version=\"tiny-1\",le=",
           "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"tiny-1\",quantile="
           "\"0.5\"}",
           "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"tiny-1\",quantile="
           "\"0.95\"}",
           "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"tiny-1\",quantile="
           "\"0.99\"}",
           "edgefleet_runtime_frames_per_second ",
           "edgefleet_runtime_frames_processed_total{model_version=\"tiny-1\"}",
           "edgefleet_runtime_frames_dropped_total{reason=\"queue_full\"}",
           "edgefleet_runtime_camera_reconnects_total 0",
           "edgefleet_runtime_camera_brightness_mean ",
           "edgefleet_runtime_camera_brightness_stddev ",
           "edgefleet_runtime_anomaly_score_ratio_bucket{model_version=\"tiny-1\",le=\"1\"}",
           "edgefleet_runtime_anomaly_score_ratio_recent{model_version=\"tiny-1\",quantile=\"0."
           "95\"}",
           "edgefleet_runtime_anomaly_score_ratio_recent_mean{model_version=\"tiny-1\"}",
           "edgefleet_runtime_decisions_total{model_version=\"tiny-1\",decision=\"pass\"}",
           "edgefleet_runtime_uptime_seconds ",
           "edgefleet_runtime_last_inference_timestamp_seconds ",
           "edgefleet_runtime_healthy 1",
           "edgefleet_runtime_model_info{model_version=\"tiny-1\"",
       }) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
  // frames per second is measured, not configured: near the camera's 100 fps.
  const auto at = text.find("\nedgefleet_runtime_frames_per_second ");
  ASSERT_NE(at, std::string::npos);
  const double fps = std::stod(text.substr(at + 37));
  EXPECT_GT(fps, 50);
  EXPECT_LT(fps, 110);

  const auto path = dir_ / "metrics.prom";
  std::ofstream(path) << text;
  EXPECT_EQ(std::system(("promtool check metrics < " + path.string() + " >/dev/null").c_str()), 0);
}

}  // namespace
}  // namespace ef::inspection

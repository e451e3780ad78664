// Camera sources: synthetic, video file, image folder; reconnection with back-off; a camera that
// never opens; the strict "camera" configuration.
#include "runtime/camera/camera.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <thread>

#include "runtime/camera/source.hpp"
#include "runtime/camera/synthetic.hpp"
#include "test_http_server.hpp"

namespace ef::camera {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class CameraTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-camera-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

SourceConfig synthetic_config(double fps = 0) {
  SourceConfig config;
  config.type = SourceConfig::Type::synthetic;
  config.fps = fps;
  return config;
}

TEST(Synthetic, FramesAreDeterministicPerSeedAndIndex) {
  SyntheticOptions options;
  options.seed = 3;
  SyntheticRenderer a(options), b(options);
  options.seed = 4;
  SyntheticRenderer other(options);
  for (std::uint64_t i : {0ull, 1ull, 999ull}) {
    const auto fa = a.render(i, 0), fb = b.render(i, 0);
    EXPECT_EQ(cv::norm(fa.image, fb.image, cv::NORM_INF), 0) << i;
    EXPECT_EQ(fa.defect, fb.defect);
    EXPECT_GT(cv::norm(fa.image, other.render(i, 0).image, cv::NORM_L1), 0) << i;
  }
  EXPECT_GT(cv::norm(a.render(0, 0).image, a.render(1, 0).image, cv::NORM_L1), 0);
  const auto frame = a.render(5, 0);
  EXPECT_EQ(frame.image.type(), CV_8UC3);
  EXPECT_EQ(frame.image.cols, 160);
  EXPECT_EQ(frame.image.rows, 120);
}

TEST(Synthetic, DefectRateAndKindsFollowTheOptions) {
  SyntheticOptions options;
  options.defect_rate = 0.2;
  SyntheticRenderer renderer(options);
  std::map<Defect, int> counts;
  for (std::uint64_t i = 0; i < 2000; ++i)
    counts[renderer.render(i, 0).defect]++;
  const int defective = 2000 - counts[Defect::none];
  EXPECT_NEAR(defective, 400, 60);
  for (Defect d : {Defect::scratch, Defect::spot, Defect::missing_part}) {
    EXPECT_NEAR(counts[d], 133, 45) << defect_name(d);
  }
  options.defect_rate = 0;
  SyntheticRenderer clean(options);
  for (std::uint64_t i = 0; i < 200; ++i)
    EXPECT_EQ(clean.render(i, 0).defect, Defect::none);
}

TEST(Synthetic, ExposureDriftsWithTheConfiguredAmplitudeAndPeriod) {
  SyntheticOptions options;
  options.drift_amplitude = 0.2;
  options.drift_period_s = 40;
  options.defect_rate = 0;
  SyntheticRenderer renderer(options);
  const double base = cv::mean(renderer.render(0, 0).image)[1];
  const double peak = cv::mean(renderer.render(0, 10).image)[1];    // quarter period: +20 %
  const double trough = cv::mean(renderer.render(0, 30).image)[1];  // three quarters: -20 %
  EXPECT_NEAR(peak / base, 1.2, 0.03);
  EXPECT_NEAR(trough / base, 0.8, 0.03);
  EXPECT_NEAR(renderer.render(0, 10).exposure, 1.2, 1e-9);
}

TEST(Synthetic, SourcePacesAtItsFrameRate) {
  auto config = synthetic_config(50);
  auto source = make_source(config);
  ASSERT_TRUE(source);
  ASSERT_TRUE((*source)->open());
  const auto start = Clock::now();
  std::uint64_t missed = 0;
  for (int i = 0; i < 25; ++i) {
    auto frame = (*source)->read();
    ASSERT_TRUE(frame);
    missed += frame->missed_before;
    EXPECT_EQ(frame->truth.empty(), false);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GE(elapsed, 0.47);  // 25 frames at 50 fps: the 25th is due at 0.48 s
  EXPECT_LT(elapsed, 2.0);
  EXPECT_EQ(missed, 0u);
}

TEST(Synthetic, ALateReaderMissesFramesLikeALiveCamera) {
  auto source = make_source(synthetic_config(100));
  ASSERT_TRUE(source);
  ASSERT_TRUE((*source)->open());
  ASSERT_TRUE((*source)->read());
  std::this_thread::sleep_for(300ms);  // about 30 frame slots pass unread
  // The camera kept the last 4 frames; the older ones were overwritten.
  auto frame = (*source)->read();
  ASSERT_TRUE(frame);
  EXPECT_GE(frame->missed_before, 20u);
  EXPECT_LE(frame->missed_before, 45u);
  EXPECT_EQ(frame->origin, "frame " + std::to_string(1 + frame->missed_before));
  // The buffered frames come at once, without waiting for their slots.
  const auto start = Clock::now();
  for (int i = 0; i < 3; ++i) {
    auto buffered = (*source)->read();
    ASSERT_TRUE(buffered);
    EXPECT_EQ(buffered->missed_before, 0u);
  }
  EXPECT_LT(Clock::now() - start, 20ms);
}

TEST(Synthetic, AShortHiccupLosesNothing) {
  auto source = make_source(synthetic_config(100));
  ASSERT_TRUE(source);
  ASSERT_TRUE((*source)->open());
  ASSERT_TRUE((*source)->read());
  std::this_thread::sleep_for(25ms);  // under the 4 buffered frames (40 ms)
  std::uint64_t missed = 0;
  for (int i = 0; i < 5; ++i)
    missed += (*source)->read()->missed_before;
  EXPECT_EQ(missed, 0u);
}

TEST(Synthetic, ScriptedDisconnectFailsTheReadAndRefusesToReopenForItsDuration) {
  auto config = synthetic_config(0);
  config.synthetic.disconnects = {{3, 300ms}};
  auto source = make_source(config);
  ASSERT_TRUE(source);
  ASSERT_TRUE((*source)->open());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE((*source)->read());
  auto lost = (*source)->read();
  ASSERT_FALSE(lost);
  EXPECT_NE(lost.error().message.find("disconnected"), std::string::npos);
  EXPECT_FALSE((*source)->finished());
  auto early = (*source)->open();
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("scripted"), std::string::npos);
  std::this_thread::sleep_for(350ms);
  ASSERT_TRUE((*source)->open());
  auto frame = (*source)->read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->origin, "frame 3");  // the stream resumes where it broke off
}

TEST(Camera, ReconnectsWithBackoffAndCountsIt) {
  auto config = synthetic_config(0);
  config.synthetic.disconnects = {{5, 250ms}, {10, 0ms}};
  auto source = make_source(config);
  ASSERT_TRUE(source);
  Camera camera(std::move(*source), Backoff::Policy{20ms, 100ms});
  std::vector<std::string> origins;
  const auto start = Clock::now();
  for (int i = 0; i < 15; ++i) {
    auto frame = camera.next();
    ASSERT_TRUE(frame);
    origins.push_back(frame->origin);
  }
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_EQ(origins[5], "frame 5");
  EXPECT_EQ(origins[14], "frame 14");
  const auto status = camera.status();
  EXPECT_TRUE(status.connected);
  EXPECT_EQ(status.reconnects, 2u);
  EXPECT_GE(status.failed_opens, 1u);
  EXPECT_NE(status.last_error.find("disconnected"), std::string::npos) << status.last_error;
}

TEST_F(CameraTest, CameraThatNeverOpensKeepsRetryingUntilStopped) {
  SourceConfig config;
  config.type = SourceConfig::Type::v4l2;
  config.location = (dir_ / "video99").string();  // no such device
  auto source = make_source(config);
  ASSERT_TRUE(source);
  Camera camera(std::move(*source), Backoff::Policy{10ms, 40ms});
  std::optional<Frame> got;
  std::thread capture([&] { got = camera.next(); });
  std::this_thread::sleep_for(300ms);
  const auto status = camera.status();
  EXPECT_FALSE(status.connected);
  EXPECT_GE(status.failed_opens, 4u);  // back-off caps at 40 ms
  EXPECT_NE(status.last_error.find("could not be opened"), std::string::npos) << status.last_error;
  const auto stop_at = Clock::now();
  camera.stop();
  capture.join();
  EXPECT_LT(Clock::now() - stop_at, 200ms);  // stop() wakes the back-off wait
  EXPECT_FALSE(got);
}

TEST_F(CameraTest, ImageFolderPlaysImagesInNameOrderAndReportsUnreadableOnes) {
  SyntheticRenderer renderer({});
  for (int i : {2, 0, 1}) {
    cv::imwrite((dir_ / ("img_" + std::to_string(i) + ".png")).string(),
                renderer.render(i, 0).image);
  }
  std::ofstream(dir_ / "img_3.png") << "not a png";
  std::ofstream(dir_ / "notes.txt") << "ignored";
  SourceConfig config;
  config.type = SourceConfig::Type::folder;
  config.location = dir_.string();
  config.fps = 0;
  auto source = make_source(config);
  ASSERT_TRUE(source);
  Camera camera(std::move(*source));
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    auto frame = camera.next();
    ASSERT_TRUE(frame);
    names.push_back(frame->origin);
    EXPECT_EQ(frame->image.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(frame->image, renderer.render(i, 0).image, cv::NORM_INF), 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"img_0.png", "img_1.png", "img_2.png"}));
  auto broken = camera.next();
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->origin, "img_3.png");
  EXPECT_TRUE(broken->image.empty());  // the pipeline reports it and goes on
  EXPECT_FALSE(camera.next());         // the folder is finished
  EXPECT_TRUE(camera.status().finished);
}

TEST_F(CameraTest, ImageFolderLoopsWhenAsked) {
  cv::imwrite((dir_ / "a.png").string(), cv::Mat(40, 40, CV_8UC1, cv::Scalar(7)));
  SourceConfig config;
  config.type = SourceConfig::Type::folder;
  config.location = dir_.string();
  config.fps = 0;
  config.loop = true;
  auto source = make_source(config);
  ASSERT_TRUE(source);
  Camera camera(std::move(*source));
  for (int i = 0; i < 5; ++i) {
    auto frame = camera.next();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->image.type(), CV_8UC3);  // grey PNGs come out as BGR too
  }
}

TEST_F(CameraTest, EmptyOrMissingFolderIsAClearOpenError) {
  SourceConfig config;
  config.type = SourceConfig::Type::folder;
  config.location = dir_.string();
  auto empty = make_source(config);
  ASSERT_TRUE(empty);
  auto opened = (*empty)->open();
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("no images"), std::string::npos);
  config.location = (dir_ / "missing").string();
  auto missing = make_source(config);
  ASSERT_TRUE(missing);
  opened = (*missing)->open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::not_found);
}

TEST_F(CameraTest, VideoFilePlaysItsFramesThenFinishesOrLoops) {
  const auto path = dir_ / "line.avi";
  SyntheticRenderer renderer({});
  {
    cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30,
                           cv::Size(160, 120));
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < 12; ++i)
      writer.write(renderer.render(i, 0).image);
  }
  SourceConfig config;
  config.type = SourceConfig::Type::file;
  config.location = path.string();
  config.fps = 0;
  auto source = make_source(config);
  ASSERT_TRUE(source);
  Camera camera(std::move(*source));
  for (int i = 0; i < 12; ++i) {
    auto frame = camera.next();
    ASSERT_TRUE(frame) << i;
    ASSERT_EQ(frame->image.size(), cv::Size(160, 120));
    // MJPEG is lossy: close to what was written, far from another frame.
    const double own = cv::norm(frame->image, renderer.render(i, 0).image, cv::NORM_L1);
    const double next = cv::norm(frame->image, renderer.render(i + 1, 0).image, cv::NORM_L1);
    EXPECT_LT(own, next) << i;
  }
  EXPECT_FALSE(camera.next());
  EXPECT_TRUE(camera.status().finished);
  EXPECT_NE(camera.status().last_error.find("end of the video"), std::string::npos);

  config.loop = true;
  auto looping = make_source(config);
  ASSERT_TRUE(looping);
  Camera again(std::move(*looping));
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(again.next()) << i;
}

TEST_F(CameraTest, CorruptOrMissingVideoFileNeverOpens) {
  SourceConfig config;
  config.type = SourceConfig::Type::file;
  config.location = (dir_ / "missing.avi").string();
  auto missing = make_source(config);
  ASSERT_TRUE(missing);
  auto opened = (*missing)->open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::not_found);
  std::ofstream(dir_ / "junk.avi") << std::string(5000, 'x');
  config.location = (dir_ / "junk.avi").string();
  auto junk = make_source(config);
  ASSERT_TRUE(junk);
  opened = (*junk)->open();
  if (opened) {
    // Some demuxers accept the header and fail on the first frame instead: also a clean error.
    auto frame = (*junk)->read();
    EXPECT_FALSE(frame);
  } else {
    EXPECT_NE(opened.error().message.find("junk.avi"), std::string::npos);
  }
}

// An HTTP stream through OpenCV's FFmpeg backend, from a real (test) HTTP server on loopback.
TEST_F(CameraTest, HttpStreamPlaysAndReconnectsWhenTheStreamEnds) {
  const auto path = dir_ / "line.avi";
  SyntheticRenderer renderer({});
  {
    cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30,
                           cv::Size(160, 120));
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < 10; ++i)
      writer.write(renderer.render(i, 0).image);
  }
  ef::testing::TestHttpServer server;
  server.serve_dir("/video/", dir_);
  SourceConfig config;
  config.type = SourceConfig::Type::stream;
  config.location = server.url("/video/line.avi");
  config.io_timeout = 3000ms;
  auto source = make_source(config);
  ASSERT_TRUE(source);
  EXPECT_TRUE((*source)->live());
  Camera camera(std::move(*source), Backoff::Policy{20ms, 100ms});
  // A stream does not "finish": when it ends the camera reconnects and it plays again.
  for (int i = 0; i < 25; ++i) {
    auto frame = camera.next();
    ASSERT_TRUE(frame) << i << ": " << camera.status().last_error;
    ASSERT_EQ(frame->image.size(), cv::Size(160, 120));
    const int index = i % 10;
    EXPECT_LT(cv::norm(frame->image, renderer.render(index, 0).image, cv::NORM_L1),
              cv::norm(frame->image, renderer.render(index + 1, 0).image, cv::NORM_L1))
        << i;
  }
  EXPECT_EQ(camera.status().reconnects, 2u);
  EXPECT_FALSE(camera.status().finished);
}

TEST_F(CameraTest, StreamThatServesGarbageOrNothingNeverOpens) {
  ef::testing::TestHttpServer server;
  server.route("/garbage", [](const ef::testing::Request&) {
    return ef::testing::Reply{.status = 200, .body = std::string(4096, 'x')};
  });
  for (const std::string& url : {server.url("/garbage"), server.url("/missing.avi")}) {
    SourceConfig config;
    config.type = SourceConfig::Type::stream;
    config.location = url;
    config.io_timeout = 2000ms;
    auto source = make_source(config);
    ASSERT_TRUE(source);
    auto opened = (*source)->open();
    if (opened) {
      EXPECT_FALSE((*source)->read()) << url;
    } else {
      EXPECT_NE(opened.error().message.find(url), std::string::npos) << opened.error().message;
    }
  }
}

json::Json parse(const std::string& text) {
  return json::Json::parse(text);
}

TEST(CameraConfig, ParsesEverySourceType) {
  auto synthetic = parse_source_config(parse(R"({"type": "synthetic", "fps": 25, "width": 128,
      "height": 96, "synthetic": {"seed": 9, "defect_rate": 0.1, "drift_amplitude": 0.05,
      "drift_period_s": 60, "noise_sigma": 1.5, "disconnects": [{"at_frame": 100,
      "duration_ms": 2000}]}})"));
  ASSERT_TRUE(synthetic) << synthetic.error().message;
  EXPECT_EQ(synthetic->synthetic.seed, 9u);
  EXPECT_EQ(synthetic->synthetic.width, 128);
  EXPECT_EQ(synthetic->synthetic.disconnects.size(), 1u);
  EXPECT_EQ(synthetic->synthetic.disconnects[0].duration, 2000ms);
  EXPECT_DOUBLE_EQ(synthetic->fps, 25);
  for (const char* text :
       {R"({"type": "v4l2", "location": "/dev/video0", "width": 640, "height": 480})",
        R"({"type": "stream", "location": "rtsp://10.0.0.5/line1", "io_timeout_ms": 3000})",
        R"({"type": "file", "location": "/data/line.mp4", "loop": true})",
        R"({"type": "folder", "location": "/data/frames", "fps": 5})"}) {
    auto config = parse_source_config(parse(text));
    EXPECT_TRUE(config) << text << ": " << config.error().message;
  }
}

TEST(CameraConfig, RefusesBadConfigurationsWithTheFieldName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type": "webcam"})", "camera.type"},
      {R"({"fps": 30})", "camera.type"},
      {R"({"type": "synthetic", "fsp": 30})", "camera.fsp"},
      {R"({"type": "synthetic", "fps": -1})", "camera.fps"},
      {R"({"type": "synthetic", "fps": "30"})", "camera.fps"},
      {R"({"type": "synthetic", "width": 10})", "camera.width"},
      {R"({"type": "synthetic", "width": 99999})", "camera.width"},
      {R"({"type": "synthetic", "synthetic": {"defect_rate": 2}})", "camera.synthetic.defect_rate"},
      {R"({"type": "synthetic", "synthetic": {"seed": -1}})", "camera.synthetic.seed"},
      {R"({"type": "synthetic", "synthetic": {"disconnects": [{"duration_ms": 5}]}})",
       "camera.synthetic.disconnects[0].at_frame"},
      {R"({"type": "synthetic", "synthetic": {"disconnects": {}}})",
       "camera.synthetic.disconnects"},
      {R"({"type": "file"})", "camera.location"},
      {R"({"type": "file", "location": "x", "synthetic": {}})", "camera.synthetic"},
      {R"([1, 2])", "camera"},
  };
  for (const auto& [text, field] : cases) {
    auto config = parse_source_config(parse(text));
    ASSERT_FALSE(config) << text;
    EXPECT_NE(config.error().message.find(field), std::string::npos)
        << text << " -> " << config.error().message;
  }
}

}  // namespace
}  // namespace ef::camera

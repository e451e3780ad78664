// runtime_bench: what the runtime's pipeline costs per frame compared with a bare OpenCV dnn loop
// on the same model, and how long a frame waits around a model hot-swap.
//
//   runtime_bench [--model-dir models/generated/ae-1] [--frames 450] [--fps 30] [--swaps 12]
//
// Both sides see the same pre-rendered synthetic frames at the same pace, in one run:
//   bare loop      resize + colour + blobFromImage + Net::forward, timed per frame
//   pipeline       the camera hand-off to the decision being recorded (queue, wake-up,
//                  preprocessing, inference, metrics, result ring), from the frame's capture
//                  time to the observer call; and the model step alone as the pipeline times it
//   with swaps     the same pipeline while hot-swapping every frames/swaps frames; the stall is
//                  the longest capture-to-decision time of the frames around each swap and the
//                  longest gap between two consecutive decisions
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "core/metrics/metrics.hpp"
#include "runtime/camera/camera.hpp"
#include "runtime/camera/synthetic.hpp"
#include "runtime/inspection/pipeline.hpp"
#include "runtime/model/model.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Stats {
  double p50_ms, p99_ms, max_ms;
};

Stats stats(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(seconds.size())));
    return seconds[rank == 0 ? 0 : rank - 1] * 1000;
  };
  return {at(0.5), at(0.99), seconds.back() * 1000};
}

// Replays pre-rendered frames at a fixed pace, like a live camera.
class ReplaySource final : public ef::camera::FrameSource {
 public:
  ReplaySource(const std::vector<cv::Mat>& frames, double fps) : frames_(frames), fps_(fps) {}
  ef::Status open() override {
    start_ = Clock::now();
    return {};
  }
  ef::Result<ef::camera::Frame> read() override {
    if (next_ == frames_.size()) {
      return ef::make_error(ef::Errc::not_found, "replay finished");
    }
    std::this_thread::sleep_until(start_ + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(next_ / fps_)));
    ef::camera::Frame frame;
    frame.image = frames_[next_++];
    frame.captured = Clock::now();
    return frame;
  }
  void close() override {}
  bool finished() const override { return next_ == frames_.size(); }
  bool live() const override { return true; }
  std::string describe() const override { return "replay"; }

 private:
  const std::vector<cv::Mat>& frames_;
  double fps_;
  Clock::time_point start_;
  std::size_t next_ = 0;
};

struct PipelineRun {
  std::vector<double> end_to_end, model_step;
  std::vector<Clock::time_point> decided;
  std::vector<std::uint64_t> swap_boundaries;  // last sequence of each old model
  std::uint64_t dropped = 0, processed = 0;
};

PipelineRun run_pipeline(const std::vector<cv::Mat>& frames, double fps,
                         const std::vector<fs::path>& models, int swaps) {
  ef::metrics::Registry registry;
  auto model = ef::model::Model::load(models[0]);
  if (!model || !(*model)->warm_up(3)) {
    std::fprintf(stderr, "runtime_bench: cannot load %s\n", models[0].c_str());
    std::exit(1);
  }
  auto camera = std::make_unique<ef::camera::Camera>(std::make_unique<ReplaySource>(frames, fps));
  auto pipeline = ef::inspection::Pipeline::create(std::move(camera), std::move(*model), registry);
  if (!pipeline) std::exit(1);
  PipelineRun run;
  std::mutex mutex;
  run.end_to_end.reserve(frames.size());
  (*pipeline)->set_observer([&](const ef::inspection::FrameResult& r) {
    const auto now = Clock::now();
    std::lock_guard lock(mutex);
    run.end_to_end.push_back(std::chrono::duration<double>(now - r.captured).count());
    run.model_step.push_back(r.latency_seconds);
    run.decided.push_back(now);
  });
  (*pipeline)->start();
  const std::size_t every = swaps > 0 ? frames.size() / (swaps + 1) : 0;
  for (int s = 1; s <= swaps; ++s) {
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (run.decided.size() >= every * s) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!(*pipeline)->request_swap(models[s % models.size()], "")) std::exit(1);
    for (;;) {
      const auto status = (*pipeline)->swap_status();
      if (!status.in_progress()) {
        if (status.state != ef::inspection::SwapStatus::State::swapped) {
          std::fprintf(stderr, "runtime_bench: swap failed: %s\n", status.error.c_str());
          std::exit(1);
        }
        run.swap_boundaries.push_back(status.last_sequence_before);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  while (!(*pipeline)->finished())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  (*pipeline)->stop();
  run.dropped = (*pipeline)->counters().dropped;
  run.processed = (*pipeline)->counters().processed;
  return run;
}

// Pools a round's figures; swap boundaries become indices into the pooled vectors.
void append(PipelineRun& into, const PipelineRun& round) {
  const std::uint64_t offset = into.end_to_end.size();
  into.end_to_end.insert(into.end_to_end.end(), round.end_to_end.begin(), round.end_to_end.end());
  into.model_step.insert(into.model_step.end(), round.model_step.begin(), round.model_step.end());
  into.decided.insert(into.decided.end(), round.decided.begin(), round.decided.end());
  for (auto b : round.swap_boundaries)
    into.swap_boundaries.push_back(b + offset);
  into.dropped += round.dropped;
  into.processed += round.processed;
}

std::vector<double> bare_loop(const std::vector<cv::Mat>& frames, double fps,
                              const fs::path& model_dir) {
  auto meta = ef::model::load_metadata(model_dir);
  if (!meta) std::exit(1);
  cv::dnn::Net net = cv::dnn::readNetFromONNX((model_dir / meta->onnx_file).string());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  const auto& in = meta->input;
  cv::Mat gray, small, blob;
  std::vector<double> latencies;
  const auto start = Clock::now();
  double checksum = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(i / fps)));
    const auto t0 = Clock::now();
    cv::cvtColor(frames[i], gray, cv::COLOR_BGR2GRAY);
    cv::resize(gray, small, cv::Size(in.width, in.height), 0, 0, cv::INTER_AREA);
    blob = cv::dnn::blobFromImage(small, in.scale / in.std[0], cv::Size(),
                                  cv::Scalar(in.mean[0] / in.scale));
    net.setInput(blob, in.name);
    cv::Mat score = net.forward(meta->score_output);
    const bool reject = score.at<float>(0) > meta->threshold;
    latencies.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    checksum += reject;
  }
  if (checksum < 0) std::puts("");  // keeps the decision from being optimised away
  return latencies;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"per-frame cost of the runtime pipeline vs a bare OpenCV dnn loop, and swap stalls"};
  std::string model_dir = "models/generated/ae-1";
  std::size_t count = 450;
  double fps = 30;
  int swaps = 12;
  int rounds = 3;
  app.add_option("--model-dir", model_dir, "trained model (scripts/setup makes it)");
  app.add_option("--frames", count, "frames per phase")->check(CLI::Range(50, 100000));
  app.add_option("--fps", fps, "camera pace")->check(CLI::Range(1, 1000));
  app.add_option("--swaps", swaps, "hot-swaps in the last phase")->check(CLI::Range(1, 100));
  app.add_option("--rounds", rounds, "interleaved rounds")->check(CLI::Range(1, 20));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);

  auto meta = ef::model::load_metadata(model_dir);
  if (!meta) {
    std::fprintf(stderr, "runtime_bench: %s (run scripts/setup)\n", meta.error().message.c_str());
    return 1;
  }
  // A second copy of the model under another version to swap back and forth.
  const fs::path other =
      fs::temp_directory_path() / ("runtime-bench-" + std::to_string(::getpid()));
  fs::create_directories(other);
  fs::copy_file(fs::path(model_dir) / meta->onnx_file, other / meta->onnx_file,
                fs::copy_options::overwrite_existing);
  {
    std::ifstream in(fs::path(model_dir) / "model.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto at = text.find("\"" + meta->version + "\"");
    text.replace(at, meta->version.size() + 2, "\"" + meta->version + "-b\"");
    std::ofstream(other / "model.json") << text;
  }

  ef::camera::SyntheticOptions options;
  std::vector<cv::Mat> frames;
  const ef::camera::SyntheticRenderer renderer(options);
  for (std::size_t i = 0; i < count; ++i)
    frames.push_back(renderer.render(i, i / fps).image);

  std::printf(
      "runtime_bench: model %s (%dx%d %s, OpenCV dnn CPU), %zu frames per phase at %.0f "
      "fps in %d rounds, %u hardware threads\n",
      meta->version.c_str(), meta->input.width, meta->input.height,
      meta->input.color == ef::model::Color::gray ? "gray" : "color", count, fps, rounds,
      std::thread::hardware_concurrency());
  std::vector<double> bare_latencies;
  PipelineRun plain, swapped;
  const std::size_t per_round = count / static_cast<std::size_t>(rounds);
  for (int round = 0; round < rounds; ++round) {
    const auto first = frames.begin() + static_cast<std::ptrdiff_t>(round * per_round);
    const std::vector<cv::Mat> chunk(first, first + static_cast<std::ptrdiff_t>(per_round));
    const auto b = bare_loop(chunk, fps, model_dir);
    bare_latencies.insert(bare_latencies.end(), b.begin(), b.end());
    append(plain, run_pipeline(chunk, fps, {fs::path(model_dir)}, 0));
    append(swapped, run_pipeline(chunk, fps, {fs::path(model_dir), other}, swaps / rounds));
  }
  fs::remove_all(other);
  const auto bare = stats(bare_latencies);

  const auto e2e = stats(plain.end_to_end);
  const auto step = stats(plain.model_step);
  std::printf("bare OpenCV dnn loop       p50 %6.3f ms  p99 %6.3f ms  max %6.3f ms\n", bare.p50_ms,
              bare.p99_ms, bare.max_ms);
  std::printf(
      "runtime pipeline           p50 %6.3f ms  p99 %6.3f ms  max %6.3f ms  (capture to "
      "decision recorded)\n",
      e2e.p50_ms, e2e.p99_ms, e2e.max_ms);
  std::printf("  its model step           p50 %6.3f ms  p99 %6.3f ms  max %6.3f ms\n", step.p50_ms,
              step.p99_ms, step.max_ms);
  std::printf("  overhead vs bare loop    p50 %+6.3f ms  p99 %+6.3f ms  (x%.2f at p50)\n",
              e2e.p50_ms - bare.p50_ms, e2e.p99_ms - bare.p99_ms, e2e.p50_ms / bare.p50_ms);
  std::printf("  frames dropped           %llu of %zu\n",
              static_cast<unsigned long long>(plain.dropped), count);

  // Around each swap: the 3 frames before and the 3 after the boundary (result index = sequence - 1
  // when nothing is dropped).
  double stall = 0, gap = 0, baseline_gap = 0;
  for (std::size_t i = 1; i < plain.decided.size(); ++i) {
    if (i % per_round == 0) continue;  // the first decision of a round
    baseline_gap =
        std::max(baseline_gap,
                 std::chrono::duration<double>(plain.decided[i] - plain.decided[i - 1]).count());
  }
  for (const auto boundary : swapped.swap_boundaries) {
    const std::size_t first = boundary >= 4 ? boundary - 4 : 0;
    for (std::size_t i = first; i < boundary + 3 && i < swapped.end_to_end.size(); ++i) {
      stall = std::max(stall, swapped.end_to_end[i]);
      if (i % per_round != 0) {
        gap = std::max(
            gap,
            std::chrono::duration<double>(swapped.decided[i] - swapped.decided[i - 1]).count());
      }
    }
  }
  const auto with_swaps = stats(swapped.end_to_end);
  std::printf(
      "pipeline with %zu hot-swaps p50 %6.3f ms  p99 %6.3f ms  max %6.3f ms  dropped %llu "
      "of %zu\n",
      swapped.swap_boundaries.size(), with_swaps.p50_ms, with_swaps.p99_ms, with_swaps.max_ms,
      static_cast<unsigned long long>(swapped.dropped), count);
  std::printf(
      "  longest stall around a swap: %.3f ms capture-to-decision (p99 without swaps "
      "%.3f ms); longest gap between decisions %.1f ms (frame interval %.1f ms, %.1f ms "
      "without swaps)\n",
      stall * 1000, e2e.p99_ms, gap * 1000, 1000 / fps, baseline_gap * 1000);
  return 0;
}

// The inspection pipeline: camera -> model -> pass/reject, with models hot-swapped between two
// frames.
//
// Threads: a capture thread reads the camera into a small bounded queue (when inference falls
// behind, the oldest queued frame is dropped and counted); an inference thread scores frames one
// by one. A swap request loads and warms the new model on its own thread while the old one keeps
// scoring; the inference thread then exchanges the two between frames (a pointer swap: no frame
// waits for a load), and the old model is destroyed off the inference thread. Every result names
// the model version that produced it. A model that fails to load or warm leaves the old one
// running; the swap status reports the error.
//
// The parts, each in its own file: FrameQueue (capture -> inference), ModelExchange (the active
// model and its hot-swap), RecentResults (kept for the HMI), pipeline_metrics (registration).
//
// All public methods are thread-safe. Metrics go into the Registry given to create(), which must
// outlive the pipeline (names in docs/runtime.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <opencv2/core/types.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "core/metrics/metrics.hpp"
#include "runtime/camera/camera.hpp"
#include "runtime/inspection/model_exchange.hpp"
#include "runtime/inspection/recent_results.hpp"
#include "runtime/inspection/result.hpp"
#include "runtime/model/model.hpp"

namespace ef::inspection {

struct PipelineOptions {
  std::size_t queue_capacity = 4;
  cv::Size expected_frame_size{0, 0};  // frames of another size are refused; 0x0: any size
  std::size_t recent_results = 1024;   // kept for the HMI and overrides
  std::chrono::milliseconds healthy_within{3000};  // "inferring" means a result this recent
  std::string release;                             // labels model_info
  model::LoadOptions load;
  int warm_up_runs = 3;
};

struct Health {
  bool healthy = false;  // up and inferring: a result within healthy_within
  std::string status;    // inferring, starting, camera_down, stalled, finished, stopped
  std::string model_name, model_version, release;
  std::optional<std::chrono::system_clock::time_point> last_inference;
  std::uint64_t frames_processed = 0, frames_dropped = 0, frames_invalid = 0;
  camera::CameraStatus camera;
  std::string last_frame_error;
  double uptime_seconds = 0;
};

// After stop(): sequences == processed + dropped + invalid + queued.
struct Counters {
  std::uint64_t sequences = 0;  // the last sequence number given out (frames missed included)
  std::uint64_t captured = 0;   // frames the camera handed over
  std::uint64_t processed = 0;  // scored
  std::uint64_t dropped = 0;    // never scored: queue overflow or camera overrun
  std::uint64_t invalid = 0;    // refused: unreadable, wrong size, inference error
  std::uint64_t queued = 0;     // waiting in the queue
};

class Pipeline {
 public:
  // model must be loaded and warmed. Registers the pipeline's metrics.
  static Result<std::unique_ptr<Pipeline>> create(std::unique_ptr<camera::Camera> camera,
                                                  std::unique_ptr<model::Model> model,
                                                  metrics::Registry& registry,
                                                  PipelineOptions options = {});
  ~Pipeline();  // stops

  // Called on the inference thread for every result; set before start(). Keep it quick.
  void set_observer(std::function<void(const FrameResult&)> observer);
  void start();
  void stop();  // joins every thread; idempotent
  // True once the camera finished (file or folder without loop) and every frame was handled.
  bool finished() const;

  // Starts loading and warming the model in model_dir. If expected_version is not empty the
  // model's metadata must carry that version. Fails (refused) while another swap is in progress,
  // (closed) once the pipeline is stopped.
  Result<std::uint64_t> request_swap(const std::filesystem::path& model_dir,
                                     const std::string& expected_version);
  SwapStatus swap_status() const;

  Health health() const;
  Counters counters() const;
  // The last options.recent_results results, for the HMI and operator overrides.
  RecentResults& results();
  const RecentResults& results() const;

  struct Impl;

 private:
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ef::inspection

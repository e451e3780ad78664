// The synthetic camera: a textured metal part on a moving conveyor, rendered deterministically.
//
// Frame i depends only on (options, i): the same seed gives the same frames in the runtime, the
// tests, and the frame dump the training script learns from (edgefleet-synthcam). A part's
// texture is fixed per seed; its position jitters as a triggered line camera's would; the belt
// moves. Defects are drawn at defect_rate: a scratch, a dark spot, or a missing bolt. Exposure
// drifts slowly (a sine of drift_amplitude over drift_period_s) and can also jitter per frame;
// sensor noise is Gaussian. Scripted disconnects make the source fail at a given frame and
// refuse to reopen for a while, like a camera whose cable is pulled.
#pragma once

#include <chrono>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

namespace ef::camera {

struct ScriptedDisconnect {
  std::uint64_t at_frame = 0;                // the read of this frame index fails ...
  std::chrono::milliseconds duration{1000};  // ... and open() fails for this long afterwards
};

struct SyntheticOptions {
  int width = 160;
  int height = 120;
  std::uint64_t seed = 1;
  double defect_rate = 0.05;      // probability that a frame shows a defect
  double drift_amplitude = 0.04;  // relative exposure swing of the slow drift
  double drift_period_s = 120;
  double exposure_jitter = 0.0;   // relative per-frame random exposure change (uniform +/-)
  double noise_sigma = 2.0;       // sensor noise, grey levels
  std::uint64_t first_frame = 0;  // index of the first frame a source delivers
  std::vector<ScriptedDisconnect> disconnects;
};

enum class Defect { none, scratch, spot, missing_part };
const char* defect_name(Defect d);

struct RenderedFrame {
  cv::Mat image;  // CV_8UC3 BGR, width x height
  Defect defect = Defect::none;
  double exposure = 1.0;  // the gain applied (1 = nominal)
};

// Renders frame `index` of the stream described by options. Thread-safe (const).
class SyntheticRenderer {
 public:
  explicit SyntheticRenderer(const SyntheticOptions& options);
  RenderedFrame render(std::uint64_t index, double frame_time_s) const;
  const SyntheticOptions& options() const { return options_; }

 private:
  SyntheticOptions options_;
  cv::Mat belt_;          // CV_32F, width x (height), tileable horizontally
  cv::Mat part_texture_;  // CV_32F, part size
  cv::Mat part_mask_;     // CV_8U, rounded rectangle
};

}  // namespace ef::camera

// A frame as it leaves a camera source.
#pragma once

#include <chrono>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string>

namespace ef::camera {

using Clock = std::chrono::steady_clock;

struct Frame {
  cv::Mat image;  // 8-bit BGR (CV_8UC3) from every source; empty when a file could not be decoded
  Clock::time_point captured;
  // Frames the source produced but could not hand over since the previous read (a camera
  // overwrote them because nobody read in time). The pipeline counts them as dropped.
  std::uint64_t missed_before = 0;
  // Where the frame came from when that is more than the source ("img_0042.png").
  std::string origin;
  // Ground truth of the synthetic camera ("good", "scratch", "spot", "missing_part"); empty for
  // real cameras.
  std::string truth;
};

}  // namespace ef::camera

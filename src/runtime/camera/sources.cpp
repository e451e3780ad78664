// The concrete sources: synthetic, OpenCV videoio (V4L2, RTSP/HTTP streams, video files) and
// image folders.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <thread>

#include "core/common/fs.hpp"
#include "runtime/camera/source.hpp"

namespace ef::camera {

namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxImageFileBytes = 64 * 1024 * 1024;

// Paces reads at a fixed rate from a start point; knows how many frame slots passed unread.
class Pacer {
 public:
  explicit Pacer(double fps) : fps_(fps) {}
  void restart() {
    start_ = Clock::now();
    slot_ = 0;
  }
  // Waits until the next slot is due. With skip_late the source behaves like a live camera whose
  // driver holds kBufferedFrames frames: a reader that comes late gets the buffered frames at
  // once, and the frames older than those were overwritten: their number is returned (missed).
  // Without skip_late it never skips.
  std::uint64_t wait(bool skip_late) {
    if (fps_ <= 0) return 0;
    std::uint64_t missed = 0;
    if (skip_late) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      const auto produced = static_cast<std::uint64_t>(elapsed * fps_) + 1;
      if (produced > slot_ + kBufferedFrames) {
        missed = produced - slot_ - kBufferedFrames;
        slot_ += missed;
      }
    }
    std::this_thread::sleep_until(due(slot_));  // at once for a frame already produced
    ++slot_;
    return missed;
  }

 private:
  // A V4L2 driver typically queues 4 buffers.
  static constexpr std::uint64_t kBufferedFrames = 4;
  Clock::time_point due(std::uint64_t slot) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(slot) / fps_));
  }
  double fps_;
  Clock::time_point start_ = Clock::now();
  std::uint64_t slot_ = 0;
};

class SyntheticSource final : public FrameSource {
 public:
  SyntheticSource(const SourceConfig& config)
      : config_(config),
        renderer_(config.synthetic),
        pacer_(config.fps),
        next_index_(config.synthetic.first_frame) {}

  Status open() override {
    const auto now = Clock::now();
    if (now < reopen_at_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(reopen_at_ - now);
      return make_error(Errc::network, "synthetic camera is disconnected (scripted) for another " +
                                           std::to_string(left.count()) + " ms");
    }
    open_ = true;
    pacer_.restart();
    return {};
  }

  Result<Frame> read() override {
    if (!open_) return make_error(Errc::invalid_argument, "synthetic camera is not open");
    Frame frame;
    frame.missed_before = pacer_.wait(true);
    next_index_ += frame.missed_before;
    for (const auto& d : config_.synthetic.disconnects) {
      // at_frame counts frames of this stream, whatever its first index.
      const std::uint64_t position = next_index_ - config_.synthetic.first_frame;
      if (d.at_frame >= disconnect_checked_ && d.at_frame <= position) {
        disconnect_checked_ = d.at_frame + 1;
        open_ = false;
        reopen_at_ = Clock::now() + d.duration;
        return make_error(Errc::network, "synthetic camera disconnected at frame " +
                                             std::to_string(next_index_) + " (scripted)");
      }
    }
    const double fps = config_.fps > 0 ? config_.fps : 30.0;
    auto rendered = renderer_.render(next_index_, static_cast<double>(next_index_) / fps);
    frame.image = std::move(rendered.image);
    frame.captured = Clock::now();
    frame.truth = defect_name(rendered.defect);
    frame.origin = "frame " + std::to_string(next_index_);
    ++next_index_;
    return frame;
  }

  void close() override { open_ = false; }
  bool live() const override { return config_.fps > 0; }

  std::string describe() const override {
    const auto& s = config_.synthetic;
    return "synthetic seed=" + std::to_string(s.seed) + " " + std::to_string(s.width) + "x" +
           std::to_string(s.height) + "@" + std::to_string(static_cast<int>(config_.fps)) + "fps";
  }

 private:
  SourceConfig config_;
  SyntheticRenderer renderer_;
  Pacer pacer_;
  bool open_ = false;
  std::uint64_t next_index_;
  std::uint64_t disconnect_checked_ = 0;
  Clock::time_point reopen_at_{};
};

// Converts what OpenCV delivers to the 8-bit BGR every source promises.
cv::Mat to_bgr8(const cv::Mat& image) {
  if (image.empty() || image.type() == CV_8UC3) return image;
  cv::Mat eight = image;
  if (image.depth() != CV_8U)
    image.convertTo(eight, CV_8U, image.depth() == CV_16U ? 1.0 / 257 : 1);
  cv::Mat out;
  if (eight.channels() == 1) {
    cv::cvtColor(eight, out, cv::COLOR_GRAY2BGR);
  } else if (eight.channels() == 4) {
    cv::cvtColor(eight, out, cv::COLOR_BGRA2BGR);
  } else {
    out = eight;
  }
  return out;
}

class VideoCaptureSource final : public FrameSource {
 public:
  explicit VideoCaptureSource(const SourceConfig& config) : config_(config), pacer_(config.fps) {}

  Status open() override {
    finished_ = false;
    bool opened = false;
    try {
      if (config_.type == SourceConfig::Type::v4l2) {
        const bool is_index = !config_.location.empty() &&
                              std::all_of(config_.location.begin(), config_.location.end(),
                                          [](unsigned char c) { return std::isdigit(c); });
        opened = is_index ? capture_.open(std::stoi(config_.location), cv::CAP_V4L2)
                          : capture_.open(config_.location, cv::CAP_V4L2);
        if (opened && config_.width > 0) capture_.set(cv::CAP_PROP_FRAME_WIDTH, config_.width);
        if (opened && config_.height > 0) capture_.set(cv::CAP_PROP_FRAME_HEIGHT, config_.height);
        if (opened && config_.fps > 0) capture_.set(cv::CAP_PROP_FPS, config_.fps);
      } else if (config_.type == SourceConfig::Type::stream) {
        const int timeout = static_cast<int>(config_.io_timeout.count());
        opened = capture_.open(
            config_.location, cv::CAP_FFMPEG,
            {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, timeout, cv::CAP_PROP_READ_TIMEOUT_MSEC, timeout});
      } else {
        std::error_code ec;
        if (!fs::is_regular_file(config_.location, ec)) {
          return make_error(Errc::not_found,
                            "video file " + config_.location + " does not exist or is not a file");
        }
        opened = capture_.open(config_.location, cv::CAP_FFMPEG);
      }
    } catch (const cv::Exception& e) {
      return make_error(Errc::io, describe() + ": OpenCV could not open it: " + e.what());
    }
    if (!opened || !capture_.isOpened()) {
      return make_error(Errc::io, describe() +
                                      ": could not be opened (no such device, stream "
                                      "unreachable or format not supported)");
    }
    pacer_.restart();
    return {};
  }

  Result<Frame> read() override {
    if (!capture_.isOpened())
      return make_error(Errc::invalid_argument, describe() + " is not open");
    const bool paced = config_.type == SourceConfig::Type::file;
    if (paced) pacer_.wait(false);
    Frame frame;
    cv::Mat image;
    try {
      bool got = capture_.read(image);
      if (!got && config_.type == SourceConfig::Type::file && config_.loop) {
        capture_.set(cv::CAP_PROP_POS_FRAMES, 0);
        got = capture_.read(image);
      }
      if (!got) {
        if (config_.type == SourceConfig::Type::file) {
          finished_ = true;
          return make_error(Errc::not_found, describe() + ": end of the video");
        }
        return make_error(Errc::network, describe() + ": no frame (device or stream lost)");
      }
    } catch (const cv::Exception& e) {
      return make_error(Errc::io, describe() + ": OpenCV failed to read: " + e.what());
    }
    frame.image = to_bgr8(image);
    frame.captured = Clock::now();
    return frame;
  }

  void close() override { capture_.release(); }
  bool finished() const override { return finished_; }
  bool live() const override { return config_.type != SourceConfig::Type::file; }

  std::string describe() const override {
    switch (config_.type) {
      case SourceConfig::Type::v4l2:
        return "v4l2 " + config_.location;
      case SourceConfig::Type::stream:
        return "stream " + config_.location;
      default:
        return "video file " + config_.location;
    }
  }

 private:
  SourceConfig config_;
  cv::VideoCapture capture_;
  Pacer pacer_;
  bool finished_ = false;
};

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff"}) {
    if (ext == known) return true;
  }
  return false;
}

class ImageFolderSource final : public FrameSource {
 public:
  explicit ImageFolderSource(const SourceConfig& config) : config_(config), pacer_(config.fps) {}

  Status open() override {
    files_.clear();
    next_ = 0;
    finished_ = false;
    std::error_code ec;
    if (!fs::is_directory(config_.location, ec)) {
      return make_error(Errc::not_found, "image folder " + config_.location + " does not exist");
    }
    for (fs::directory_iterator it(config_.location, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && is_image_name(it->path())) files_.push_back(it->path());
    }
    if (ec) return os_error("listing image folder", config_.location, ec.value());
    if (files_.empty()) {
      return make_error(Errc::not_found,
                        "image folder " + config_.location +
                            " holds no images (.png .jpg .jpeg .bmp .pgm .ppm .tif)");
    }
    std::sort(files_.begin(), files_.end());
    pacer_.restart();
    return {};
  }

  Result<Frame> read() override {
    if (files_.empty()) return make_error(Errc::invalid_argument, describe() + " is not open");
    if (next_ == files_.size()) {
      if (!config_.loop) {
        finished_ = true;
        return make_error(Errc::not_found, describe() + ": no more images");
      }
      next_ = 0;
    }
    pacer_.wait(false);
    const fs::path& path = files_[next_++];
    Frame frame;
    frame.origin = path.filename().string();
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    // An unreadable, oversized or undecodable file gives an empty frame: the pipeline reports it
    // and goes on with the next file.
    if (!ec && size <= kMaxImageFileBytes) {
      try {
        frame.image = to_bgr8(cv::imread(path.string(), cv::IMREAD_COLOR));
      } catch (const cv::Exception&) {
        frame.image = cv::Mat();
      }
    }
    frame.captured = Clock::now();
    return frame;
  }

  void close() override { files_.clear(); }
  bool finished() const override { return finished_; }
  bool live() const override { return false; }
  std::string describe() const override { return "image folder " + config_.location; }

 private:
  SourceConfig config_;
  Pacer pacer_;
  std::vector<fs::path> files_;
  std::size_t next_ = 0;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<FrameSource>> make_source(const SourceConfig& config) {
  switch (config.type) {
    case SourceConfig::Type::synthetic:
      return std::unique_ptr<FrameSource>(std::make_unique<SyntheticSource>(config));
    case SourceConfig::Type::folder:
      return std::unique_ptr<FrameSource>(std::make_unique<ImageFolderSource>(config));
    default:
      if (config.location.empty()) {
        return make_error(Errc::invalid_argument, "camera: this source type needs a location");
      }
      return std::unique_ptr<FrameSource>(std::make_unique<VideoCaptureSource>(config));
  }
}

}  // namespace ef::camera

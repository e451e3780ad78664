// A camera that stays up: wraps a FrameSource, reopens it with exponential back-off when it
// fails, and keeps the state the health report and metrics need.
//
// next() runs on the capture thread; stop() and status() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "camera/source.hpp"

namespace ef::camera {

struct Backoff {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{5000};
};

struct CameraStatus {
  std::string description;
  bool connected = false;
  bool finished = false;           // the source ran out of frames (file or folder, no loop)
  std::uint64_t reconnects = 0;    // successful reopenings after a failure
  std::uint64_t failed_opens = 0;  // attempts that failed
  std::string last_error;          // the latest failure, kept after recovery
};

class Camera {
 public:
  explicit Camera(std::unique_ptr<FrameSource> source, Backoff backoff = {});
  ~Camera();

  // The next frame, reopening the source as often as it takes. nullopt once stop() was called or
  // the source is finished.
  std::optional<Frame> next();
  void stop();
  CameraStatus status() const;

 private:
  bool wait_backoff(std::chrono::milliseconds delay);
  void set_error(const std::string& message, bool connected);

  std::unique_ptr<FrameSource> source_;
  Backoff backoff_;
  std::chrono::milliseconds delay_;
  bool open_ = false;
  bool ever_opened_ = false;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  CameraStatus status_;
};

}  // namespace ef::camera

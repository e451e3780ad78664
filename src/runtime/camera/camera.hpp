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

#include "runtime/camera/source.hpp"

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
  // Cheap reads for per-frame bookkeeping (no lock, no copies).
  std::uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  bool live() const { return live_; }

 private:
  bool wait_backoff(std::chrono::milliseconds delay);

  std::unique_ptr<FrameSource> source_;
  Backoff backoff_;
  std::chrono::milliseconds delay_;
  bool open_ = false;
  bool ever_opened_ = false;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  CameraStatus status_;
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<bool> connected_{false};
  bool live_;
};

}  // namespace ef::camera

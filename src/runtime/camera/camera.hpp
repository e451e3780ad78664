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

#include "core/common/backoff.hpp"
#include "runtime/camera/source.hpp"

namespace ef::camera {

// A camera that fails to open is retried after 200 ms, doubling to 5 s: a replugged USB camera or
// a restarted RTSP server is back within seconds, a dead one costs one attempt per 5 s.
inline constexpr Backoff::Policy kReopenBackoff{.initial = std::chrono::milliseconds(200),
                                                .max = std::chrono::milliseconds(5000)};

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
  explicit Camera(std::unique_ptr<FrameSource> source, Backoff::Policy reopen = kReopenBackoff);
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

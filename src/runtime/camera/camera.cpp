#include "runtime/camera/camera.hpp"

#include <spdlog/spdlog.h>

namespace ef::camera {

Camera::Camera(std::unique_ptr<FrameSource> source, Backoff::Policy reopen)
    : source_(std::move(source)), backoff_(reopen), live_(source_->live()) {
  status_.description = source_->describe();
}

Camera::~Camera() {
  if (open_) source_->close();
}

void Camera::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

CameraStatus Camera::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

bool Camera::wait_backoff(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [&] { return stopping_; });
}

std::optional<Frame> Camera::next() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || status_.finished) return std::nullopt;
    }
    if (!open_) {
      auto opened = source_->open();
      if (!opened) {
        {
          std::lock_guard lock(mutex_);
          ++status_.failed_opens;
          // Log the first failure of a run of them, not every retry.
          if (status_.last_error != opened.error().message) {
            spdlog::warn("camera {}: {} (retrying with back-off up to {} ms)", status_.description,
                         opened.error().message, backoff_.policy().max.count());
          }
          status_.last_error = opened.error().message;
          status_.connected = false;
          connected_ = false;
        }
        if (!wait_backoff(backoff_.next())) return std::nullopt;
        continue;
      }
      open_ = true;
      backoff_.reset();
      std::lock_guard lock(mutex_);
      status_.connected = true;
      connected_ = true;
      if (ever_opened_) {
        ++status_.reconnects;
        reconnects_ = status_.reconnects;
        spdlog::info("camera {}: reconnected", status_.description);
      }
      ever_opened_ = true;
    }
    auto frame = source_->read();
    if (frame) return std::move(frame).value();
    source_->close();
    open_ = false;
    const bool finished = source_->finished();
    {
      std::lock_guard lock(mutex_);
      status_.connected = false;
      connected_ = false;
      status_.last_error = frame.error().message;
      status_.finished = finished;
    }
    if (finished) {
      spdlog::info("camera {}: {}", status_.description, frame.error().message);
      return std::nullopt;
    }
    spdlog::warn("camera {}: {}; reconnecting", status_.description, frame.error().message);
  }
}

}  // namespace ef::camera

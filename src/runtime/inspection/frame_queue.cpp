#include "runtime/inspection/frame_queue.hpp"

#include <algorithm>

namespace ef::inspection {

FrameQueue::FrameQueue(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

FrameQueue::Pushed FrameQueue::push(camera::Frame frame, bool wait_for_room) {
  Pushed pushed;
  std::unique_lock lock(mutex_);
  if (wait_for_room) {
    space_.wait(lock, [&] { return stopping_ || queue_.size() < capacity_; });
  }
  if (stopping_) return pushed;
  pushed.accepted = true;
  pushed.overrun = frame.missed_before;
  last_sequence_ += frame.missed_before;
  dropped_ += frame.missed_before;
  if (queue_.size() >= capacity_) {
    queue_.pop_front();
    pushed.dropped_oldest = true;
    ++dropped_;
  }
  queue_.push_back({std::move(frame), ++last_sequence_});
  ++pushed_;
  wake_.notify_one();
  return pushed;
}

void FrameQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  wake_.notify_all();
}

FrameQueue::Popped FrameQueue::pop(QueuedFrame& out, const std::function<bool()>& other_work) {
  std::unique_lock lock(mutex_);
  wake_.wait(
      lock, [&] { return stopping_ || other_work() || !queue_.empty() || (closed_ && !drained_); });
  if (stopping_) return Popped::stopped;
  if (queue_.empty()) {
    if (closed_ && !drained_) {
      drained_ = true;
      return Popped::drained;
    }
    return Popped::other_work;
  }
  out = std::move(queue_.front());
  queue_.pop_front();
  space_.notify_one();
  return Popped::frame;
}

void FrameQueue::notify() {
  std::lock_guard lock(mutex_);
  wake_.notify_all();
}

void FrameQueue::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
  space_.notify_all();
}

FrameQueue::Stats FrameQueue::stats() const {
  std::lock_guard lock(mutex_);
  return {last_sequence_, pushed_, dropped_, queue_.size()};
}

bool FrameQueue::stopped() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool FrameQueue::drained() const {
  std::lock_guard lock(mutex_);
  return drained_;
}

}  // namespace ef::inspection

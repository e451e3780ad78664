// The frames between the capture thread and the inference thread.
//
// Bounded. Every frame gets the next sequence number (from 1); frames the camera lost before this
// one (Frame::missed_before) consume numbers too, so gaps in the results show every loss. A live
// source never waits: when the queue is full its oldest frame is dropped. A recorded source (file,
// folder) waits for room instead and loses nothing.
//
// One producer (push, close), one consumer (pop); stop() and the readers may be called from any
// thread. pop() also returns when the consumer has other work (a model to install): the caller
// passes that condition and notify() re-checks it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "runtime/camera/frame.hpp"

namespace ef::inspection {

struct QueuedFrame {
  camera::Frame frame;
  std::uint64_t sequence = 0;
};

class FrameQueue {
 public:
  explicit FrameQueue(std::size_t capacity);  // at least 1

  struct Pushed {
    bool accepted = false;        // false: the queue is stopped
    std::uint64_t overrun = 0;    // frames the camera lost before this one
    bool dropped_oldest = false;  // a queued frame made room for this one
  };
  // Queues a frame; with wait_for_room (recorded sources) waits while the queue is full.
  Pushed push(camera::Frame frame, bool wait_for_room);
  // The producer has no more frames. Once the queue is empty, pop() reports drained once.
  void close();

  enum class Popped { frame, other_work, drained, stopped };
  // Waits for a frame, for other_work() to hold, for the end of a closed queue, or for stop().
  // other_work runs under the queue's lock: keep it a flag read.
  Popped pop(QueuedFrame& out, const std::function<bool()>& other_work);
  // Wakes pop() to re-check other_work.
  void notify();
  // Wakes and refuses every waiter for good; idempotent.
  void stop();

  struct Stats {
    std::uint64_t sequences = 0;  // the last sequence number given out
    std::uint64_t pushed = 0;     // frames accepted
    std::uint64_t dropped = 0;    // overrun + dropped oldest
    std::uint64_t queued = 0;
  };
  Stats stats() const;
  bool stopped() const;
  bool drained() const;  // closed, emptied and reported by pop()

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;   // the consumer waits for frames or work
  std::condition_variable space_;  // a recorded source's producer waits for room
  std::deque<QueuedFrame> queue_;
  std::uint64_t last_sequence_ = 0, pushed_ = 0, dropped_ = 0;
  bool closed_ = false, drained_ = false, stopping_ = false;
};

}  // namespace ef::inspection

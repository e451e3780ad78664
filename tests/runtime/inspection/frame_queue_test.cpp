#include "runtime/inspection/frame_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace ef::inspection {
namespace {

using namespace std::chrono_literals;

camera::Frame frame(const std::string& origin, std::uint64_t missed_before = 0) {
  camera::Frame f;
  f.origin = origin;
  f.missed_before = missed_before;
  return f;
}

const auto kNoWork = [] { return false; };

TEST(FrameQueue, NumbersFramesAndCountsCameraLossesAsSequences) {
  FrameQueue queue(4);
  EXPECT_TRUE(queue.push(frame("a"), false).accepted);
  const auto pushed = queue.push(frame("b", 3), false);
  EXPECT_EQ(pushed.overrun, 3u);
  QueuedFrame out;
  ASSERT_EQ(queue.pop(out, kNoWork), FrameQueue::Popped::frame);
  EXPECT_EQ(out.sequence, 1u);
  EXPECT_EQ(out.frame.origin, "a");
  ASSERT_EQ(queue.pop(out, kNoWork), FrameQueue::Popped::frame);
  EXPECT_EQ(out.sequence, 5u);  // 2, 3 and 4 were lost by the camera
  const auto stats = queue.stats();
  EXPECT_EQ(stats.sequences, 5u);
  EXPECT_EQ(stats.pushed, 2u);
  EXPECT_EQ(stats.dropped, 3u);
  EXPECT_EQ(stats.queued, 0u);
}

TEST(FrameQueue, LiveSourceDropsTheOldestWhenFull) {
  FrameQueue queue(2);
  EXPECT_FALSE(queue.push(frame("1"), false).dropped_oldest);
  EXPECT_FALSE(queue.push(frame("2"), false).dropped_oldest);
  EXPECT_TRUE(queue.push(frame("3"), false).dropped_oldest);
  QueuedFrame out;
  ASSERT_EQ(queue.pop(out, kNoWork), FrameQueue::Popped::frame);
  EXPECT_EQ(out.frame.origin, "2");
  EXPECT_EQ(queue.stats().dropped, 1u);
  // sequences == consumed + dropped + queued
  const auto stats = queue.stats();
  EXPECT_EQ(stats.sequences, 1u + stats.dropped + stats.queued);
}

TEST(FrameQueue, RecordedSourceWaitsForRoomAndLosesNothing) {
  FrameQueue queue(1);
  std::thread producer([&] {
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(queue.push(frame(std::to_string(i)), true).accepted);
    queue.close();
  });
  QueuedFrame out;
  std::uint64_t expected = 1;
  for (;;) {
    const auto popped = queue.pop(out, kNoWork);
    if (popped == FrameQueue::Popped::drained) break;
    ASSERT_EQ(popped, FrameQueue::Popped::frame);
    EXPECT_EQ(out.sequence, expected++);
  }
  producer.join();
  EXPECT_EQ(expected, 51u);
  EXPECT_EQ(queue.stats().dropped, 0u);
  EXPECT_TRUE(queue.drained());
}

TEST(FrameQueue, PopWakesForOtherWorkAndForStop) {
  FrameQueue queue(2);
  std::atomic<bool> work{false};
  std::thread waker([&] {
    std::this_thread::sleep_for(20ms);
    work = true;
    queue.notify();
  });
  QueuedFrame out;
  EXPECT_EQ(queue.pop(out, [&] { return work.load(); }), FrameQueue::Popped::other_work);
  waker.join();

  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    queue.stop();
  });
  EXPECT_EQ(queue.pop(out, kNoWork), FrameQueue::Popped::stopped);
  stopper.join();
  EXPECT_TRUE(queue.stopped());
  EXPECT_FALSE(queue.push(frame("late"), false).accepted);
}

TEST(FrameQueue, StopReleasesAProducerWaitingForRoom) {
  FrameQueue queue(1);
  ASSERT_TRUE(queue.push(frame("1"), true).accepted);
  std::thread producer([&] { EXPECT_FALSE(queue.push(frame("2"), true).accepted); });
  std::this_thread::sleep_for(20ms);
  queue.stop();
  producer.join();
}

}  // namespace
}  // namespace ef::inspection

// The agent's telemetry pipeline with a real spool and a stand-in server: live batches, an
// outage spooled and replayed in order with original timestamps, refusals, restarts.
#include "device/telemetry_pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <set>

#include "core/telemetry/batch_codec.hpp"
#include "temp_dir_test.hpp"

namespace ef::telemetry_pipeline {
namespace {

constexpr std::int64_t kStart = 1'800'000'000'000;
constexpr std::int64_t kRound = 15'000;

class TelemetryPipelineTest : public ef::testing::TempDirTest {
 protected:
  std::unique_ptr<Pipeline> open_pipeline(Options o = {}) {
    o.dir = dir_ / "telemetry";
    o.sync = false;
    o.min_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(1);
    auto collect = [](std::int64_t now) {
      return std::vector<telemetry::Series>{
          {"edgefleet_device_uptime_seconds", {}, {{now, double(now / 1000)}}},
          {"edgefleet_device_temperature_celsius", {{"sensor", "zone0"}}, {{now, 41.5}}}};
    };
    auto send = [this](std::string_view body) {
      if (down_) return Delivery::retry_later;
      if (refuse_) return Delivery::refused;
      auto batch = telemetry::decode_batch(body);
      EXPECT_TRUE(batch) << batch.error().message;
      if (batch) received_.push_back(std::move(*batch));
      return Delivery::taken;
    };
    auto p = Pipeline::open(o, collect, send);
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : nullptr;
  }

  void rounds(Pipeline& p, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(p.round(now_));
      now_ += kRound;
    }
  }

  // The uptime series' timestamps over everything received, in arrival order.
  std::vector<std::int64_t> received_times() const {
    std::vector<std::int64_t> out;
    for (const auto& b : received_)
      for (const auto& s : b.series)
        if (s.name == "edgefleet_device_uptime_seconds")
          for (const auto& pt : s.points)
            out.push_back(pt.timestamp_ms);
    return out;
  }

  std::int64_t now_ = kStart;
  bool down_ = false;
  bool refuse_ = false;
  std::vector<telemetry::Batch> received_;
};

TEST_F(TelemetryPipelineTest, SendsOneMinuteBatchesWhileTheServerTakesThem) {
  auto p = open_pipeline();
  rounds(*p, 8);
  ASSERT_EQ(received_.size(), 2u);
  EXPECT_EQ(received_[0].first_sequence, 1u);
  EXPECT_EQ(received_[0].last_sequence, 4u);
  EXPECT_EQ(received_[1].first_sequence, 5u);
  EXPECT_EQ(received_times().size(), 8u);
  // The agent's own figures travel with the rest.
  std::set<std::string> names;
  for (const auto& s : received_[1].series)
    names.insert(s.name);
  EXPECT_TRUE(names.contains("edgefleet_agent_spool_bytes"));
  EXPECT_TRUE(names.contains("edgefleet_agent_spool_pending_scrapes"));
  EXPECT_TRUE(names.contains("edgefleet_agent_resident_memory_bytes"));
}

TEST_F(TelemetryPipelineTest, AnOutageIsSpooledAndReplayedInOrderWithOriginalTimestamps) {
  auto p = open_pipeline();
  rounds(*p, 4);
  down_ = true;
  rounds(*p, 4 * 60);  // an hour without the server
  EXPECT_FALSE(p->delivering());
  // One short probe batch, then ten-minute batches.
  EXPECT_LE(p->spool_stats().segments, 8u);
  down_ = false;
  rounds(*p, 1);
  const auto times = received_times();
  ASSERT_EQ(times.size(), 4u + 240u + 1u - (p->spool_stats().open_records));
  for (std::size_t i = 0; i < times.size(); ++i)
    EXPECT_EQ(times[i], kStart + std::int64_t(i) * kRound) << i;
  EXPECT_TRUE(p->delivering());
}

TEST_F(TelemetryPipelineTest, TheBacklogSurvivesARestart) {
  {
    auto p = open_pipeline();
    down_ = true;
    rounds(*p, 50);
  }
  down_ = false;
  auto again = open_pipeline();
  rounds(*again, 4);
  const auto times = received_times();
  ASSERT_GE(times.size(), 50u);
  for (std::size_t i = 0; i < times.size(); ++i)
    EXPECT_EQ(times[i], kStart + std::int64_t(i) * kRound);
  // Sequence numbers continue: no batch reuses an earlier round's number.
  for (std::size_t i = 1; i < received_.size(); ++i)
    EXPECT_GT(received_[i].first_sequence, received_[i - 1].last_sequence);
}

TEST_F(TelemetryPipelineTest, ARefusedBatchIsDroppedAndCountedNotRetried) {
  auto p = open_pipeline();
  refuse_ = true;
  rounds(*p, 8);
  EXPECT_EQ(p->dropped_batches(), 2u);
  EXPECT_EQ(p->spool_stats().segments, 0u);
  EXPECT_TRUE(received_.empty());
}

TEST_F(TelemetryPipelineTest, TheSpoolStaysBoundedAndCountsWhatItEvicts) {
  Options o;
  o.max_spool_bytes = 128 * 1024;
  auto p = open_pipeline(o);
  down_ = true;
  std::uint64_t most = 0;
  for (int i = 0; i < 4 * 60 * 72; ++i) {  // 72 hours
    ASSERT_TRUE(p->round(now_));
    now_ += kRound;
    most = std::max(most, p->spool_stats().bytes);
  }
  EXPECT_LE(most, o.max_spool_bytes);
  EXPECT_GT(p->spool_stats().evicted_records_total, 0u);
  // What is left is the newest stretch, without a gap.
  down_ = false;
  p->retry_now();
  rounds(*p, 1);
  const auto times = received_times();
  ASSERT_FALSE(times.empty());
  for (std::size_t i = 1; i < times.size(); ++i)
    EXPECT_EQ(times[i], times[i - 1] + kRound);
}

TEST_F(TelemetryPipelineTest, AClockThatGoesBackDropsOnlyTheOverlappingPoints) {
  auto p = open_pipeline();
  rounds(*p, 2);
  now_ -= 3 * kRound;  // the clock jumps back 45 s
  rounds(*p, 2);
  ASSERT_EQ(received_.size(), 1u);
  const auto times = received_times();
  for (std::size_t i = 1; i < times.size(); ++i)
    EXPECT_GT(times[i], times[i - 1]);
  EXPECT_EQ(times.size(), 2u);
}

// Resident memory of this process (statm), in KiB.
long resident_kib() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

// Leaves 8 MiB of touched, freed heap below a live block, so that free() cannot give it back by
// shrinking the heap from its top: only malloc_trim can. Returns the live block (free it).
void* leave_freed_heap_below_a_live_block() {
  void* (*volatile allocate)(std::size_t) = std::malloc;  // not elided by the optimiser
  std::vector<void*> blocks;
  for (int i = 0; i < 2048; ++i) {
    blocks.push_back(allocate(4000));
    std::memset(blocks.back(), 1, 4000);
  }
  void* live = allocate(4000);
  std::memset(live, 1, 4000);
  for (void* b : blocks)
    std::free(b);
  return live;
}

TEST_F(TelemetryPipelineTest, ARoundHandsFreedHeapPagesBackToTheKernel) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's heap, which malloc_trim trims";
#endif
  auto p = open_pipeline();
  rounds(*p, 1);  // the first round's own allocations are not what is measured
  void* live = leave_freed_heap_below_a_live_block();
  const long before = resident_kib();
  rounds(*p, 1);
  const long after = resident_kib();
  std::free(live);
  EXPECT_GT(before - after, 6 * 1024) << before << " -> " << after << " KiB";
}

TEST_F(TelemetryPipelineTest, WithoutTrimFreedHeapPagesStayResident) {
  Options o;
  o.trim_heap = false;
  auto p = open_pipeline(o);
  rounds(*p, 1);
  void* live = leave_freed_heap_below_a_live_block();
  const long before = resident_kib();
  rounds(*p, 1);
  const long after = resident_kib();
  std::free(live);
  EXPECT_LT(before - after, 1024) << before << " -> " << after << " KiB";
}

}  // namespace
}  // namespace ef::telemetry_pipeline

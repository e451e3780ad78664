// What open() and oldest() make of a folder a crash, a bad disk or another program left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "alloc_probe.hpp"
#include "core/spool/format.hpp"
#include "core/spool/spool.hpp"
#include "spool_test_util.hpp"

namespace ef::spool {
namespace {

namespace fs = std::filesystem;
using testing::concat;
using testing::drain;
using testing::names;
using testing::slurp;
using testing::spit;

class SpoolRecoveryTest : public testing::SpoolTest {
 public:
  // Three sealed segments of two records each (sequences 1-2, 3-4, 5-6).
  void make_three_segments() {
    Spool s = open();
    for (int i = 0; i < 3; ++i) {
      append(s, "record " + std::to_string(2 * i + 1));
      append(s, "record " + std::to_string(2 * i + 2));
      ASSERT_TRUE(s.seal(concat));
    }
  }
  fs::path segment(int id) const {
    return folder() / ("seg-000000000000000" + std::to_string(id) + ".bin");
  }
  std::vector<std::uint64_t> drained_sequences(Spool& s) {
    std::vector<std::uint64_t> out;
    for (const auto& r : drain(s))
      out.push_back(r.sequence);
    return out;
  }
};

struct Damage {
  const char* name;
  std::function<std::string(std::string)> apply;
};

// Out of line: inlined next to the empty case, g++ 12 warns of a write it can prove never runs.
[[gnu::noinline]] std::string flip(std::string d, std::size_t at) {
  if (at < d.size()) d[at] = static_cast<char>(d[at] ^ 4);
  return d;
}

void PrintTo(const Damage& damage, std::ostream* os) {
  *os << damage.name;
}

class SpoolCorruptSegmentTest : public SpoolRecoveryTest,
                                public ::testing::WithParamInterface<Damage> {};

TEST_P(SpoolCorruptSegmentTest, IsDeletedCountedAndTheQueueGoesOn) {
  make_three_segments();
  spit(segment(2), GetParam().apply(slurp(segment(2))));
  testing::largest_allocation = 0;
  Spool s = open();
  EXPECT_LT(testing::largest_allocation.load(), std::size_t(1) << 20);
  EXPECT_FALSE(fs::exists(segment(2)));
  EXPECT_EQ(s.stats().corrupt_segments_total, 1u);
  EXPECT_EQ(s.stats().segments, 2u);
  EXPECT_EQ(s.stats().pending_records, 4u);
  EXPECT_EQ(drained_sequences(s), (std::vector<std::uint64_t>{1, 2, 5, 6}));
  EXPECT_EQ(append(s, "next"), 7u);
  EXPECT_EQ(open().stats().corrupt_segments_total, 1u);  // persisted
}

INSTANTIATE_TEST_SUITE_P(
    Damages, SpoolCorruptSegmentTest,
    ::testing::Values(Damage{"HeaderBit", [](std::string d) { return flip(std::move(d), 30); }},
                      Damage{"Magic",
                             [](std::string d) {
                               d[0] = 'X';
                               return d;
                             }},
                      Damage{"PayloadBit",
                             [](std::string d) { return flip(std::move(d), d.size() - 1); }},
                      Damage{"Truncated", [](std::string d) { return d.substr(0, d.size() - 5); }},
                      Damage{"HeaderOnlyHalf", [](std::string d) { return d.substr(0, 20); }},
                      Damage{"Empty", [](std::string) { return std::string(); }},
                      Damage{"Extended", [](std::string d) { return d + "trailing"; }},
                      Damage{"HugeDeclaredPayload",
                             [](std::string d) {
                               format::SegmentHeader h{3, 4, 2, std::uint64_t(1) << 40, 0};
                               return format::encode_segment_header(h) +
                                      d.substr(format::kSegmentHeaderBytes);
                             }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SpoolRecoveryTest, ASegmentDamagedAfterOpenIsSkippedByOldest) {
  make_three_segments();
  Spool s = open();
  std::string data = slurp(segment(1));
  data[data.size() - 1] ^= 1;
  spit(segment(1), data);
  fs::remove(segment(2));  // gone behind the spool's back
  EXPECT_EQ(drained_sequences(s), (std::vector<std::uint64_t>{5, 6}));
  EXPECT_EQ(s.stats().corrupt_segments_total, 2u);
  EXPECT_EQ(s.stats().bytes, 0u);
}

TEST_F(SpoolRecoveryTest, StrayTemporaryFilesAreRemovedAndUnknownFilesLeftAlone) {
  make_three_segments();
  spit(folder() / "seg-0000000000000009.bin.tmp", "half a segment");
  spit(folder() / ".state.tmp123456", "half a state");
  spit(folder() / ".seg-0000000000000004.bin.tmp77", "half");
  spit(folder() / "state.tmp", "x");
  spit(folder() / "notes.txt", "mine");
  spit(folder() / "other.tmp", "not the spool's");
  spit(folder() / "seg-00000000000000AB.bin", "upper-case hex is not a spool name");
  spit(folder() / "seg-1.bin", "short");
  fs::create_directory(folder() / "seg-000000000000000f.bin");  // a folder, not a segment
  Spool s = open();
  const auto left = names(folder());
  EXPECT_EQ(left, (std::set<std::string>{"log", "state", "notes.txt", "other.tmp",
                                         "seg-00000000000000AB.bin", "seg-1.bin",
                                         "seg-000000000000000f.bin", "seg-0000000000000001.bin",
                                         "seg-0000000000000002.bin", "seg-0000000000000003.bin"}));
  EXPECT_EQ(s.stats().corrupt_segments_total, 0u);
  EXPECT_EQ(s.stats().segments, 3u);
  EXPECT_EQ(drained_sequences(s).size(), 6u);
  EXPECT_EQ(slurp(folder() / "notes.txt"), "mine");
}

// A crash after the segment was renamed into place but before the log was emptied, whether the
// state file was written or not: the records must come back once, never twice.
TEST_F(SpoolRecoveryTest, ACrashBetweenSegmentAndLogTruncationNeverDuplicates) {
  for (bool state_written : {false, true}) {
    fs::remove_all(folder());
    {
      Spool s = open();
      append(s, "a");
      ASSERT_TRUE(s.seal(concat));
      append(s, "b");
      append(s, "c");
    }
    const std::string log = slurp(folder() / "log");
    const std::string state = slurp(folder() / "state");
    {
      Spool s = open();
      ASSERT_TRUE(s.seal(concat));
    }
    spit(folder() / "log", log);
    if (!state_written) spit(folder() / "state", state);
    Spool s = open();
    EXPECT_EQ(s.stats().open_records, 0u) << state_written;
    EXPECT_EQ(fs::file_size(folder() / "log"), 0u);
    EXPECT_EQ(append(s, "d"), 4u);
    ASSERT_TRUE(s.seal(concat));
    EXPECT_EQ(drained_sequences(s), (std::vector<std::uint64_t>{1, 2, 3, 4}));
    // Once delivered and removed, nothing comes back on the next start.
    Spool again = open();
    EXPECT_EQ(again.stats().open_records, 0u);
    EXPECT_EQ(again.stats().segments, 0u);
    EXPECT_EQ(append(again, "e"), 5u);
  }
}

TEST_F(SpoolRecoveryTest, LogRecordsPartlySealedKeepOnlyTheNewOnes) {
  {
    Spool s = open();
    append(s, "a");
    append(s, "b");
    ASSERT_TRUE(s.seal(concat));
  }
  // Not produced by the spool itself, but open() must still not duplicate: a log holding 1..3
  // next to a segment holding 1..2.
  spit(folder() / "log",
       format::encode_frame(1, "a") + format::encode_frame(2, "b") + format::encode_frame(3, "c"));
  Spool s = open();
  EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(fs::file_size(folder() / "log"), format::kFrameHeaderBytes + 1);
  EXPECT_EQ(append(s, "d"), 4u);
  EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{3, 4}));
}

TEST_F(SpoolRecoveryTest, ADamagedStateFileDoesNotStopTheQueue) {
  make_three_segments();
  spit(folder() / "state", "garbage");
  Spool s = open();
  EXPECT_EQ(s.stats().segments, 3u);
  EXPECT_EQ(append(s, "next"), 7u);  // recovered from the newest segment
  ASSERT_TRUE(s.seal(concat));
  auto seqs = drained_sequences(s);
  EXPECT_EQ(seqs.size(), 7u);
  EXPECT_EQ(seqs.back(), 7u);
}

class SpoolSyncTest : public testing::SpoolTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SpoolSyncTest, TheWholeCycleWorks) {
  {
    Spool s = open(1 << 20, GetParam());
    for (int i = 1; i <= 9; ++i) {
      EXPECT_EQ(append(s, std::string(100, 'a' + i)), std::uint64_t(i));
      if (i % 4 == 0) {
        ASSERT_TRUE(s.seal(concat));
      }
    }
    EXPECT_EQ(s.stats().segments, 2u);
    EXPECT_EQ(s.stats().open_records, 1u);
    auto seg = s.oldest();
    ASSERT_TRUE(seg && *seg);
    ASSERT_TRUE(s.remove((*seg)->id));
  }
  Spool s = open(1 << 20, GetParam());
  EXPECT_EQ(s.stats().oldest_sequence, 5u);
  EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{9}));
  ASSERT_TRUE(s.seal(concat));
  std::vector<std::uint64_t> seqs;
  for (const auto& r : drain(s))
    seqs.push_back(r.sequence);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{5, 6, 7, 8, 9}));
  EXPECT_TRUE(names(folder()) == (std::set<std::string>{"log", "state"}));
}

INSTANTIATE_TEST_SUITE_P(Sync, SpoolSyncTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Synced" : "Unsynced"; });

}  // namespace
}  // namespace ef::spool

namespace ef::spool {
namespace {

// Random damage to random files (a flipped byte, a cut, an emptied file), 200 rounds: open()
// never fails or crashes, and what it delivers is strictly increasing, never duplicated.
TEST_F(SpoolRecoveryTest, RandomDamageNeverCrashesNorDuplicates) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  for (int round = 0; round < 200; ++round) {
    fs::remove_all(folder());
    make_three_segments();
    {
      Spool s = open();
      append(s, "open one");
      append(s, "open two");
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(folder()))
      files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (int hits = 1 + static_cast<int>(rng() % 3); hits > 0; --hits) {
      const fs::path& file = files[rng() % files.size()];
      std::string data = slurp(file);
      if (data.empty()) continue;
      const std::size_t at = rng() % data.size();
      switch (rng() % 3) {
        case 0:
          data[at] = static_cast<char>(data[at] ^ (1 << (rng() % 8)));
          break;
        case 1:
          data.resize(at);
          break;
        default:
          data.clear();
      }
      spit(file, data);
    }
    auto s = Spool::open({.dir = folder(), .sync = false});
    ASSERT_TRUE(s) << "round " << round << ": " << s.error().message;
    ASSERT_TRUE(s->seal(concat));
    std::uint64_t previous = 0;
    for (const auto& r : drain(*s)) {
      ASSERT_GT(r.sequence, previous) << "round " << round;
      previous = r.sequence;
    }
    ASSERT_LE(previous, 8u);
    auto next = s->append("after");
    ASSERT_TRUE(next);
    EXPECT_GT(*next, previous);
  }
}

}  // namespace
}  // namespace ef::spool

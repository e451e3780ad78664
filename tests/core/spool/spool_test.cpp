#include "core/spool/spool.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "alloc_probe.hpp"
#include "core/spool/format.hpp"
#include "spool_test_util.hpp"

namespace ef::spool {
namespace {

namespace fs = std::filesystem;
using testing::concat;
using testing::drain;
using testing::names;
using testing::slurp;
using testing::spit;
using testing::SpoolTest;

TEST_F(SpoolTest, CreatesItsFolderPrivate) {
  open();
  struct stat st {};
  ASSERT_EQ(::stat(folder().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(fs::exists(folder() / "state"));
}

TEST_F(SpoolTest, SequencesGrowAcrossReopen) {
  {
    Spool s = open();
    EXPECT_EQ(append(s, "a"), 1u);
    EXPECT_EQ(append(s, "b"), 2u);
  }
  Spool s = open();
  EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(append(s, "c"), 3u);
  auto records = s.open_records();
  ASSERT_TRUE(records);
  EXPECT_EQ((*records)[0].bytes, "a");
  EXPECT_EQ((*records)[2].bytes, "c");
}

TEST_F(SpoolTest, SequencesGrowAfterEverythingWasRemoved) {
  {
    Spool s = open();
    for (int i = 0; i < 5; ++i)
      append(s, "x");
    ASSERT_TRUE(s.seal(concat));
    EXPECT_EQ(drain(s).size(), 5u);
    EXPECT_EQ(s.stats().segments, 0u);
  }
  Spool s = open();
  EXPECT_EQ(s.stats().oldest_sequence, 0u);
  EXPECT_EQ(append(s, "y"), 6u);
}

TEST_F(SpoolTest, SealOldestRemoveKeepOrder) {
  Spool s = open();
  EXPECT_TRUE(s.seal(concat));  // empty log: nothing happens
  EXPECT_EQ(s.stats().segments, 0u);
  append(s, "one");
  append(s, "two");
  ASSERT_TRUE(s.seal(concat));
  append(s, "three");
  EXPECT_EQ(s.stats().oldest_sequence, 1u);
  EXPECT_EQ(s.stats().pending_records, 3u);
  ASSERT_TRUE(s.seal(concat));
  EXPECT_EQ(s.stats().segments, 2u);
  EXPECT_EQ(s.stats().open_records, 0u);
  EXPECT_EQ(fs::file_size(folder() / "log"), 0u);

  auto first = s.oldest();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->first_sequence, 1u);
  EXPECT_EQ((*first)->last_sequence, 2u);
  EXPECT_EQ((*first)->records, 2u);
  auto recs = testing::split((*first)->bytes);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].bytes, "two");
  ASSERT_TRUE(s.remove((*first)->id));
  EXPECT_EQ(s.remove((*first)->id).error().code, Errc::not_found);
  EXPECT_EQ(s.stats().pending_records, 1u);

  auto second = s.oldest();
  ASSERT_TRUE(second && *second);
  EXPECT_GT((*second)->id, (*first)->id);
  EXPECT_EQ((*second)->first_sequence, 3u);
  EXPECT_EQ(s.stats().oldest_sequence, 3u);
  ASSERT_TRUE(s.remove((*second)->id));
  auto none = s.oldest();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(s.stats().bytes, 0u);
  EXPECT_EQ(s.stats().pending_records, 0u);
}

TEST_F(SpoolTest, CombineFailureChangesNothing) {
  Spool s = open();
  append(s, "a");
  append(s, "b");
  const auto before_files = names(folder());
  const auto before_log = log_bytes();
  const auto before = s.stats();
  const Status st = s.seal([](const std::vector<Record>& records) -> Result<std::string> {
    EXPECT_EQ(records.size(), 2u);
    return make_error(Errc::internal, "codec broke");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "codec broke");
  EXPECT_EQ(names(folder()), before_files);
  EXPECT_EQ(log_bytes(), before_log);
  EXPECT_EQ(s.stats().open_records, before.open_records);
  EXPECT_EQ(s.stats().segments, 0u);
  ASSERT_TRUE(s.seal(concat));
  EXPECT_EQ(drain(s).size(), 2u);
}

TEST_F(SpoolTest, EvictsOldestSegmentsPastMaxBytesAndCountsSurviveReopen) {
  const std::string record(1000, 'r');
  // Each segment: header + 2 framed records, 2,080 bytes, one 4 KiB block on disk; the bound holds
  // three of them and the state file's block.
  ASSERT_LT(format::kSegmentHeaderBytes + 2 * (12 + record.size()), 4096u);
  const std::uint64_t seg_bytes = 4096;
  {
    Spool s = open(4 * seg_bytes + 10);
    for (int i = 0; i < 10; ++i) {
      append(s, record);
      append(s, record);
      ASSERT_TRUE(s.seal(concat));
      EXPECT_LE(s.stats().bytes, 3 * seg_bytes + 10);  // plus the state: du <= the bound
    }
    const Stats st = s.stats();
    EXPECT_EQ(st.segments, 3u);
    EXPECT_EQ(st.evicted_segments_total, 7u);
    EXPECT_EQ(st.evicted_records_total, 14u);
    EXPECT_EQ(st.oldest_sequence, 15u);
    EXPECT_EQ(st.pending_records, 6u);
  }
  Spool s = open(4 * seg_bytes + 10);
  EXPECT_EQ(s.stats().evicted_segments_total, 7u);
  EXPECT_EQ(s.stats().evicted_records_total, 14u);
  EXPECT_EQ(s.stats().bytes, 3 * seg_bytes);
  EXPECT_EQ(s.stats().pending_records, 6u);
  auto rest = drain(s);
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest.front().sequence, 15u);
  EXPECT_EQ(rest.back().sequence, 20u);
}

TEST_F(SpoolTest, ASegmentLargerThanTheBoundIsEvictedButSequencesStillGrow) {
  {
    Spool s = open(100);
    append(s, std::string(500, 'z'));
    ASSERT_TRUE(s.seal(concat));
    EXPECT_EQ(s.stats().segments, 0u);
    EXPECT_EQ(s.stats().evicted_records_total, 1u);
    EXPECT_EQ(s.stats().bytes, 0u);
  }
  Spool s = open(100);
  EXPECT_EQ(append(s, "next"), 2u);
}

TEST_F(SpoolTest, AnInterruptedEvictionIsFinishedOnOpenWithoutCountingTwice) {
  const std::string record(1000, 'r');
  {
    Spool s = open(3 * 4096 + 100);
    append(s, record);
    ASSERT_TRUE(s.seal(concat));
    append(s, record);
    ASSERT_TRUE(s.seal(concat));
  }
  const auto first = folder() / "seg-0000000000000001.bin";
  const std::string kept = slurp(first);
  {
    Spool s = open(3 * 4096 + 100);
    append(s, record);
    ASSERT_TRUE(s.seal(concat));  // evicts segment 1
    EXPECT_EQ(s.stats().evicted_segments_total, 1u);
  }
  spit(first, kept);  // as if the crash came before the file was deleted
  Spool s = open(3 * 4096 + 100);
  EXPECT_FALSE(fs::exists(first));
  EXPECT_EQ(s.stats().evicted_segments_total, 1u);
  EXPECT_EQ(s.stats().segments, 2u);
}

// Three records in the log; the last one is cut at every length short of complete.
TEST_F(SpoolTest, TornTailIsCutAtEveryOffsetAndEarlierRecordsSurvive) {
  {
    Spool s = open();
    append(s, "first record");
    append(s, "second record");
    append(s, "the third record, the one being written");
  }
  const std::string full = log_bytes();
  const std::size_t two = 2 * format::kFrameHeaderBytes + 12 + 13;
  ASSERT_GT(full.size(), two);
  std::uint64_t cut = 0;
  for (std::size_t len = two; len < full.size(); ++len) {
    spit(folder() / "log", full.substr(0, len));
    cut += len - two;  // the counter persists, so it adds up
    Spool s = open();
    EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{1, 2})) << "length " << len;
    EXPECT_EQ(fs::file_size(folder() / "log"), two);
    EXPECT_EQ(s.stats().torn_bytes_cut_total, cut);
    EXPECT_EQ(append(s, "again"), 3u);
  }
}

TEST_F(SpoolTest, TornBytesAreCounted) {
  {
    Spool s = open();
    append(s, "first");
    append(s, "second");
  }
  const std::string full = log_bytes();
  spit(folder() / "log", full.substr(0, full.size() - 3));
  Spool s = open();
  EXPECT_EQ(s.stats().torn_bytes_cut_total, format::kFrameHeaderBytes + 6 - 3);
  EXPECT_EQ(open().stats().torn_bytes_cut_total, format::kFrameHeaderBytes + 6 - 3);
}

TEST_F(SpoolTest, ABitFlipAnywhereInTheLastRecordCutsOnlyIt) {
  {
    Spool s = open();
    append(s, "kept");
    append(s, "damaged record");
  }
  const std::string full = log_bytes();
  const std::size_t first = format::kFrameHeaderBytes + 4;
  for (std::size_t bit = first * 8; bit < full.size() * 8; ++bit) {
    std::string bad = full;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    spit(folder() / "log", bad);
    Spool s = open();
    EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{1})) << "bit " << bit;
    EXPECT_EQ(fs::file_size(folder() / "log"), first);
  }
}

TEST_F(SpoolTest, AHostileLengthIsRefusedWithoutAllocatingIt) {
  {
    Spool s = open();
    append(s, "kept");
  }
  // A frame header declaring 4 GiB - 1, followed by a little data.
  std::string log = log_bytes();
  const std::size_t good = log.size();
  log += std::string("\xff\xff\xff\xff", 4) + std::string(8, '\x02') + std::string(4, '\0');
  log += std::string(100, 'x');
  spit(folder() / "log", log);
  testing::largest_allocation = 0;
  Spool s = open();
  EXPECT_LT(testing::largest_allocation.load(), std::size_t(1) << 20);
  EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(fs::file_size(folder() / "log"), good);
  EXPECT_EQ(s.stats().torn_bytes_cut_total, 116u);
}

TEST_F(SpoolTest, ARecordLargerThanTheLimitIsRefused) {
  Spool s = open();
  auto r = s.append(std::string(kMaxRecordBytes + 1, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::too_large);
  EXPECT_EQ(s.stats().bytes, 0u);
  EXPECT_EQ(append(s, "small"), 1u);
}

TEST_F(SpoolTest, ADuplicateOrOutOfOrderSequenceInTheLogEndsIt) {
  {
    Spool s = open();
    append(s, "a");
    append(s, "b");
  }
  // Append a valid frame that repeats sequence 2.
  spit(folder() / "log", log_bytes() + format::encode_frame(2, "again"));
  Spool s = open();
  EXPECT_EQ(open_sequences(s), (std::vector<std::uint64_t>{1, 2}));
}

}  // namespace
}  // namespace ef::spool

// A child process appends (and seals every fourth record) until SIGKILL hits it at a random
// moment; after each kill the spool must hold every sequence the child ever wrote, once, with no
// gap: a kill loses at most the record being written, and that record's number is reused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "core/spool/spool.hpp"
#include "spool_test_util.hpp"

namespace ef::spool {
namespace {

using testing::concat;
using testing::drain;

[[noreturn]] void append_until_killed(const std::filesystem::path& dir, bool sync) {
  auto spool = Spool::open({.dir = dir, .sync = sync});
  if (!spool) ::_exit(2);
  for (std::uint64_t i = 0;; ++i) {
    if (!spool->append(std::string(64 + (i * 37) % 2000, static_cast<char>('a' + i % 26))))
      ::_exit(3);
    if (i % 4 == 3 && !spool->seal(concat)) ::_exit(4);
  }
}

class SpoolKillTest : public testing::SpoolTest {};

TEST_F(SpoolKillTest, SigkillAtRandomMomentsLosesNothingWrittenAndDuplicatesNothing) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::uint64_t expected_next = 1;
  std::uint64_t total = 0;
  for (int iteration = 0; iteration < 20; ++iteration) {
    const bool sync = iteration % 2 == 0;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) append_until_killed(folder(), sync);
    ::usleep(2000 + rng() % 40000);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself: exit " << WEXITSTATUS(status);

    Spool s = open();
    ASSERT_TRUE(s.seal(concat));  // the open log too
    for (const auto& r : drain(s)) {
      ASSERT_EQ(r.sequence, expected_next) << "iteration " << iteration;
      ASSERT_FALSE(r.bytes.empty());
      ASSERT_EQ(r.bytes.find_first_not_of(r.bytes[0]), std::string::npos);
      ++expected_next;
      ++total;
    }
    EXPECT_EQ(s.stats().bytes, 0u);
    EXPECT_EQ(s.stats().evicted_records_total, 0u);
  }
  EXPECT_GT(total, 20u) << "the child barely ran; the test proved little";
  RecordProperty("records", static_cast<int>(total));
}

}  // namespace
}  // namespace ef::spool

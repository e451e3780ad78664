// The update journal (state.json, journal.log): durable round trips, and torn or corrupt files
// treated as hostile input: a clear error naming the file, and nothing on disk lost.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "core/common/fs.hpp"
#include "device/update_journal/journal.hpp"
#include "temp_dir_test.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Dir = testing::TempDirTest;

using Journal = Dir;

TEST_F(Journal, CommitsDurablyAndRoundTrips) {
  auto j = update_journal::Journal::open(dir_);
  ASSERT_TRUE(j);
  update_journal::State s;
  s.committed = "1.0.0";
  s.update = update_journal::Update{
      "1.1.0", "1.0.0", update_journal::Phase::trial, update_journal::Kind::model_swap, 2, ""};
  s.failed["0.9.0"] = "crashed";
  ASSERT_TRUE(j->commit(s, "trial"));
  auto again = update_journal::Journal::open(dir_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state().committed, "1.0.0");
  EXPECT_EQ(again->state().update->phase, update_journal::Phase::trial);
  EXPECT_EQ(again->state().update->kind, update_journal::Kind::model_swap);
  EXPECT_EQ(again->state().update->trial_starts, 2);
  EXPECT_EQ(again->state().failed.at("0.9.0"), "crashed");
  EXPECT_NE(read_file(dir_ / "journal.log", 4096)->find("trial phase=trial target=1.1.0"),
            std::string::npos);
}

TEST_F(Journal, RefusesACorruptStateInsteadOfGuessing) {
  write(
      "state.json",
      R"({"format": 1, "committed": "1.0.0", "failed": {}, "update": {"target": "2", "phase": "dancing"}})");
  auto j = update_journal::Journal::open(dir_);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("corrupt"), std::string::npos);
}

// A state in the middle of a trial, as the agent writes it.
update_journal::State trial_state() {
  update_journal::State s;
  s.committed = "1.0.0";
  s.previous = "0.9.0";
  s.update = update_journal::Update{
      "1.1.0", "1.0.0", update_journal::Phase::trial, update_journal::Kind::full, 1, ""};
  s.failed["0.8.0"] = "crashed";
  return s;
}

TEST_F(Journal, ATornStateFileIsRefusedAndLeftForInspection) {
  const std::string whole = update_journal::to_json(trial_state());
  // Every cut a torn write could leave (write_file_atomic makes this unlikely, a broken disk or
  // a hand edit does not): a clear error naming the file, and the bytes left as they were.
  for (std::size_t cut = 0; cut + 1 < whole.size(); cut += 7) {
    const std::string torn = whole.substr(0, cut);
    write("state.json", torn);
    auto j = update_journal::Journal::open(dir_);
    ASSERT_FALSE(j) << "accepted a state cut at " << cut << ": " << torn;
    EXPECT_NE(j.error().message.find("state.json is corrupt"), std::string::npos)
        << j.error().message;
    EXPECT_EQ(*read_file(dir_ / "state.json", 1 << 20), torn) << "the torn file was changed";
  }
}

TEST_F(Journal, RefusesHostileValuesWithAClearError) {
  struct Case {
    const char* what;
    std::string text;
    Errc code;
  };
  const std::string update_tail = R"(, "trial_starts": 1, "failure_reason": ""}})";
  const std::string head =
      R"({"format": 1, "committed": "1.0.0", "failed": {}, "update": {"target": "2", "from": null,)";
  const std::vector<Case> cases = {
      {"empty file", "", Errc::malformed},
      {"not an object", "[1, 2, 3]", Errc::malformed},
      {"a future format", R"({"format": 2, "failed": {}})", Errc::unsupported},
      {"a number for a release", R"({"format": 1, "committed": 7, "failed": {}})", Errc::malformed},
      {"a failure reason that is not text", R"({"format": 1, "failed": {"1.0.0": 3}})",
       Errc::malformed},
      {"an unknown phase", head + R"( "phase": "dancing", "kind": "full")" + update_tail,
       Errc::malformed},
      {"an unknown kind", head + R"( "phase": "trial", "kind": "banana")" + update_tail,
       Errc::malformed},
      {"negative trial starts",
       head + R"( "phase": "trial", "kind": "full", "trial_starts": -1, "failure_reason": ""}})",
       Errc::malformed},
      {"trial starts beyond int",
       head +
           R"( "phase": "trial", "kind": "full", "trial_starts": 4294967297, "failure_reason": ""}})",
       Errc::malformed},
      {"a NUL in the middle", std::string(R"({"format": 1,)") + '\0' + R"( "failed": {}})",
       Errc::malformed},
  };
  for (const auto& c : cases) {
    write("state.json", c.text);
    auto j = update_journal::Journal::open(dir_);
    ASSERT_FALSE(j) << c.what;
    EXPECT_EQ(j.error().code, c.code) << c.what << ": " << j.error().message;
    EXPECT_NE(j.error().message.find("state.json is corrupt"), std::string::npos) << c.what;
    EXPECT_EQ(*read_file(dir_ / "state.json", 1 << 20), c.text) << c.what;
  }
}

TEST_F(Journal, RefusesAnOversizedStateWithoutReadingItAll) {
  write("state.json", R"({"format": 1, "failed": {}, "x": ")" + std::string(2 << 20, 'a') + "\"}");
  auto j = update_journal::Journal::open(dir_);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, Errc::too_large) << j.error().message;
}

TEST_F(Journal, ALeftoverTempFileFromAnInterruptedCommitIsIgnored) {
  {
    auto j = update_journal::Journal::open(dir_);
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->commit(trial_state(), "trial"));
  }
  // A power cut between writing the temp file and renaming it: the old state is the truth.
  write(".state.json.tmp123", R"({"format": 1, "committed": "9.9.9", "fa)");
  auto again = update_journal::Journal::open(dir_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->state().committed, "1.0.0");
  EXPECT_EQ(again->state().update->target, "1.1.0");
}

TEST_F(Journal, ANewDeviceStartsEmptyAndCommitsKeepEveryField) {
  auto j = update_journal::Journal::open(dir_ / "fresh");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_FALSE(j->state().committed);
  EXPECT_FALSE(j->state().update);
  auto s = trial_state();
  s.desired = "1.1.0";
  s.last_failure = "release 0.8.0: crashed";
  s.update->failure_reason = "not healthy";
  s.update->phase = update_journal::Phase::rolling_back;
  ASSERT_TRUE(j->commit(s, "rolling back"));
  auto back = update_journal::from_json(*read_file(dir_ / "fresh/state.json", 1 << 20));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(update_journal::to_json(*back), update_journal::to_json(s));
}

}  // namespace
}  // namespace ef

// The device's update state, journaled so a power cut at any point is recoverable.
//
// state.json holds the truth: the committed release, the previous one (kept for rollback), the
// update in progress and its phase, and releases that failed. Every change is written with
// write_file_atomic (temp file, fsync, rename, fsync of the folder) BEFORE the step it describes
// takes effect, so after a crash the agent knows what might be half done and redoes or undoes it.
// journal.log is an append-only, fsynced history of those changes for people and tests.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/common/time.hpp"

namespace ef::update_journal {

enum class Phase { verifying, downloading, staging, switching, trial, committing, rolling_back };
std::string_view phase_name(Phase phase);
Result<Phase> phase_from_name(std::string_view name);

enum class Kind { full, model_swap };

struct Update {
  std::string target;
  std::optional<std::string> from;  // nothing installed yet on a first install
  Phase phase = Phase::verifying;
  Kind kind = Kind::full;
  int trial_starts = 0;        // how many times a trial began: breaks crash loops
  std::string failure_reason;  // set while rolling back
};

struct State {
  std::optional<std::string> committed;
  std::optional<std::string> previous;
  std::optional<Update> update;
  std::map<std::string, std::string> failed;  // release -> why it failed; not retried
  std::optional<std::string> last_failure;
  std::optional<std::string> desired;  // the last desired release the server named
};

class Journal {
 public:
  // Opens (or creates) the journal in dir; refuses a corrupt state.json rather than guess.
  static Result<Journal> open(const std::filesystem::path& dir);

  const State& state() const { return state_; }
  // Replaces the state durably and appends `event` to journal.log.
  Status commit(State next, std::string_view event);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  State state_;
};

// Serialization (exposed for tests and for reporting).
std::string to_json(const State& state);
Result<State> from_json(std::string_view text);

}  // namespace ef::update_journal

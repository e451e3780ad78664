// A durable, bounded first-in first-out queue of byte records on disk: the agent's telemetry
// spool (72 hours offline in 32 MiB) and the server's relay queue.
//
// Layout in `dir`: an open log of appended records (each framed with its length, sequence number
// and CRC-32C, fsynced before append returns, like the update journal), and sealed segments, each
// one file written atomically (temporary file, fsync, rename, fsync of the folder) holding what a
// combine function made of the log's records. A state file keeps the counters and the next
// sequence number.
//
// Contract:
// - Sequence numbers only grow, across restarts and after every record was removed (the state file
//   keeps the next one; should it be lost or damaged, numbering resumes after the newest record
//   still on disk).
// - A power cut loses at most the record being appended: open() cuts a torn or corrupt tail off
//   the log (counted in Stats::torn_bytes_cut_total) and removes temporary files. A crash between
//   writing a segment and emptying the log never yields the same record twice: the log's records
//   at or below the newest segment's last sequence are dropped on open.
// - Bounded: after seal() the folder holds at most max_bytes (segments and the state file counted
//   in whole 4 KiB blocks, as the file system stores them); past it the oldest segments are
//   deleted and counted (evicted_segments_total, evicted_records_total), never the open log.
// - A sealed segment whose header or CRC is bad (found by open() or oldest()) is deleted and
//   counted (corrupt_segments_total); the queue goes on with the next one. Files in dir that are
//   not the spool's are left alone.
// - Memory stays small whatever the backlog: only an index of the segments is kept (about 40
//   bytes each), never their contents; stats() is O(1).
// - If emptying the log fails after a segment was written, the Spool refuses further calls
//   (Errc::internal): open it again, which recovers without duplicates.
// - Not thread-safe: one owner calls it (the server guards it with a mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"

namespace ef::spool {

// The largest record append() takes (and open() believes a log frame may declare).
inline constexpr std::size_t kMaxRecordBytes = 16 * 1024 * 1024;

struct Options {
  std::filesystem::path dir;
  std::uint64_t max_bytes = 32 * 1024 * 1024;
  bool sync = true;  // fsync (tests of the logic may turn it off; never in a program)
};

struct Record {
  std::uint64_t sequence = 0;
  std::string bytes;
};

struct Segment {
  std::uint64_t id = 0;  // increasing; names the file
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::uint64_t records = 0;
  std::string bytes;
};

struct Stats {
  std::uint64_t open_records = 0;
  std::uint64_t segments = 0;
  std::uint64_t bytes = 0;            // on disk: the log, and segments in whole 4 KiB blocks
  std::uint64_t oldest_sequence = 0;  // of what is pending (0 when nothing is)
  std::uint64_t evicted_segments_total = 0;
  std::uint64_t evicted_records_total = 0;
  std::uint64_t torn_bytes_cut_total = 0;
  std::uint64_t corrupt_segments_total = 0;
  std::uint64_t pending_records = 0;  // in the log and in the segments: not yet removed
};

// What seal() writes for the log's records (given oldest first).
using Combine = std::function<Result<std::string>(const std::vector<Record>& records)>;

class Spool {
 public:
  // Creates dir when missing; recovers what a crash left (see the contract).
  static Result<Spool> open(Options options);

  // Appends one record to the log, durable before it returns. Returns its sequence number.
  Result<std::uint64_t> append(std::string_view record);

  // Turns the log's records into one sealed segment and empties the log; does nothing when the
  // log is empty. Evicts the oldest segments past max_bytes.
  Status seal(const Combine& combine);

  // The records in the open log, oldest first (read back from disk).
  Result<std::vector<Record>> open_records() const;

  // The oldest sealed segment, or nullopt when there is none.
  Result<std::optional<Segment>> oldest() const;

  // Deletes a delivered segment.
  Status remove(std::uint64_t segment_id);

  Stats stats() const;

  Spool(Spool&&) noexcept;
  Spool& operator=(Spool&&) noexcept;
  ~Spool();

 private:
  struct State;
  explicit Spool(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ef::spool

// The spool's on-disk encodings, kept apart from the file handling so each can be tested alone.
// Every integer is little-endian; every check is a CRC-32C (Castagnoli), which the spool computes
// itself: nothing in core had one.
//
//   log record:      [u32 length][u64 sequence][u32 crc32c(sequence bytes + record bytes)][bytes]
//   segment file:    header (kSegmentHeaderBytes, its own CRC) then the payload
//   state file:      the counters and watermarks below, with a trailing CRC
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::spool::format {

std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

inline constexpr std::size_t kFrameHeaderBytes = 16;
inline constexpr std::size_t kSegmentHeaderBytes = 56;

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint64_t sequence = 0;
  std::uint32_t crc = 0;
};

std::string encode_frame(std::uint64_t sequence, std::string_view bytes);
FrameHeader decode_frame_header(const char (&bytes)[kFrameHeaderBytes]);
std::uint32_t frame_crc(std::uint64_t sequence, std::string_view bytes);

struct SegmentHeader {
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
  std::uint32_t payload_crc = 0;
};

std::string encode_segment_header(const SegmentHeader& header);
// Checks magic, version, the header's CRC and that the sequences are coherent.
Result<SegmentHeader> decode_segment_header(std::string_view bytes);

// What the state file keeps. Segments with id <= evicted_through were counted as evicted; open()
// deletes any that a crash left behind without counting them again.
struct PersistentState {
  std::uint64_t next_sequence = 1;
  std::uint64_t next_segment_id = 1;
  std::uint64_t evicted_through = 0;
  std::uint64_t evicted_segments_total = 0;
  std::uint64_t evicted_records_total = 0;
  std::uint64_t torn_bytes_cut_total = 0;
  std::uint64_t corrupt_segments_total = 0;

  bool operator==(const PersistentState&) const = default;
};

std::string encode_state(const PersistentState& state);
Result<PersistentState> decode_state(std::string_view bytes);

}  // namespace ef::spool::format

// The device -> server telemetry encoding (chosen by measurement: bench/telemetry/wire_bench).
//
// A protobuf message (batch.proto: a string table, series as label references, timestamps as
// varint deltas, values XOR-ed with the previous value of the series) compressed with zstd and a
// dictionary built into both ends (dictionary id in the zstd frame; the server keeps every
// dictionary it ever shipped, so old agents keep working).
//
// Contract:
// - decode_batch(encode_batch(b)) == b for any valid batch (labels sorted, finite or NaN values
//   round-trip bit for bit).
// - decode_batch never trusts its input: every size is checked against CodecLimits before memory
//   is allocated for it, and a malformed, truncated or oversized body is an error that names what
//   was wrong (Errc::malformed, Errc::too_large), never a crash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/common/result.hpp"
#include "core/telemetry/series.hpp"

namespace ef::telemetry {

inline constexpr std::string_view kBatchContentType = "application/x-edgefleet-telemetry-v1";

struct CodecLimits {
  std::size_t max_encoded_bytes = 4 * 1024 * 1024;
  std::size_t max_decoded_bytes = 32 * 1024 * 1024;
  std::size_t max_series = 10'000;
  std::size_t max_points = 2'000'000;
  std::size_t max_labels_per_series = 16;
  std::size_t max_string_bytes = 256;  // a metric name, label name or label value
};

Result<std::string> encode_batch(const Batch& batch, int zstd_level = 3);
Result<Batch> decode_batch(std::string_view encoded, const CodecLimits& limits = {});

}  // namespace ef::telemetry

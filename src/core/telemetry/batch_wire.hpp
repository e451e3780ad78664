// The uncompressed layer of the batch codec (batch.proto), and the rules every batch obeys.
// Internal to the telemetry library; exposed for its tests and the wire benchmark.
#pragma once

#include <string>
#include <string_view>

#include "core/common/result.hpp"
#include "core/telemetry/batch_codec.hpp"
#include "core/telemetry/series.hpp"

namespace ef::telemetry {

// What encode_batch accepts and decode_batch returns: first_sequence <= last_sequence; valid
// metric and label names (metrics::valid_metric_name / valid_label_name); labels sorted by name,
// unique, with non-empty values (Prometheus treats an empty value as no label); no series twice;
// points strictly increasing in time; everything within limits. Errc::malformed / too_large.
Status validate_batch(const Batch& batch, const CodecLimits& limits);

// batch.proto bytes of a batch, its symbol table in byte order ("" first) whatever the order of
// the series. No validation.
std::string serialize_batch(const Batch& batch);

// zstd (with the checksum) of any bytes, using the built-in dictionary and stamping its id:
// encode_batch without validation, for tests that need hostile content in a well-formed frame.
Result<std::string> compress_body(std::string_view body, int zstd_level);

// The inverse of serialize_batch, checking sizes and references before building anything, then
// validate_batch.
Result<Batch> parse_batch(std::string_view bytes, const CodecLimits& limits);

}  // namespace ef::telemetry

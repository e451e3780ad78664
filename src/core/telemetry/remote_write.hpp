// Prometheus remote-write 1.0: the WriteRequest protobuf (remote_write.proto, written from the
// specification) compressed with snappy's block format, as Debian's Prometheus 2.42 receives it.
//
// encode_write_request writes each series' labels sorted by name, "__name__" included (so it
// comes first, before any lower-case label name), as the specification asks; decode_write_request
// is its inverse (for tests and the benchmark), bounded like decode_batch, and refuses what
// encode_batch refuses (see validate_batch).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/telemetry/batch_codec.hpp"
#include "core/telemetry/series.hpp"

namespace ef::telemetry {

inline constexpr std::string_view kRemoteWriteContentType = "application/x-protobuf";
inline constexpr std::string_view kRemoteWriteVersion =
    "0.1.0";  // X-Prometheus-Remote-Write-Version

std::string encode_write_request(const std::vector<Series>& series);
Result<std::vector<Series>> decode_write_request(std::string_view snappy_body,
                                                 const CodecLimits& limits = {});

}  // namespace ef::telemetry

// The zstd dictionary built into both ends of the batch codec.
//
// A raw-content dictionary (RFC 8878 section 5: any bytes may serve) made in code from the series
// inventory of issue 19 (metric names, label names and fixed label values), laid out as
// serialize_batch lays out a batch, so a batch's symbol table is mostly a copy from the
// dictionary. Deterministic: nothing binary is committed and both ends compute the same bytes
// whatever their libzstd version. zstd gives raw content the dictionary id 0, so the encoder
// writes kDictionaryId into the frame header itself and the decoder refuses any other id.
//
// Never change the content of a shipped id: a new inventory gets a new id, and the decoder keeps
// every old one (agents in the field still use them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/telemetry/series.hpp"

namespace ef::telemetry {

inline constexpr std::uint32_t kDictionaryId = 0x45460001;  // "EF", version 1

// The series (without points) the dictionary is made from.
std::vector<Series> dictionary_inventory();

// The dictionary for kDictionaryId (computed once).
const std::string& dictionary_content();

}  // namespace ef::telemetry

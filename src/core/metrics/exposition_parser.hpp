// Reading the Prometheus text exposition format (version 0.0.4), as the device agent reads the
// runtime's /metrics: every sample with its labels, value and optional timestamp, and each
// family's TYPE.
//
// Strict where a wrong reading would mislabel a figure: metric and label names must be valid,
// label values must be properly quoted and escaped (\\, \", \n), a label may appear once per
// sample, values are Go-style floats (+Inf, -Inf, NaN included). Anything else refuses the whole
// text with the line number (Errc::malformed), and sizes are bounded (Errc::too_large), so a
// hostile or broken endpoint costs at most the limits below.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/result.hpp"

namespace ef::metrics {

struct ParsedSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;
};

struct Exposition {
  std::vector<ParsedSample> samples;
  std::map<std::string, std::string, std::less<>> types;  // family -> counter, gauge, ...
};

struct ExpositionLimits {
  std::size_t max_bytes = 4 * 1024 * 1024;
  std::size_t max_samples = 20000;
  std::size_t max_labels = 32;
  std::size_t max_label_value_bytes = 1024;
};

Result<Exposition> parse_exposition(std::string_view text, const ExpositionLimits& limits = {});

}  // namespace ef::metrics

// libFuzzer target for the Prometheus text exposition parser the agent reads the runtime's
// /metrics with: any input is refused or parsed, and what parses holds the parser's promises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/metrics/exposition_parser.hpp"
#include "core/metrics/metrics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ef::metrics::parse_exposition(text);
  if (!parsed) return 0;
  for (const auto& sample : parsed->samples) {
    if (!ef::metrics::valid_metric_name(sample.name)) __builtin_trap();
    for (std::size_t i = 0; i < sample.labels.size(); ++i) {
      if (!ef::metrics::valid_label_name(sample.labels[i].first)) __builtin_trap();
      if (i > 0 && !(sample.labels[i - 1].first < sample.labels[i].first)) __builtin_trap();
    }
  }
  return 0;
}

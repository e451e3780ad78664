#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <utility>

#include "core/metrics/exposition_parser.hpp"
#include "device/telemetry/collectors.hpp"

namespace ef::device_telemetry {

namespace {

constexpr std::string_view kRuntimePrefix = "edgefleet_runtime_";

// The server stamps these from the device's certificate and records; a runtime (or whatever
// answers on its port) must not be able to claim another device's identity. ("__" labels, such
// as __name__, never get this far: the parser refuses them.)
bool refused_label(std::string_view name) {
  static constexpr std::array<std::string_view, 4> kIdentity = {"device", "site", "cell",
                                                                "release"};
  return std::find(kIdentity.begin(), kIdentity.end(), name) != kIdentity.end();
}

}  // namespace

Result<RuntimeSeries> from_runtime_exposition(std::string_view text, std::int64_t now_ms,
                                              std::size_t max_series) {
  EF_TRY(metrics::Exposition exposition, metrics::parse_exposition(text));
  RuntimeSeries out;
  std::set<std::pair<std::string, metrics::Labels>> seen;
  for (auto& sample : exposition.samples) {
    if (!std::string_view(sample.name).starts_with(kRuntimePrefix)) continue;
    if (std::any_of(sample.labels.begin(), sample.labels.end(),
                    [](const auto& label) { return refused_label(label.first); })) {
      ++out.refused;
      continue;
    }
    // An empty value is the same as no label to Prometheus; dropping it keeps one spelling.
    std::erase_if(sample.labels, [](const auto& label) { return label.second.empty(); });
    telemetry::sort_labels(sample.labels);
    if (!seen.emplace(sample.name, sample.labels).second) {
      ++out.duplicates;
      continue;
    }
    if (out.series.size() >= max_series) {
      ++out.over_limit;
      continue;
    }
    const std::int64_t ts = sample.timestamp_ms.value_or(now_ms);
    out.series.push_back({std::move(sample.name), std::move(sample.labels), {{ts, sample.value}}});
  }
  return out;
}

}  // namespace ef::device_telemetry

// Internal to device_telemetry: temperatures (thermal zones, hwmon) and thermal throttling counts
// from a /sys tree, appended as series at now_ms. Absent sensors add nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/telemetry/series.hpp"

namespace ef::device_telemetry::detail {

inline constexpr std::size_t kMaxSensors = 64;  // over thermal zones and hwmon inputs together
inline constexpr std::size_t kMaxCpus = 4096;

void append_temperatures(const std::filesystem::path& sys, std::int64_t now_ms,
                         std::vector<telemetry::Series>& out);

void append_throttle_counts(const std::filesystem::path& sys, std::int64_t now_ms,
                            std::vector<telemetry::Series>& out);

}  // namespace ef::device_telemetry::detail

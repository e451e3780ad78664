// What the agent measures every 15 s, as telemetry series stamped with one timestamp.
//
// - SystemCollector reads the kernel's files (root folders configurable so tests use fixture
//   trees): CPU utilisation since the previous call (/proc/stat), memory (/proc/meminfo), the data
//   partition's size and free space (statvfs), thermal zones and hwmon temperatures
//   (/sys/class/thermal, /sys/class/hwmon), thermal throttling counts where the kernel reports
//   them (/sys/devices/system/cpu/cpu*/thermal_throttle), uptime (/proc/uptime). A file that is
//   missing or unreadable leaves its series out; it is never reported as zero.
// - NvmlCollector loads libnvidia-ml.so.1 at run time (dlopen; never linked): GPU utilisation,
//   memory and temperature per GPU. load() returns nullptr when the library or a GPU is absent.
// - from_runtime_exposition turns the runtime's /metrics text into series: only edgefleet_runtime_*
//   families, at most max_series, timestamps from the exposition or `now_ms`. A sample that carries
//   a label the server stamps itself (device, site, cell, release) is refused, and so is a second
//   sample of the same series; the caller gets the counts.
// Metric names and labels are listed in docs/telemetry.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/telemetry/series.hpp"

namespace ef::device_telemetry {

struct SystemPaths {
  std::filesystem::path proc = "/proc";
  std::filesystem::path sys = "/sys";
  std::filesystem::path data_dir = "/var/lib/edgefleet";
};

class SystemCollector {
 public:
  explicit SystemCollector(SystemPaths paths);
  // One series per figure with one point at now_ms. The first call has no CPU utilisation yet
  // (it needs two readings).
  std::vector<telemetry::Series> collect(std::int64_t now_ms);

 private:
  SystemPaths paths_;
  struct CpuTimes {
    std::uint64_t busy = 0, total = 0;
  };
  std::optional<CpuTimes> previous_cpu_;
};

class NvmlCollector {
 public:
  // nullptr when libnvidia-ml.so.1 cannot be loaded, lacks an entry point, fails to initialise or
  // sees no GPU. load_from names the library file (tests load a fake one).
  static std::unique_ptr<NvmlCollector> load();
  static std::unique_ptr<NvmlCollector> load_from(const std::string& library);
  virtual ~NvmlCollector() = default;
  virtual std::vector<telemetry::Series> collect(std::int64_t now_ms) = 0;
};

struct RuntimeSeries {
  std::vector<telemetry::Series> series;
  std::size_t over_limit = 0;  // runtime samples dropped past max_series
  std::size_t refused = 0;     // samples carrying device, site, cell or release
  std::size_t duplicates = 0;  // repeats of a series already taken
};

// Fails only when the text is not a valid exposition (metrics::parse_exposition's errors).
Result<RuntimeSeries> from_runtime_exposition(std::string_view text, std::int64_t now_ms,
                                              std::size_t max_series = 2000);

}  // namespace ef::device_telemetry

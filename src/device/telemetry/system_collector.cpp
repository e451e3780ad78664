#include <sys/statvfs.h>

#include <limits>
#include <string>

#include "device/telemetry/collectors.hpp"
#include "device/telemetry/kernel_files.hpp"
#include "device/telemetry/thermal.hpp"

namespace ef::device_telemetry {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr std::size_t kStatLineBytes = 8192;  // the "cpu" line is the first; the file goes on
constexpr std::size_t kMeminfoBytes = 64 * 1024;
constexpr std::size_t kUptimeBytes = 256;
// Far beyond any real tick count (millions of years at 100 Hz) and small enough that the sums
// below cannot wrap.
constexpr std::uint64_t kMaxTicks = std::uint64_t{1} << 56;

void add(std::vector<telemetry::Series>& out, std::string name, metrics::Labels labels,
         std::int64_t now_ms, double value) {
  telemetry::sort_labels(labels);
  out.push_back({std::move(name), std::move(labels), {{now_ms, value}}});
}

struct CpuReading {
  std::uint64_t busy = 0, total = 0;
};

// "cpu  user nice system idle iowait irq softirq steal guest guest_nice": guest time is already
// inside user and nice, so it is not added again. Kernels before 2.6.11 stop after steal or
// earlier; the first four fields are required.
std::optional<CpuReading> read_cpu(const fs::path& proc) {
  const auto line = read_first_line(proc / "stat", kStatLineBytes);
  if (!line || !line->starts_with("cpu ")) return std::nullopt;
  std::uint64_t field[8] = {};
  std::string_view rest = std::string_view(*line).substr(4);
  std::size_t count = 0;
  for (; count < 8; ++count) {
    rest = trim(rest);
    if (rest.empty()) break;
    const auto word = rest.substr(0, rest.find(' '));
    const auto n = parse_u64(word);
    if (!n || *n > kMaxTicks) return std::nullopt;
    field[count] = *n;
    rest.remove_prefix(word.size());
  }
  if (count < 4) return std::nullopt;
  const auto& [user, nice, system, idle, iowait, irq, softirq, steal] = field;
  CpuReading r;
  r.busy = user + nice + system + irq + softirq + steal;
  r.total = r.busy + idle + iowait;
  return r;
}

// MemTotal and MemAvailable, "Name:   1234 kB" lines, in bytes.
void add_memory(const fs::path& proc, std::int64_t now_ms, std::vector<telemetry::Series>& out) {
  const auto text = read_small(proc / "meminfo", kMeminfoBytes);
  if (!text) return;
  std::string_view rest = *text;
  std::optional<std::uint64_t> total, available;
  while (!rest.empty()) {
    const auto end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto key = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (!value.ends_with(" kB")) continue;
    const auto kb = parse_u64(value.substr(0, value.size() - 3));
    if (!kb || *kb > std::numeric_limits<std::uint64_t>::max() / 1024) continue;
    if (key == "MemTotal") total = *kb * 1024;
    if (key == "MemAvailable") available = *kb * 1024;
  }
  if (total) add(out, "edgefleet_device_memory_total_bytes", {}, now_ms, double(*total));
  if (available)
    add(out, "edgefleet_device_memory_available_bytes", {}, now_ms, double(*available));
}

void add_disk(const fs::path& data_dir, std::int64_t now_ms, std::vector<telemetry::Series>& out) {
  struct statvfs vfs {};
  if (::statvfs(data_dir.c_str(), &vfs) != 0 || vfs.f_frsize == 0) return;
  const double frsize = static_cast<double>(vfs.f_frsize);
  add(out, "edgefleet_device_disk_total_bytes", {{"mount", "data"}}, now_ms,
      static_cast<double>(vfs.f_blocks) * frsize);
  add(out, "edgefleet_device_disk_free_bytes", {{"mount", "data"}}, now_ms,
      static_cast<double>(vfs.f_bavail) * frsize);
}

// "12345.67 54321.00": seconds since boot, then idle seconds summed over CPUs.
void add_uptime(const fs::path& proc, std::int64_t now_ms, std::vector<telemetry::Series>& out) {
  const auto line = read_first_line(proc / "uptime", kUptimeBytes);
  if (!line) return;
  const std::string_view text = trim(*line);
  const auto seconds = parse_double(text.substr(0, text.find(' ')));
  if (!seconds || *seconds < 0) return;
  add(out, "edgefleet_device_uptime_seconds", {}, now_ms, *seconds);
}

}  // namespace

SystemCollector::SystemCollector(SystemPaths paths) : paths_(std::move(paths)) {}

std::vector<telemetry::Series> SystemCollector::collect(std::int64_t now_ms) {
  std::vector<telemetry::Series> out;
  if (const auto cpu = read_cpu(paths_.proc)) {
    // Counters that went backwards (a kernel quirk seen with iowait, or a different file) give
    // no ratio this round; the reading becomes the new reference either way.
    if (previous_cpu_ && cpu->total > previous_cpu_->total && cpu->busy >= previous_cpu_->busy) {
      const double busy = static_cast<double>(cpu->busy - previous_cpu_->busy);
      const double total = static_cast<double>(cpu->total - previous_cpu_->total);
      add(out, "edgefleet_device_cpu_usage_ratio", {}, now_ms, std::min(1.0, busy / total));
    }
    previous_cpu_ = CpuTimes{cpu->busy, cpu->total};
  } else {
    previous_cpu_.reset();
  }
  add_memory(paths_.proc, now_ms, out);
  add_disk(paths_.data_dir, now_ms, out);
  append_temperatures(paths_.sys, now_ms, out);
  append_throttle_counts(paths_.sys, now_ms, out);
  add_uptime(paths_.proc, now_ms, out);
  return out;
}

}  // namespace ef::device_telemetry

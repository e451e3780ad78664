#include "device/telemetry/thermal.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/common/path.hpp"
#include "device/telemetry/kernel_files.hpp"

namespace ef::device_telemetry::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kValueBytes = 64;  // "45000\n"; a sysfs value is never longer
constexpr std::size_t kNameBytes = 256;
constexpr std::size_t kLabelChars = 64;
// Kernel drivers report absent sensors as -273150, 127000 and the like; outside this span a value
// is not a temperature worth sending.
constexpr std::int64_t kMinMillidegrees = -100000;
constexpr std::int64_t kMaxMillidegrees = 250000;

std::optional<double> read_celsius(const fs::path& path) {
  const auto text = read_small(path, kValueBytes);
  if (!text) return std::nullopt;
  const auto milli = parse_i64(*text);
  if (!milli || *milli < kMinMillidegrees || *milli > kMaxMillidegrees) return std::nullopt;
  return static_cast<double>(*milli) / 1000.0;
}

// A short printable name from a sysfs name file ("x86_pkg_temp", "Package id 0"), or "".
std::string read_name(const fs::path& path) {
  const auto line = read_first_line(path, kNameBytes);
  if (!line) return {};
  return printable(trim(*line), kLabelChars);
}

struct Sensors {
  std::int64_t now_ms;
  std::vector<telemetry::Series>& out;
  std::set<std::string> taken;

  bool full() const { return taken.size() >= kMaxSensors; }
  void add(const std::string& sensor, double celsius) {
    if (full() || !taken.insert(sensor).second) return;
    out.push_back(
        {"edgefleet_device_temperature_celsius", {{"sensor", sensor}}, {{now_ms, celsius}}});
  }
};

void thermal_zones(const fs::path& sys, Sensors& sensors) {
  for (const auto& zone :
       numbered_entries(sys / "class/thermal", "thermal_zone", "", kMaxSensors)) {
    if (sensors.full()) return;
    const auto celsius = read_celsius(zone.path / "temp");
    if (!celsius) continue;
    const std::string type = read_name(zone.path / "type");
    const std::string dir = zone.path.filename().string();
    sensors.add(type.empty() ? dir : dir + "/" + type, *celsius);
  }
}

// Two chips may share a driver name (one coretemp per socket, each with "Core 0"): the second
// one's sensor names its hwmon folder instead of "hwmon" so that each series stays distinct.
void hwmon_chips(const fs::path& sys, Sensors& sensors) {
  for (const auto& chip : numbered_entries(sys / "class/hwmon", "hwmon", "", kMaxSensors)) {
    const std::string dir = chip.path.filename().string();
    std::string name = read_name(chip.path / "name");
    if (name.empty()) name = dir;
    for (const auto& input : numbered_entries(chip.path, "temp", "_input", kMaxSensors)) {
      if (sensors.full()) return;
      const auto celsius = read_celsius(input.path);
      if (!celsius) continue;
      const std::string temp = "temp" + std::to_string(input.number);
      std::string label = read_name(chip.path / (temp + "_label"));
      if (label.empty()) label = temp;
      std::string sensor = "hwmon/" + name + "/" + label;
      if (sensors.taken.count(sensor)) sensor = dir + "/" + name + "/" + label;
      sensors.add(sensor, *celsius);
    }
  }
}

}  // namespace

void append_temperatures(const fs::path& sys, std::int64_t now_ms,
                         std::vector<telemetry::Series>& out) {
  Sensors sensors{now_ms, out, {}};
  thermal_zones(sys, sensors);
  hwmon_chips(sys, sensors);
}

// core_throttle_count is per CPU and summed. package_throttle_count is the package's count,
// repeated by every CPU of the package: it is taken once per physical_package_id (a CPU without
// topology counts as its own package). One unreadable file drops that scope's series for the
// round, since a partial sum would look like a counter reset.
void append_throttle_counts(const fs::path& sys, std::int64_t now_ms,
                            std::vector<telemetry::Series>& out) {
  std::uint64_t core = 0;
  bool core_seen = false, core_bad = false, package_bad = false;
  std::map<std::string, std::uint64_t> packages;
  for (const auto& cpu : numbered_entries(sys / "devices/system/cpu", "cpu", "", kMaxCpus)) {
    const fs::path dir = cpu.path / "thermal_throttle";
    if (const auto text = read_small(dir / "core_throttle_count", kValueBytes)) {
      const auto n = parse_u64(*text);
      core_bad |= !n;
      core += n.value_or(0);
      core_seen = true;
    }
    if (const auto text = read_small(dir / "package_throttle_count", kValueBytes)) {
      const auto n = parse_u64(*text);
      package_bad |= !n;
      const auto id = read_small(cpu.path / "topology/physical_package_id", kValueBytes);
      const std::string key =
          id && parse_i64(*id) ? std::string(trim(*id)) : "cpu" + std::to_string(cpu.number);
      packages[key] = n.value_or(0);
    }
  }
  const std::string name = "edgefleet_device_cpu_throttle_events_total";
  if (core_seen && !core_bad)
    out.push_back({name, {{"scope", "core"}}, {{now_ms, static_cast<double>(core)}}});
  if (!packages.empty() && !package_bad) {
    std::uint64_t package = 0;
    for (const auto& [id, n] : packages)
      package += n;
    out.push_back({name, {{"scope", "package"}}, {{now_ms, static_cast<double>(package)}}});
  }
}

}  // namespace ef::device_telemetry::detail

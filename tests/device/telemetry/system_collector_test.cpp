// SystemCollector against fixture /proc and /sys trees (formats copied from real machines), with
// missing and hostile files, and once against this machine's own /proc and /sys.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "device/telemetry/collectors.hpp"
#include "temp_dir_test.hpp"

namespace ef::device_telemetry {
namespace {

namespace fs = std::filesystem;
using telemetry::Series;

constexpr std::int64_t kNow = 1'764'756'000'000;

const char* kStat1 =
    "cpu  1600387 15040 196622 1641591 8394 0 3077 8534 0 0\n"
    "cpu0 792880 5860 91768 839218 2277 0 544 4247 0 0\n"
    "cpu1 807506 9179 104854 802373 6117 0 2532 4287 0 0\n"
    "intr 97214388 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "ctxt 190745283\nbtime 1764738600\nprocesses 81234\nprocs_running 2\nprocs_blocked 0\n";

const char* kMeminfo =
    "MemTotal:       24683664 kB\n"
    "MemFree:        23967120 kB\n"
    "MemAvailable:   24153216 kB\n"
    "Buffers:           21544 kB\n"
    "Cached:           328516 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

// A /proc/stat first line whose busy and idle parts moved by the given ticks from kStat1's.
std::string stat_after(std::uint64_t busy, std::uint64_t idle) {
  // user += busy, idle += idle; everything else unchanged.
  return "cpu  " + std::to_string(1600387 + busy) + " 15040 196622 " +
         std::to_string(1641591 + idle) + " 8394 0 3077 8534 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
}

class SystemCollectorTest : public ef::testing::TempDirTest {
 public:
  void SetUp() override {
    TempDirTest::SetUp();
    paths_ = {dir_ / "proc", dir_ / "sys", dir_ / "data"};
    fs::create_directories(paths_.data_dir);
  }

  // A realistic x86 laptop-like tree: two zones, coretemp and nvme hwmon chips, two CPUs with
  // throttle counts in one package.
  void write_full_tree() {
    write("proc/stat", kStat1);
    write("proc/meminfo", kMeminfo);
    write("proc/uptime", "17394.18 16415.92\n");
    write("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
    write("sys/class/thermal/thermal_zone0/temp", "52000\n");
    write("sys/class/thermal/thermal_zone1/type", "acpitz\n");
    write("sys/class/thermal/thermal_zone1/temp", "-5500\n");
    write("sys/class/thermal/cooling_device0/type", "Processor\n");
    write("sys/class/hwmon/hwmon2/name", "coretemp\n");
    write("sys/class/hwmon/hwmon2/temp1_input", "53000\n");
    write("sys/class/hwmon/hwmon2/temp1_label", "Package id 0\n");
    write("sys/class/hwmon/hwmon2/temp2_input", "49000\n");
    write("sys/class/hwmon/hwmon2/temp2_label", "Core 0\n");
    write("sys/class/hwmon/hwmon2/temp2_max", "100000\n");
    write("sys/class/hwmon/hwmon3/name", "nvme\n");
    write("sys/class/hwmon/hwmon3/temp1_input", "38850\n");
    for (const char* cpu : {"cpu0", "cpu1"}) {
      const std::string base = std::string("sys/devices/system/cpu/") + cpu;
      write(base + "/thermal_throttle/core_throttle_count", cpu[3] == '0' ? "3\n" : "4\n");
      write(base + "/thermal_throttle/package_throttle_count", "7\n");
      write(base + "/topology/physical_package_id", "0\n");
    }
    write("sys/devices/system/cpu/cpufreq/boost", "1\n");
  }

  SystemPaths paths_;
};

// name{label=value} -> value, for the series that have exactly one point at kNow.
std::map<std::string, double> by_key(const std::vector<Series>& series) {
  std::map<std::string, double> out;
  for (const auto& s : series) {
    EXPECT_EQ(s.points.size(), 1u) << s.name;
    if (s.points.size() != 1) continue;
    EXPECT_EQ(s.points[0].timestamp_ms, kNow) << s.name;
    std::string key = s.name;
    for (const auto& [k, v] : s.labels)
      key += "{" + k + "=" + v + "}";
    EXPECT_TRUE(out.emplace(key, s.points[0].value).second) << "duplicate series " << key;
  }
  return out;
}

std::optional<double> find(const std::map<std::string, double>& m, const std::string& key) {
  const auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

TEST_F(SystemCollectorTest, ReadsAFullTree) {
  write_full_tree();
  SystemCollector collector(paths_);
  const auto m = by_key(collector.collect(kNow));
  EXPECT_FALSE(find(m, "edgefleet_device_cpu_usage_ratio")) << "needs two readings";
  EXPECT_EQ(find(m, "edgefleet_device_memory_total_bytes"), 24683664.0 * 1024);
  EXPECT_EQ(find(m, "edgefleet_device_memory_available_bytes"), 24153216.0 * 1024);
  EXPECT_GT(find(m, "edgefleet_device_disk_total_bytes{mount=data}").value_or(0), 0);
  EXPECT_TRUE(find(m, "edgefleet_device_disk_free_bytes{mount=data}"));
  const std::string t = "edgefleet_device_temperature_celsius{sensor=";
  EXPECT_EQ(find(m, t + "thermal_zone0/x86_pkg_temp}"), 52.0);
  EXPECT_EQ(find(m, t + "thermal_zone1/acpitz}"), -5.5);
  EXPECT_EQ(find(m, t + "hwmon/coretemp/Package id 0}"), 53.0);
  EXPECT_EQ(find(m, t + "hwmon/coretemp/Core 0}"), 49.0);
  EXPECT_EQ(find(m, t + "hwmon/nvme/temp1}"), 38.85);
  EXPECT_EQ(find(m, "edgefleet_device_cpu_throttle_events_total{scope=core}"), 7.0);
  // Both CPUs repeat their package's count: it is counted once.
  EXPECT_EQ(find(m, "edgefleet_device_cpu_throttle_events_total{scope=package}"), 7.0);
  EXPECT_EQ(find(m, "edgefleet_device_uptime_seconds"), 17394.18);
  EXPECT_EQ(m.size(), 12u);
}

TEST_F(SystemCollectorTest, CpuUsageComesFromTheDifferenceOfTwoReadings) {
  write_full_tree();
  SystemCollector collector(paths_);
  collector.collect(kNow);
  write("proc/stat", stat_after(30, 70));
  auto m = by_key(collector.collect(kNow));
  EXPECT_DOUBLE_EQ(find(m, "edgefleet_device_cpu_usage_ratio").value_or(-1), 0.3);
  // Counters that did not move give no ratio (not 0, not NaN).
  m = by_key(collector.collect(kNow));
  EXPECT_FALSE(find(m, "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", stat_after(130, 70));
  m = by_key(collector.collect(kNow));
  EXPECT_DOUBLE_EQ(find(m, "edgefleet_device_cpu_usage_ratio").value_or(-1), 1.0);
  // Counters that went backwards (another boot, a kernel quirk) give no ratio either, and the
  // next round measures from the new reference.
  write("proc/stat", stat_after(100, 200));  // busy back, total forward
  m = by_key(collector.collect(kNow));
  EXPECT_FALSE(find(m, "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", stat_after(110, 230));
  m = by_key(collector.collect(kNow));
  EXPECT_DOUBLE_EQ(find(m, "edgefleet_device_cpu_usage_ratio").value_or(-1), 0.25);
  write("proc/stat", stat_after(10, 10));
  m = by_key(collector.collect(kNow));
  EXPECT_FALSE(find(m, "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", stat_after(15, 25));
  m = by_key(collector.collect(kNow));
  EXPECT_DOUBLE_EQ(find(m, "edgefleet_device_cpu_usage_ratio").value_or(-1), 0.25);
}

TEST_F(SystemCollectorTest, BusyIsUserNiceSystemIrqSoftirqStealAndGuestIsNotCountedTwice) {
  write("proc/stat", "cpu  100 100 100 100 100 100 100 100 100 100\n");
  SystemCollector collector(paths_);
  collector.collect(kNow);
  // user+1 nice+2 system+3 idle+4 iowait+5 irq+6 softirq+7 steal+8; guest and guest_nice (already
  // inside user and nice) +1000: busy 27 of 36.
  write("proc/stat", "cpu  101 102 103 104 105 106 107 108 1100 1100\n");
  EXPECT_DOUBLE_EQ(
      find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio").value_or(-1), 0.75);
  // An old kernel's line without iowait, irq, softirq or steal still gives a ratio.
  write("proc/stat", "cpu  111 102 103 114\n");
  EXPECT_FALSE(find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", "cpu  121 102 103 144\n");
  EXPECT_DOUBLE_EQ(
      find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio").value_or(-1), 0.25);
  // Three fields, or a per-CPU line first, is not a reading.
  write("proc/stat", "cpu  131 102 103\n");
  EXPECT_FALSE(find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", "cpu0 141 102 103 154\n");
  EXPECT_FALSE(find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio"));
}

TEST_F(SystemCollectorTest, AGarbledReadingBetweenTwoGoodOnesRestartsTheMeasurement) {
  write_full_tree();
  SystemCollector collector(paths_);
  collector.collect(kNow);
  write("proc/stat", "cpu  lots\n");
  EXPECT_FALSE(find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", stat_after(50, 50));
  EXPECT_FALSE(find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio"));
  write("proc/stat", stat_after(60, 90));
  EXPECT_DOUBLE_EQ(
      find(by_key(collector.collect(kNow)), "edgefleet_device_cpu_usage_ratio").value_or(-1), 0.2);
}

TEST_F(SystemCollectorTest, AnEmptyTreeGivesOnlyTheDisk) {
  SystemCollector collector(paths_);
  collector.collect(kNow);
  const auto m = by_key(collector.collect(kNow));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(find(m, "edgefleet_device_disk_total_bytes{mount=data}"));
  paths_.data_dir = dir_ / "no-such-folder";
  EXPECT_TRUE(SystemCollector(paths_).collect(kNow).empty());
}

TEST_F(SystemCollectorTest, MissingFilesLeaveOnlyTheirSeriesOut) {
  write_full_tree();
  fs::remove(dir_ / "proc/meminfo");
  fs::remove(dir_ / "sys/class/thermal/thermal_zone0/temp");
  fs::remove(dir_ / "sys/class/thermal/thermal_zone1/type");
  fs::remove(dir_ / "sys/class/hwmon/hwmon2/temp2_label");
  fs::remove(dir_ / "sys/class/hwmon/hwmon3/name");
  fs::remove_all(dir_ / "sys/devices/system/cpu/cpu1/topology");
  fs::remove(dir_ / "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count");
  SystemCollector collector(paths_);
  const auto m = by_key(collector.collect(kNow));
  EXPECT_FALSE(find(m, "edgefleet_device_memory_total_bytes"));
  EXPECT_FALSE(find(m, "edgefleet_device_memory_available_bytes"));
  const std::string t = "edgefleet_device_temperature_celsius{sensor=";
  EXPECT_FALSE(find(m, t + "thermal_zone0/x86_pkg_temp}"));
  EXPECT_EQ(find(m, t + "thermal_zone1}"), -5.5);
  EXPECT_EQ(find(m, t + "hwmon/coretemp/temp2}"), 49.0);
  EXPECT_EQ(find(m, t + "hwmon/hwmon3/temp1}"), 38.85);
  // A CPU without throttle files (offline) is simply not counted.
  EXPECT_EQ(find(m, "edgefleet_device_cpu_throttle_events_total{scope=core}"), 4.0);
  // Without topology cpu1 counts as its own package.
  EXPECT_EQ(find(m, "edgefleet_device_cpu_throttle_events_total{scope=package}"), 14.0);
  EXPECT_TRUE(find(m, "edgefleet_device_uptime_seconds"));
}

TEST_F(SystemCollectorTest, GarbageIsLeftOutNeverReportedAsZero) {
  write_full_tree();
  write("proc/stat", "cpu  -1 2 3 4 5 6 7 8 0 0\n");
  write("proc/meminfo", "MemTotal:       lots kB\nMemAvailable:   -2048 kB\n");
  write("proc/uptime", "nan 12.0\n");
  write("sys/class/thermal/thermal_zone0/temp", "warm\n");
  write("sys/class/thermal/thermal_zone1/temp", "-273150\n");  // what some drivers say for "none"
  write("sys/class/hwmon/hwmon2/temp1_input", "53000 degrees\n");
  write("sys/class/hwmon/hwmon2/temp2_input", "99999999999999999999999\n");
  write("sys/class/hwmon/hwmon3/temp1_input", "");
  write("sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count", "-4\n");
  write("sys/devices/system/cpu/cpu1/thermal_throttle/package_throttle_count", "0x7\n");
  SystemCollector collector(paths_);
  collector.collect(kNow);
  const auto m = by_key(collector.collect(kNow));
  EXPECT_EQ(m.size(), 2u);  // the disk only
  EXPECT_TRUE(find(m, "edgefleet_device_disk_free_bytes{mount=data}"));
}

TEST_F(SystemCollectorTest, HugeFilesAreNotReadInFull) {
  write_full_tree();
  write("proc/stat", std::string(1 << 20, '7'));               // no line end in the first 8 KiB
  write("proc/meminfo", std::string(100000, ' ') + kMeminfo);  // past the 64 KiB bound
  write("sys/class/thermal/thermal_zone0/temp", "52000" + std::string(4096, ' ') + "\n");
  write("sys/class/hwmon/hwmon2/name", std::string(1 << 20, 'x'));  // a name without a line end
  SystemCollector collector(paths_);
  collector.collect(kNow);
  const auto m = by_key(collector.collect(kNow));
  EXPECT_FALSE(find(m, "edgefleet_device_cpu_usage_ratio"));
  EXPECT_FALSE(find(m, "edgefleet_device_memory_total_bytes"));
  const std::string t = "edgefleet_device_temperature_celsius{sensor=";
  EXPECT_FALSE(find(m, t + "thermal_zone0/x86_pkg_temp}"));
  EXPECT_EQ(find(m, t + "hwmon/hwmon2/Package id 0}"), 53.0);
  EXPECT_TRUE(find(m, "edgefleet_device_uptime_seconds"));
}

TEST_F(SystemCollectorTest, AFolderOrAFifoWhereAFileShouldBeIsSkipped) {
  write_full_tree();
  fs::remove(dir_ / "proc/meminfo");
  fs::create_directories(dir_ / "proc/meminfo");
  fs::remove(dir_ / "sys/class/thermal/thermal_zone0/temp");
  ASSERT_EQ(::mkfifo((dir_ / "sys/class/thermal/thermal_zone0/temp").c_str(), 0600), 0);
  SystemCollector collector(paths_);
  const auto m = by_key(collector.collect(kNow));  // must not block on the FIFO
  EXPECT_FALSE(find(m, "edgefleet_device_memory_total_bytes"));
  EXPECT_FALSE(find(m, "edgefleet_device_temperature_celsius{sensor=thermal_zone0/x86_pkg_temp}"));
  EXPECT_TRUE(find(m, "edgefleet_device_temperature_celsius{sensor=thermal_zone1/acpitz}"));
}

TEST_F(SystemCollectorTest, SensorsAreBoundedAndKeepDistinctNames) {
  write_full_tree();
  // A second coretemp chip (a second socket) with the same labels as the first.
  write("sys/class/hwmon/hwmon4/name", "coretemp\n");
  write("sys/class/hwmon/hwmon4/temp1_input", "61000\n");
  write("sys/class/hwmon/hwmon4/temp1_label", "Package id 0\n");
  // A label with control characters is escaped, not passed on raw.
  write("sys/class/hwmon/hwmon3/temp1_label", "Com\x01posite\n");
  SystemCollector collector(paths_);
  auto m = by_key(collector.collect(kNow));
  const std::string t = "edgefleet_device_temperature_celsius{sensor=";
  EXPECT_EQ(find(m, t + "hwmon/coretemp/Package id 0}"), 53.0);
  EXPECT_EQ(find(m, t + "hwmon4/coretemp/Package id 0}"), 61.0);
  EXPECT_EQ(find(m, t + "hwmon/nvme/Com\\x01posite}"), 38.85);

  for (int i = 0; i < 200; ++i)
    write("sys/class/thermal/thermal_zone" + std::to_string(i + 2) + "/temp", "40000\n");
  m = by_key(collector.collect(kNow));
  std::size_t temperatures = 0;
  for (const auto& [key, value] : m)
    temperatures += key.starts_with("edgefleet_device_temperature_celsius");
  EXPECT_EQ(temperatures, 64u);
}

// This machine's own kernel files: CPU, memory, uptime and disk must be there; temperatures and
// throttle counts may not be (virtual machines rarely have them), but if present they are sane.
TEST(SystemCollectorRealMachine, ReportsCpuMemoryUptimeAndDisk) {
  SystemCollector collector({"/proc", "/sys", fs::temp_directory_path()});
  collector.collect(kNow);
  ::usleep(200'000);
  const auto m = by_key(collector.collect(kNow));
  const auto cpu = find(m, "edgefleet_device_cpu_usage_ratio");
  ASSERT_TRUE(cpu);
  EXPECT_GE(*cpu, 0.0);
  EXPECT_LE(*cpu, 1.0);
  EXPECT_GT(find(m, "edgefleet_device_memory_total_bytes").value_or(0), 64.0 * 1024 * 1024);
  EXPECT_GT(find(m, "edgefleet_device_memory_available_bytes").value_or(0), 0);
  EXPECT_LE(find(m, "edgefleet_device_memory_available_bytes").value_or(0),
            find(m, "edgefleet_device_memory_total_bytes").value_or(0));
  EXPECT_GT(find(m, "edgefleet_device_uptime_seconds").value_or(0), 0);
  EXPECT_GT(find(m, "edgefleet_device_disk_total_bytes{mount=data}").value_or(0), 0);
  for (const auto& [key, value] : m) {
    if (key.starts_with("edgefleet_device_temperature_celsius")) {
      EXPECT_GT(value, -100) << key;
      EXPECT_LT(value, 250) << key;
    }
  }
}

}  // namespace
}  // namespace ef::device_telemetry

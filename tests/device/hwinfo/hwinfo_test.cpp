// Hardware facts from a fake /sys and /proc: DMI, device tree, CPU, memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "device/hwinfo/hwinfo.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;

TEST(Hwinfo, ReadsDmiAndDeviceTree) {
  const fs::path root = fs::temp_directory_path() / ("ef-hw-" + std::to_string(::getpid()));
  fs::create_directories(root / "sys/class/dmi/id");
  fs::create_directories(root / "proc/device-tree");
  std::ofstream(root / "sys/class/dmi/id/sys_vendor") << "Advantech\n";
  std::ofstream(root / "proc/device-tree/model") << std::string("Jetson Orin\0", 12);
  std::ofstream(root / "proc/device-tree/serial-number") << std::string("1423\0", 5);
  std::ofstream(root / "proc/cpuinfo") << "processor\t: 0\nmodel name\t: Cortex-A78AE\n";
  std::ofstream(root / "proc/meminfo") << "MemTotal:       16314880 kB\n";
  auto f = hwinfo::collect(root, root);
  EXPECT_EQ(f.make, "Advantech");
  EXPECT_EQ(f.model, "Jetson Orin");
  EXPECT_EQ(f.serial, "1423");
  EXPECT_EQ(f.cpu, "Cortex-A78AE");
  EXPECT_EQ(f.memory_bytes, 16314880ull * 1024);
  EXPECT_GT(f.disk_bytes, 0u);
  fs::remove_all(root);
}

TEST(Hwinfo, MissingOrGarbledFilesLeaveFactsEmpty) {
  const fs::path root = fs::temp_directory_path() / ("ef-hw-bad-" + std::to_string(::getpid()));
  fs::create_directories(root / "proc");
  std::ofstream(root / "proc/meminfo") << "MemTotal: lots kB\n";
  std::ofstream(root / "proc/cpuinfo") << std::string(1 << 16, '\x01');
  auto f = hwinfo::collect(root, root);
  EXPECT_EQ(f.make, "");
  EXPECT_EQ(f.serial, "");
  EXPECT_EQ(f.memory_bytes, 0u);
  EXPECT_EQ(f.cpu, "");
  const auto j = hwinfo::to_json(f);
  EXPECT_TRUE(j.is_object());
  fs::remove_all(root);
}

}  // namespace
}  // namespace ef

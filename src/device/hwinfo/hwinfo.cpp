#include "device/hwinfo/hwinfo.hpp"

#include <sys/statvfs.h>

#include <fstream>
#include <sstream>

#include "core/common/path.hpp"

namespace ef::hwinfo {

namespace fs = std::filesystem;

namespace {

// First line of a small file, printable and trimmed; device-tree strings end with NUL.
std::string read_line(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string s(256, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  const auto end = s.find_first_of(std::string("\n\0", 2));
  if (end != std::string::npos) s.resize(end);
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return printable(s);
}

std::string proc_field(const fs::path& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return printable(v);
    }
  }
  return {};
}

}  // namespace

Facts collect(const fs::path& data_dir, const fs::path& root) {
  Facts f;
  const fs::path dmi = root / "sys/class/dmi/id";
  f.make = read_line(dmi / "sys_vendor");
  f.model = read_line(dmi / "product_name");
  f.serial = read_line(dmi / "product_serial");
  if (f.model.empty()) f.model = read_line(root / "proc/device-tree/model");
  if (f.serial.empty()) f.serial = read_line(root / "proc/device-tree/serial-number");
  if (f.make.empty()) {
    // "compatible" starts with "vendor,board".
    const std::string compatible = read_line(root / "proc/device-tree/compatible");
    f.make = compatible.substr(0, compatible.find(','));
  }
  f.cpu = proc_field(root / "proc/cpuinfo", "model name");
  if (f.cpu.empty()) f.cpu = proc_field(root / "proc/cpuinfo", "Model");
  const std::string mem = proc_field(root / "proc/meminfo", "MemTotal");  // "16314880 kB"
  if (!mem.empty()) {
    try {
      f.memory_bytes = std::stoull(mem) * 1024;
    } catch (const std::exception&) {
    }
  }
  struct statvfs vfs {};
  if (::statvfs(data_dir.c_str(), &vfs) == 0) {
    f.disk_bytes = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    f.disk_free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  return f;
}

json::Json to_json(const Facts& f) {
  return json::Json{{"make", f.make},
                    {"model", f.model},
                    {"serial", f.serial},
                    {"cpu", f.cpu},
                    {"memory_bytes", f.memory_bytes},
                    {"disk_bytes", f.disk_bytes},
                    {"disk_free_bytes", f.disk_free_bytes}};
}

}  // namespace ef::hwinfo

// Hardware facts for the inventory: make, model and serial from DMI (x86) or the device tree
// (ARM boards), CPU model, memory and disk. Read from /sys and /proc; missing facts are empty.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/json/json.hpp"

namespace ef::hwinfo {

struct Facts {
  std::string make, model, serial, cpu;
  std::uint64_t memory_bytes = 0;
  std::uint64_t disk_bytes = 0;  // of the filesystem holding the data folder
  std::uint64_t disk_free_bytes = 0;
};

// root lets tests point at a fake /sys and /proc tree ("/" on a device).
Facts collect(const std::filesystem::path& data_dir, const std::filesystem::path& root = "/");

json::Json to_json(const Facts& facts);

}  // namespace ef::hwinfo

// NvmlCollector against fake NVML libraries built beside the test (fake_nvml.cpp).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <string>

#include "device/telemetry/collectors.hpp"

namespace ef::device_telemetry {
namespace {

constexpr std::int64_t kNow = 1'764'756'000'000;

std::map<std::string, double> by_key(const std::vector<telemetry::Series>& series) {
  std::map<std::string, double> out;
  for (const auto& s : series) {
    EXPECT_EQ(s.points.size(), 1u);
    EXPECT_EQ(s.points.at(0).timestamp_ms, kNow);
    EXPECT_EQ(s.labels.size(), 1u);
    EXPECT_EQ(s.labels.at(0).first, "gpu");
    EXPECT_TRUE(
        out.emplace(s.name + "{" + s.labels.at(0).second + "}", s.points.at(0).value).second);
  }
  return out;
}

// The fake library, held open by the test so that its state (open NVML sessions) outlives the
// collector's dlclose.
class FakeNvml {
 public:
  FakeNvml() : handle_(::dlopen(EF_FAKE_NVML, RTLD_NOW | RTLD_LOCAL)) {}
  ~FakeNvml() {
    if (handle_ != nullptr) ::dlclose(handle_);
  }
  FakeNvml(const FakeNvml&) = delete;
  FakeNvml& operator=(const FakeNvml&) = delete;
  // nvmlInit_v2 calls not matched by nvmlShutdown.
  int open_sessions() const {
    if (handle_ == nullptr) return -1;
    auto* sessions = reinterpret_cast<int (*)()>(::dlsym(handle_, "fake_nvml_open_sessions"));
    return sessions != nullptr ? sessions() : -1;
  }

 private:
  void* handle_;
};

TEST(NvmlCollector, ReadsEveryGpuAndLeavesOutWhatOneCannotReport) {
  const FakeNvml fake;
  auto nvml = NvmlCollector::load_from(EF_FAKE_NVML);
  ASSERT_NE(nvml, nullptr);
  const auto m = by_key(nvml->collect(kNow));
  const std::map<std::string, double> expected = {
      {"edgefleet_device_gpu_utilization_ratio{0}", 0.37},
      {"edgefleet_device_gpu_utilization_ratio{1}", 1.0},
      {"edgefleet_device_gpu_memory_used_bytes{0}", 3.0 * (1 << 30)},
      {"edgefleet_device_gpu_memory_used_bytes{1}", 1 << 20},
      {"edgefleet_device_gpu_memory_total_bytes{0}", 8.0 * (1 << 30)},
      {"edgefleet_device_gpu_memory_total_bytes{1}", 8.0 * (1 << 30)},
      {"edgefleet_device_gpu_temperature_celsius{0}", 64},
      // GPU 1 has no temperature sensor: no series, not 0.
  };
  EXPECT_EQ(m, expected);
  EXPECT_EQ(fake.open_sessions(), 1);
  nvml.reset();
  EXPECT_EQ(fake.open_sessions(), 0) << "nvmlShutdown must be called";
}

TEST(NvmlCollector, AnAbsentLibraryGivesNoCollector) {
  EXPECT_EQ(NvmlCollector::load_from("/nonexistent/libnvidia-ml.so.1"), nullptr);
  EXPECT_EQ(NvmlCollector::load_from(std::string(EF_SOURCE_DIR) + "/CMakeLists.txt"), nullptr);
}

// On this build machine there is no NVIDIA driver; where there is one, load() must still work.
TEST(NvmlCollector, LoadOnThisMachineDoesNotFail) {
  void* real = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  auto nvml = NvmlCollector::load();
  if (real == nullptr) {
    EXPECT_EQ(nvml, nullptr);
  } else {
    ::dlclose(real);
    if (nvml) {
      EXPECT_FALSE(nvml->collect(kNow).empty());
    }
  }
}

TEST(NvmlCollector, ALibraryWithoutAnEntryPointGivesNoCollector) {
  EXPECT_EQ(NvmlCollector::load_from(EF_FAKE_NVML_INCOMPLETE), nullptr);
}

TEST(NvmlCollector, FailedInitOrNoGpuGivesNoCollectorAndNoSessionLeft) {
  const FakeNvml fake;
  ASSERT_EQ(::setenv("EF_FAKE_NVML_INIT_FAILS", "1", 1), 0);
  EXPECT_EQ(NvmlCollector::load_from(EF_FAKE_NVML), nullptr);
  ASSERT_EQ(::unsetenv("EF_FAKE_NVML_INIT_FAILS"), 0);
  ASSERT_EQ(::setenv("EF_FAKE_NVML_GPUS", "0", 1), 0);
  EXPECT_EQ(NvmlCollector::load_from(EF_FAKE_NVML), nullptr);
  EXPECT_EQ(fake.open_sessions(), 0);
  // More GPUs counted than handles available: the missing ones are skipped, not zero-filled.
  ASSERT_EQ(::setenv("EF_FAKE_NVML_GPUS", "3", 1), 0);
  auto nvml = NvmlCollector::load_from(EF_FAKE_NVML);
  ASSERT_NE(nvml, nullptr);
  EXPECT_EQ(nvml->collect(kNow).size(), 7u);
  ASSERT_EQ(::unsetenv("EF_FAKE_NVML_GPUS"), 0);
}

}  // namespace
}  // namespace ef::device_telemetry

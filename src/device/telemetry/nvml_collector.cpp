// NVML through dlopen: the agent runs on machines without NVIDIA's driver, so nothing is linked
// and no NVIDIA header is needed. The few declarations below follow NVIDIA's public NVML API
// reference (nvml.h): every call returns nvmlReturn_t, 0 being NVML_SUCCESS.
#include <dlfcn.h>

#include <string>

#include "device/telemetry/collectors.hpp"

namespace ef::device_telemetry {

namespace {

using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned int gpu;     // percent of the last sample period with a kernel running
  unsigned int memory;  // percent of it with device memory read or written
};
struct nvmlMemory_t {
  unsigned long long total, free, used;  // bytes
};
constexpr int kNvmlTemperatureGpu = 0;  // nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU
constexpr unsigned int kMaxGpus = 64;

struct Api {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  nvmlReturn_t (*count)(unsigned int*);
  nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*);
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*);
};

template <typename F>
bool bind(void* library, const char* name, F& fn) {
  fn = reinterpret_cast<F>(::dlsym(library, name));
  return fn != nullptr;
}

bool bind_all(void* library, Api& api) {
  return bind(library, "nvmlInit_v2", api.init) && bind(library, "nvmlShutdown", api.shutdown) &&
         bind(library, "nvmlDeviceGetCount_v2", api.count) &&
         bind(library, "nvmlDeviceGetHandleByIndex_v2", api.handle) &&
         bind(library, "nvmlDeviceGetUtilizationRates", api.utilization) &&
         bind(library, "nvmlDeviceGetMemoryInfo", api.memory) &&
         bind(library, "nvmlDeviceGetTemperature", api.temperature);
}

class DlNvmlCollector final : public NvmlCollector {
 public:
  DlNvmlCollector(void* library, Api api, unsigned int gpus)
      : library_(library), api_(api), gpus_(gpus) {}
  ~DlNvmlCollector() override {
    api_.shutdown();
    ::dlclose(library_);
  }
  DlNvmlCollector(const DlNvmlCollector&) = delete;
  DlNvmlCollector& operator=(const DlNvmlCollector&) = delete;

  // A GPU whose handle or figure cannot be read this round (fallen off the bus, reset) leaves
  // those series out; the others are still sent.
  std::vector<telemetry::Series> collect(std::int64_t now_ms) override {
    std::vector<telemetry::Series> out;
    for (unsigned int i = 0; i < gpus_; ++i) {
      nvmlDevice_t device = nullptr;
      if (api_.handle(i, &device) != kNvmlSuccess) continue;
      const metrics::Labels labels = {{"gpu", std::to_string(i)}};
      const auto add = [&](const char* name, double value) {
        out.push_back({name, labels, {{now_ms, value}}});
      };
      nvmlUtilization_t rates{};
      if (api_.utilization(device, &rates) == kNvmlSuccess && rates.gpu <= 100)
        add("edgefleet_device_gpu_utilization_ratio", rates.gpu / 100.0);
      nvmlMemory_t memory{};
      if (api_.memory(device, &memory) == kNvmlSuccess) {
        add("edgefleet_device_gpu_memory_used_bytes", static_cast<double>(memory.used));
        add("edgefleet_device_gpu_memory_total_bytes", static_cast<double>(memory.total));
      }
      unsigned int celsius = 0;
      if (api_.temperature(device, kNvmlTemperatureGpu, &celsius) == kNvmlSuccess)
        add("edgefleet_device_gpu_temperature_celsius", celsius);
    }
    return out;
  }

 private:
  void* library_;
  Api api_;
  unsigned int gpus_;
};

}  // namespace

std::unique_ptr<NvmlCollector> NvmlCollector::load() {
  return load_from("libnvidia-ml.so.1");
}

std::unique_ptr<NvmlCollector> NvmlCollector::load_from(const std::string& library) {
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return nullptr;
  Api api{};
  unsigned int gpus = 0;
  if (!bind_all(handle, api) || api.init() != kNvmlSuccess) {
    ::dlclose(handle);
    return nullptr;
  }
  if (api.count(&gpus) != kNvmlSuccess || gpus == 0) {
    api.shutdown();
    ::dlclose(handle);
    return nullptr;
  }
  return std::make_unique<DlNvmlCollector>(handle, api, std::min(gpus, kMaxGpus));
}

}  // namespace ef::device_telemetry

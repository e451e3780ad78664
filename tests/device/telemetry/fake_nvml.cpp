// A stand-in for libnvidia-ml.so.1, loaded by NvmlCollector::load_from in the tests: two GPUs with
// fixed figures. GPU 1 has no temperature sensor (NVML_ERROR_NOT_SUPPORTED), so its temperature
// series must be left out. EF_FAKE_NVML_GPUS (a number) and EF_FAKE_NVML_INIT_FAILS (set) change
// what nvmlInit_v2 and nvmlDeviceGetCount_v2 answer. Built with FAKE_NVML_INCOMPLETE, the
// temperature entry point is missing altogether.
#include <cstdlib>

extern "C" {

struct nvmlDevice_st {
  unsigned int index;
};
struct nvmlUtilization_t {
  unsigned int gpu, memory;
};
struct nvmlMemory_t {
  unsigned long long total, free, used;
};

namespace {
nvmlDevice_st devices[2] = {{0}, {1}};
int initialised = 0;
constexpr int kSuccess = 0, kInvalidArgument = 2, kNotSupported = 3, kUninitialized = 1;
}  // namespace

int nvmlInit_v2() {
  if (std::getenv("EF_FAKE_NVML_INIT_FAILS") != nullptr) return 9;  // NVML_ERROR_DRIVER_NOT_LOADED
  ++initialised;
  return kSuccess;
}

int nvmlShutdown() {
  if (initialised == 0) return kUninitialized;
  --initialised;
  return kSuccess;
}

int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (initialised == 0) return kUninitialized;
  const char* gpus = std::getenv("EF_FAKE_NVML_GPUS");
  *count = gpus != nullptr ? static_cast<unsigned int>(std::atoi(gpus)) : 2;
  return kSuccess;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_st** device) {
  if (initialised == 0) return kUninitialized;
  if (index >= 2) return kInvalidArgument;
  *device = &devices[index];
  return kSuccess;
}

int nvmlDeviceGetUtilizationRates(nvmlDevice_st* device, nvmlUtilization_t* rates) {
  rates->gpu = device->index == 0 ? 37 : 100;
  rates->memory = 12;
  return kSuccess;
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_st* device, nvmlMemory_t* memory) {
  memory->total = 8ull << 30;
  memory->used = device->index == 0 ? 3ull << 30 : 1ull << 20;
  memory->free = memory->total - memory->used;
  return kSuccess;
}

#ifndef FAKE_NVML_INCOMPLETE
int nvmlDeviceGetTemperature(nvmlDevice_st* device, int sensor, unsigned int* celsius) {
  if (sensor != 0 || device->index != 0) return kNotSupported;
  *celsius = 64;
  return kSuccess;
}
#endif

// How many nvmlInit_v2 calls are not yet matched by nvmlShutdown (the test checks it returns to 0).
int fake_nvml_open_sessions() {
  return initialised;
}

}  // extern "C"

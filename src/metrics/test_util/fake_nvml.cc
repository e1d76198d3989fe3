// SPDX-License-Identifier: Apache-2.0
// A fake libnvidia-ml for tests: the NVML functions the GPU probe calls, over one GPU whose
// readings the test sets through fake_nvml_set (found with dlsym on the same library).
#include <cstring>

extern "C" {

namespace {
struct FakeGpu {
  unsigned int utilization_percent = 0;
  unsigned long long memory_total = 0;
  unsigned long long memory_used = 0;
  unsigned int power_mw = 0;
  unsigned int power_limit_mw = 0;
  unsigned long long energy_mj = 0;
};
FakeGpu gpu;
int fake_device = 0;
}  // namespace

__attribute__((visibility("default"))) void fake_nvml_set(unsigned int utilization_percent,
                                                          unsigned long long memory_used,
                                                          unsigned long long memory_total,
                                                          unsigned int power_mw,
                                                          unsigned int power_limit_mw,
                                                          unsigned long long energy_mj) {
  gpu = {utilization_percent, memory_total, memory_used, power_mw, power_limit_mw, energy_mj};
}

__attribute__((visibility("default"))) int nvmlInit_v2() { return 0; }
__attribute__((visibility("default"))) int nvmlShutdown() { return 0; }
__attribute__((visibility("default"))) const char* nvmlErrorString(int) { return "fake error"; }
__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 1;
  return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned int,
                                                                         void** device) {
  *device = &fake_device;
  return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetUUID(void*, char* uuid,
                                                             unsigned int length) {
  std::strncpy(uuid, "GPU-fake-0000", length);
  return 0;
}
struct Utilization {
  unsigned int gpu;
  unsigned int memory;
};
__attribute__((visibility("default"))) int nvmlDeviceGetUtilizationRates(void*,
                                                                         Utilization* rates) {
  rates->gpu = gpu.utilization_percent;
  rates->memory = 0;
  return 0;
}
struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
__attribute__((visibility("default"))) int nvmlDeviceGetMemoryInfo(void*, Memory* memory) {
  memory->total = gpu.memory_total;
  memory->used = gpu.memory_used;
  memory->free = gpu.memory_total - gpu.memory_used;
  return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(void*, unsigned int* mw) {
  *mw = gpu.power_mw;
  return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetEnforcedPowerLimit(void*,
                                                                           unsigned int* mw) {
  *mw = gpu.power_limit_mw;
  return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetTotalEnergyConsumption(
    void*, unsigned long long* mj) {
  *mj = gpu.energy_mj;
  return 0;
}

}  // extern "C"

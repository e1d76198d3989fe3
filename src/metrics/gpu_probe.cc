// SPDX-License-Identifier: Apache-2.0
#include "metrics/gpu_probe.h"

#include <dlfcn.h>

#include "fmt/format.h"

namespace inferd::metrics {
namespace {

// The subset of nvml.h that the probe calls (NVML's C ABI, stable across driver versions).
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr unsigned int kUuidBufferSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

struct NvmlApi {
  nvmlReturn_t (*Init)();
  nvmlReturn_t (*Shutdown)();
  const char* (*ErrorString)(nvmlReturn_t);
  nvmlReturn_t (*DeviceGetCount)(unsigned int*);
  nvmlReturn_t (*DeviceGetHandleByIndex)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*DeviceGetUUID)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*DeviceGetUtilizationRates)(nvmlDevice_t, nvmlUtilization_t*);
  nvmlReturn_t (*DeviceGetMemoryInfo)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*DeviceGetPowerUsage)(nvmlDevice_t, unsigned int*);                    // mW
  nvmlReturn_t (*DeviceGetEnforcedPowerLimit)(nvmlDevice_t, unsigned int*);            // mW
  nvmlReturn_t (*DeviceGetTotalEnergyConsumption)(nvmlDevice_t, unsigned long long*);  // mJ
};

class NvmlProbe final : public GpuProbe {
 public:
  NvmlProbe(void* library, NvmlApi api) : library_(library), api_(api) {}
  ~NvmlProbe() override {
    api_.Shutdown();
    dlclose(library_);
  }

  absl::Status Open() {
    unsigned int count = 0;
    if (nvmlReturn_t r = api_.DeviceGetCount(&count); r != kNvmlSuccess) {
      return absl::UnavailableError(fmt::format("nvmlDeviceGetCount failed: {}", Error(r)));
    }
    if (count == 0) return absl::NotFoundError("NVML sees no GPU");
    for (unsigned int i = 0; i < count; ++i) {
      Device device;
      if (nvmlReturn_t r = api_.DeviceGetHandleByIndex(i, &device.handle); r != kNvmlSuccess) {
        return absl::UnavailableError(
            fmt::format("nvmlDeviceGetHandleByIndex({}) failed: {}", i, Error(r)));
      }
      char uuid[kUuidBufferSize] = {};
      if (nvmlReturn_t r = api_.DeviceGetUUID(device.handle, uuid, kUuidBufferSize);
          r != kNvmlSuccess) {
        return absl::UnavailableError(fmt::format("nvmlDeviceGetUUID({}) failed: {}", i, Error(r)));
      }
      device.uuid = uuid;
      unsigned long long energy_mj = 0;
      if (api_.DeviceGetTotalEnergyConsumption(device.handle, &energy_mj) == kNvmlSuccess) {
        device.start_energy_mj = energy_mj;
      }
      devices_.push_back(std::move(device));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<GpuReading>> Sample() override {
    std::vector<GpuReading> out;
    for (const Device& device : devices_) {
      GpuReading reading;
      reading.uuid = device.uuid;
      nvmlUtilization_t utilization{};
      if (api_.DeviceGetUtilizationRates(device.handle, &utilization) == kNvmlSuccess) {
        reading.utilization = utilization.gpu / 100.0;
      }
      nvmlMemory_t memory{};
      if (api_.DeviceGetMemoryInfo(device.handle, &memory) == kNvmlSuccess) {
        reading.memory_used_bytes = memory.used;
        reading.memory_total_bytes = memory.total;
      }
      unsigned int milliwatts = 0;
      if (api_.DeviceGetPowerUsage(device.handle, &milliwatts) == kNvmlSuccess) {
        reading.power_w = milliwatts / 1000.0;
      }
      if (api_.DeviceGetEnforcedPowerLimit(device.handle, &milliwatts) == kNvmlSuccess) {
        reading.power_limit_w = milliwatts / 1000.0;
      }
      unsigned long long energy_mj = 0;
      if (device.start_energy_mj &&
          api_.DeviceGetTotalEnergyConsumption(device.handle, &energy_mj) == kNvmlSuccess) {
        reading.energy_j = energy_mj >= *device.start_energy_mj
                               ? static_cast<double>(energy_mj - *device.start_energy_mj) / 1000.0
                               : 0.0;
      }
      out.push_back(std::move(reading));
    }
    return out;
  }

 private:
  struct Device {
    nvmlDevice_t handle = nullptr;
    std::string uuid;
    std::optional<unsigned long long> start_energy_mj;
  };
  std::string Error(nvmlReturn_t r) const {
    const char* text = api_.ErrorString(r);
    return text != nullptr ? text : fmt::format("NVML error {}", r);
  }

  void* library_;
  NvmlApi api_;
  std::vector<Device> devices_;
};

template <typename Fn>
bool Bind(void* library, const char* name, Fn*& fn) {
  fn = reinterpret_cast<Fn*>(dlsym(library, name));
  return fn != nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GpuProbe>> CreateNvmlProbe(const NvmlProbeOptions& options) {
  void* library = dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    return absl::UnavailableError(fmt::format("cannot load {} ({}): no NVIDIA driver",
                                              options.library,
                                              why != nullptr ? why : "unknown error"));
  }
  NvmlApi api{};
  const char* missing = nullptr;
  auto bind = [&](const char* name, auto*& fn) {
    if (missing == nullptr && !Bind(library, name, fn)) missing = name;
  };
  bind("nvmlInit_v2", api.Init);
  bind("nvmlShutdown", api.Shutdown);
  bind("nvmlErrorString", api.ErrorString);
  bind("nvmlDeviceGetCount_v2", api.DeviceGetCount);
  bind("nvmlDeviceGetHandleByIndex_v2", api.DeviceGetHandleByIndex);
  bind("nvmlDeviceGetUUID", api.DeviceGetUUID);
  bind("nvmlDeviceGetUtilizationRates", api.DeviceGetUtilizationRates);
  bind("nvmlDeviceGetMemoryInfo", api.DeviceGetMemoryInfo);
  bind("nvmlDeviceGetPowerUsage", api.DeviceGetPowerUsage);
  bind("nvmlDeviceGetEnforcedPowerLimit", api.DeviceGetEnforcedPowerLimit);
  bind("nvmlDeviceGetTotalEnergyConsumption", api.DeviceGetTotalEnergyConsumption);
  if (missing != nullptr) {
    dlclose(library);
    return absl::UnavailableError(
        fmt::format("{} lacks the function {}", options.library, missing));
  }
  if (nvmlReturn_t r = api.Init(); r != kNvmlSuccess) {
    const char* text = api.ErrorString(r);
    dlclose(library);
    return absl::UnavailableError(
        fmt::format("nvmlInit failed: {}", text != nullptr ? text : "unknown error"));
  }
  auto probe = std::make_unique<NvmlProbe>(library, api);  // Shuts NVML down and closes on error.
  if (absl::Status opened = probe->Open(); !opened.ok()) return opened;
  return probe;
}

}  // namespace inferd::metrics

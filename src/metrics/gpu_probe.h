// SPDX-License-Identifier: Apache-2.0
// GPU probes. The one implementation reads NVML, loaded at run time with dlopen so that inferd
// builds and runs on machines without the NVIDIA driver (Debian ships no nvml.h; the few functions
// used are declared in gpu_probe.cc). A missing library, driver or GPU is a Create error whose
// message says why; the caller logs it once and exports no GPU metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inferd::metrics {

struct GpuReading {
  std::string uuid;
  std::optional<double> utilization;  // 0.0-1.0 over NVML's last sample period.
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<double> power_w;
  std::optional<double> power_limit_w;
  std::optional<double> energy_j;  // Since the probe was created.
};

// Not thread-safe; the hardware collector serialises Sample calls.
class GpuProbe {
 public:
  virtual ~GpuProbe() = default;
  // One reading per GPU, in device order. A field the device does not support is left empty.
  virtual absl::StatusOr<std::vector<GpuReading>> Sample() = 0;
};

struct NvmlProbeOptions {
  std::string library = "libnvidia-ml.so.1";  // A file name (searched) or a path.
};

// UNAVAILABLE when the library cannot be loaded or lacks a function, or nvmlInit fails; NOT_FOUND
// when NVML sees no GPU.
absl::StatusOr<std::unique_ptr<GpuProbe>> CreateNvmlProbe(const NvmlProbeOptions& options);

}  // namespace inferd::metrics

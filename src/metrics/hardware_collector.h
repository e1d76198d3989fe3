// SPDX-License-Identifier: Apache-2.0
// The hardware half of /metrics: CPU utilization and its steadiness, host memory, the server's
// resident memory, CPU package power and energy (RAPL), and per-GPU utilization, memory, power and
// energy (NVML), with Triton's metric names where Triton has one. Sample() reads the probes (the
// metrics service calls it every --metrics-interval-ms); Collect() exports the latest readings.
// A probe that is missing on this machine (no RAPL, no NVML, no GPU) leaves its metrics out and
// is explained by one log line; it is never an error. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "metrics/gpu_probe.h"
#include "metrics/host_probes.h"
#include "metrics/steadiness.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace inferd::metrics {

struct HardwareCollectorOptions {
  std::string root = "/";  // Where /proc and /sys are read from; tests pass a prepared folder.
  bool allow_cpu = true;   // CPU utilization, memory, resident memory, RAPL.
  bool allow_gpu = true;   // NVML.
  NvmlProbeOptions nvml;
  size_t window_samples = 30;     // Samples in the steadiness window (60 s at the default 2 s).
  double swing_threshold = 0.25;  // A change of 25 points between two samples is a swing.
};

class HardwareCollector final : public prometheus::Collectable {
 public:
  explicit HardwareCollector(HardwareCollectorOptions options);

  // Reads every available probe; `now_ns` is a monotonic time. A probe that fails is left out of
  // the next Collect and logged once.
  void Sample(int64_t now_ns);

  std::vector<prometheus::MetricFamily> Collect() const override;

  // Why some metrics are absent (one line per missing probe), as logged at construction.
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  void NoteFailure(const std::string& what, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HardwareCollectorOptions options_;
  std::vector<std::string> notes_;

  mutable absl::Mutex mu_;
  std::optional<CpuProbe> cpu_probe_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RaplProbe> rapl_probe_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<GpuProbe> gpu_probe_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> failure_logged_ ABSL_GUARDED_BY(mu_);

  std::optional<double> cpu_utilization_ ABSL_GUARDED_BY(mu_);
  UtilizationWindow cpu_window_ ABSL_GUARDED_BY(mu_);
  std::optional<MemoryInfo> memory_ ABSL_GUARDED_BY(mu_);
  std::optional<uint64_t> resident_bytes_ ABSL_GUARDED_BY(mu_);
  std::vector<RaplReading> rapl_ ABSL_GUARDED_BY(mu_);
  std::vector<GpuReading> gpus_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, UtilizationWindow> gpu_windows_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd::metrics
